#!/usr/bin/env bash
# Builds the image `aml-scorer:local` without any registry: the static binary is built on this
# machine (`scripts/build-binary.sh`; skipped with --prebuilt, which takes dist/ as it is) and
# copied in (Dockerfile build argument BINARY=prebuilt). Uses podman (with this repository's
# containers.conf) or docker, whichever is present.
set -euo pipefail
cd "$(dirname "$0")/.."
image="${IMAGE:-aml-scorer:local}"

if [ "${1:-}" != "--prebuilt" ]; then
  scripts/build-binary.sh
fi
[ -x dist/aml-scorer ] || { echo "dist/aml-scorer is missing: run scripts/build-binary.sh" >&2; exit 1; }

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
