#!/usr/bin/env bash
# Tree ensembles against onnxruntime (benches/trees.py): builds the engine bench and the release
# binary, sets up the venv of the model tools (tests/models/requirements.txt), and writes the
# table into BENCHMARKS.md. Takes about 15 minutes (most of it the two optimised builds); not part of CI.
# REQUESTS_ONLY=1: only the whole 10,000-row requests against onnxruntime's run alone, alternating,
# printed (the release binary already built; no engine bench).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"

engine_args=()
if [ -z "${REQUESTS_ONLY:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
  source scripts/engine-bench.sh
  engine_args=(--engine "$engine")
fi

source scripts/zoo-venv.sh

"$venv/bin/python" benches/trees.py "${engine_args[@]}" \
  --scorer "$target_dir/$target/release/aml-scorer" "$@"
