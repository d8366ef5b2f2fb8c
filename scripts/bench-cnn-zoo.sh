#!/usr/bin/env bash
# The nine CNNs of the onnx test zoo, tract's run alone against onnxruntime's (benches/cnn_zoo.py):
# builds the engine bench, sets up the venv of the model tools (tests/models/requirements.txt),
# makes the models into target/cnn-bench/ and writes the table into BENCHMARKS.md. About 15
# minutes with the build; not part of CI. Arguments go to benches/cnn_zoo.py (--rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/engine-bench.sh

venv=target/zoo-venv
if [ ! -x "$venv/bin/python" ] || [ tests/models/requirements.txt -nt "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/models/requirements.txt
  touch "$venv/bin/python"
fi
"$venv/bin/python" benches/cnn_zoo.py --engine "$engine" "$@"
