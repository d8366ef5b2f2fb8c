#!/usr/bin/env bash
# ResNet-50's convolutions one by one against onnxruntime's (benches/cnn_layers.py):
# builds the engine bench, sets up the venv of the model tools (tests/models/requirements.txt),
# makes one model per distinct convolution into target/cnn-layers/ and prints a table. About 12
# minutes with the build; not part of CI. Arguments go to benches/cnn_layers.py (--rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/engine-bench.sh

source scripts/zoo-venv.sh
"$venv/bin/python" benches/cnn_layers.py --engine "$engine" "$@"
