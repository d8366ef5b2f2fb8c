#!/usr/bin/env bash
# A text pipeline against onnxruntime (benches/text.py): builds the release binary, sets up the
# venv of the model tools (tests/models/requirements.txt), and writes the table into
# BENCHMARKS.md. Takes about 10 minutes (most of it the optimised build); not part of CI.
# Arguments go to benches/text.py (--rounds, --budget); SKIP_BUILD=1 uses the binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh

"$venv/bin/python" benches/text.py --scorer "$scorer" "$@"
