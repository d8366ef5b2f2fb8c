#!/usr/bin/env bash
# Builds the image `aml-scorer:local` without any registry: the static binary is built on this
# machine and copied in (Dockerfile build argument BINARY=prebuilt). Uses podman (with this
# repository's containers.conf) or docker, whichever is present.
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:-aml-scorer:local}"
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

if command -v podman >/dev/null; then
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/containers.conf}"
  engine=(podman build --format docker)
elif docker info >/dev/null 2>&1; then
  engine=(docker build)
else
  echo "no container engine: install podman (apt-get install podman buildah runc) or docker" >&2
  exit 1
fi
"${engine[@]}" --build-arg BINARY=prebuilt -t "$image" .
echo "built $image"
