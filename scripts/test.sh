#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing (openssl for the test CA,
# Node.js with the pinned Azurite, podman/buildah/runc for the image, a Python venv with the Azure
# ML SDK for the YAML checks), builds the image `aml-scorer:local`, then runs `cargo test` for the
# whole workspace and the YAML tests. Safe to run again: finished installs are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v npm >/dev/null || need_apt+=(nodejs npm)
command -v podman >/dev/null || need_apt+=(podman)
command -v buildah >/dev/null || need_apt+=(buildah)
command -v runc >/dev/null || need_apt+=(runc)
command -v strip >/dev/null || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x tests/azurite/node_modules/.bin/azurite-blob ] \
  || [ tests/azurite/package-lock.json -nt tests/azurite/node_modules/.package-lock.json ]; then
  echo "installing Azurite (pinned in tests/azurite/package-lock.json)"
  npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error
fi

venv=target/yaml-venv
if [ ! -x "$venv/bin/pytest" ] || [ tests/yaml/requirements.txt -nt "$venv/bin/pytest" ]; then
  echo "installing the Azure ML SDK for the YAML tests"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/yaml/requirements.txt
  touch "$venv/bin/pytest"
fi

echo "building the image aml-scorer:local"
scripts/build-image.sh

cargo test --workspace --locked "$@"
echo "soaking the release binary for 60 s (scripts/soak.sh)"
SOAK_CHECK_RSS_MB=120 scripts/soak.sh 60 >target/soak-ci.json
"$venv/bin/pytest" -q -p no:warnings -p no:cacheprovider tests/yaml
