#!/usr/bin/env bash
# Deep-learning models against onnxruntime (benches/cnn.py): builds the release binary, sets up
# the venv of the model tools (tests/models/requirements.txt), makes ResNet-50 and DenseNet-121
# with seeded weights into target/cnn-bench/ and writes the table into BENCHMARKS.md. About 10
# minutes with the build; not part of CI. Arguments go to benches/cnn.py (--rounds, --budget,
# --window); SKIP_BUILD=1 uses the binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh

"$venv/bin/python" benches/cnn.py --scorer "$scorer" "$@"
