#!/usr/bin/env bash
# Issue 24's speed rows (benches/hf.py): our image and tokenizer preprocessing (benches/hf.rs,
# criterion) against transformers' Pillow processor and the tokenizers package, one thread each,
# and a whole single-image request to the release server against Pillow + onnxruntime in one
# process; writes the table into BENCHMARKS.md. Builds the static release binary and the bench
# the same way (the same dependencies; the fat-LTO links take 5-10 minutes each on 2 cores), and
# the venv of the Hugging Face tools (tests/models/requirements-hf.txt, pinned) as target/hf-venv.
# Not part of CI. Arguments go to benches/hf.py (--rounds, --budget); SKIP_BUILD=1 uses the
# binary and bench already built.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
scorer="$target_dir/$target/release/aml-scorer"

if [ -z "${SKIP_BUILD:-}" ]; then
  export RUSTFLAGS="-C target-feature=+crt-static"
  cargo build --release --locked --target "$target" --bin aml-scorer
  cargo bench --locked --target "$target" --bench hf --no-run
fi
# The newest criterion binary of benches/hf.rs.
bench_exe=$(find "$target_dir/$target/release/deps" -maxdepth 1 -type f -executable -name 'hf-*' \
  -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2-)
[ -n "$bench_exe" ] || { echo "no benches/hf.rs binary under $target_dir: build without SKIP_BUILD" >&2; exit 1; }

venv=target/hf-venv
if [ ! -x "$venv/bin/python" ] || [ tests/models/requirements-hf.txt -nt "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/models/requirements-hf.txt
  touch "$venv/bin/python"
fi

TOKENIZERS_PARALLELISM=false "$venv/bin/python" benches/hf.py --scorer "$scorer" --bench-exe "$bench_exe" "$@"
