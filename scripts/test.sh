#!/usr/bin/env bash
# Runs every test: installs what they need (openssl for the test CA, Node.js + the pinned
# Azurite), then `cargo test` for the whole workspace. Safe to run again: installs are skipped
# when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x tests/azurite/node_modules/.bin/azurite-blob ] \
  || [ tests/azurite/package-lock.json -nt tests/azurite/node_modules/.package-lock.json ]; then
  echo "installing Azurite (pinned in tests/azurite/package-lock.json)"
  npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error
fi

cargo test --workspace --locked "$@"
