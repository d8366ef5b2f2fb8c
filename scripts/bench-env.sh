# Sourced by the benches of the server against onnxruntime (bench-text.sh, bench-cnn.sh): builds
# the static release binary, as the image ships it, into $scorer (SKIP_BUILD=1 takes the one
# already built), and sets up the venv of the model tools, onnxruntime among them
# (tests/models/requirements.txt), as $venv.
source scripts/release-binary.sh

source scripts/zoo-venv.sh
