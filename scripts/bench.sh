#!/usr/bin/env bash
# The side-by-side benchmark: builds the release binary (the same static build as the image) and
# the HTTP floor (tools/http-floor), sets up the Python baseline and MLServer in venvs, runs benches/bench.py and writes
# BENCHMARKS.md. Takes about 15 minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
# Two invocations: building them together would unify their features and rebuild the server.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" -p http-floor

venv=target/bench-venv
if [ ! -x "$venv/bin/azmlinfsrv" ] || [ benches/requirements.txt -nt "$venv/bin/azmlinfsrv" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/requirements.txt
  touch "$venv/bin/azmlinfsrv"
fi

mlserver_venv=target/mlserver-venv
if [ ! -x "$mlserver_venv/bin/mlserver" ] || [ benches/requirements-mlserver.txt -nt "$mlserver_venv/bin/mlserver" ]; then
  python3 -m venv "$mlserver_venv"
  "$mlserver_venv/bin/pip" install --quiet --disable-pip-version-check -r benches/requirements-mlserver.txt
  touch "$mlserver_venv/bin/mlserver"
fi

# OpenBLAS settings of these machines slow numpy down; the baseline gets numpy's own choice.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/bench.py \
  --scorer "$target_dir/$target/release/aml-scorer" \
  --floor "$target_dir/$target/release/http-floor" \
  --baseline-venv "$venv" --mlserver-venv "$mlserver_venv" "$@"
