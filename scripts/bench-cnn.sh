#!/usr/bin/env bash
# Deep-learning models against onnxruntime (benches/cnn.py): builds the release binary, sets up
# the venv of the model tools (tests/models/requirements.txt), makes ResNet-50 and DenseNet-121
# with seeded weights into target/cnn-bench/ and writes the table into BENCHMARKS.md. About 10
# minutes with the build; not part of CI. Arguments go to benches/cnn.py (--rounds, --budget,
# --window); SKIP_BUILD=1 uses the binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"

if [ -z "${SKIP_BUILD:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
fi

venv=target/zoo-venv
if [ ! -x "$venv/bin/python" ] || [ tests/models/requirements.txt -nt "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/models/requirements.txt
  touch "$venv/bin/python"
fi

"$venv/bin/python" benches/cnn.py --scorer "$target_dir/$target/release/aml-scorer" "$@"
