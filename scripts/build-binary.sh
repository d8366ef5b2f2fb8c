#!/usr/bin/env bash
# Builds the static release binary dist/aml-scorer (stripped) and copies the CA roots beside it:
# what the image (`scripts/build-image.sh`), the soak and the container tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"

# A static glibc binary needs nothing at run time, so it runs on `scratch`. The explicit --target
# keeps these flags off build scripts and shares nothing with the normal debug/release builds.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
mkdir -p dist
cp "$target_dir/$target/release/aml-scorer" dist/aml-scorer
# Symbols are a third of the binary and nothing at run time reads them.
strip dist/aml-scorer
cp /etc/ssl/certs/ca-certificates.crt dist/ca-certificates.crt
echo "built dist/aml-scorer ($(du -m dist/aml-scorer | cut -f1) MB)"
