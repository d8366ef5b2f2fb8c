#!/usr/bin/env bash
# The nine CNNs of the onnx test zoo, tract's run alone against onnxruntime's (benches/cnn_zoo.py):
# builds the engine bench, sets up the venv of the model tools (tests/models/requirements.txt),
# makes the models into target/cnn-bench/ and writes the table into BENCHMARKS.md. About 15
# minutes with the build; not part of CI. Arguments go to benches/cnn_zoo.py (--rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/engine-bench.sh

source scripts/zoo-venv.sh
"$venv/bin/python" benches/cnn_zoo.py --engine "$engine" "$@"
