#!/usr/bin/env bash
# ResNet-50's convolutions one by one against onnxruntime's (benches/cnn_layers.py):
# builds the engine bench, sets up the venv of the model tools (tests/models/requirements.txt),
# makes one model per distinct convolution into target/cnn-layers/ and prints a table. About 12
# minutes with the build; not part of CI. Arguments go to benches/cnn_layers.py (--rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/engine-bench.sh

venv=target/zoo-venv
if [ ! -x "$venv/bin/python" ] || [ tests/models/requirements.txt -nt "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/models/requirements.txt
  touch "$venv/bin/python"
fi
"$venv/bin/python" benches/cnn_layers.py --engine "$engine" "$@"
