#!/usr/bin/env bash
# Soaks the release binary on the bundled sample model: `scripts/soak.sh [SECONDS]` (default 600)
# runs scripts/soak.py against it (good, bad, large, slow and churning clients at once) and prints
# answers by kind, p99 and resident memory over time. With SOAK_CHECK_RSS_MB set (CI sets it), it
# fails on any 5xx, a dead server, or memory that does not come back under that many MB after the
# bursts of large bodies. The binary is dist/aml-scorer (scripts/build-image.sh makes it), else a
# release build.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-600}"
binary="${AML_SCORER_BINARY:-dist/aml-scorer}"
if [ ! -x "$binary" ]; then
  cargo build --release --locked --bin aml-scorer
  binary="${CARGO_TARGET_DIR:-target}/release/aml-scorer"
fi
log="$(mktemp)"
# Default settings, as users run them; the model is the bundled sample.
env -u AZUREML_LOG_LEVEL -u RUST_LOG "$binary" --host 127.0.0.1 --port 0 --grpc-port 0 --log-format json >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 100); do
  # The HTTP listener's line ("listening"), not gRPC's ("listening for gRPC"), which comes first.
  port="$(grep -o '"message":"listening","address":"127.0.0.1:[0-9]*"' "$log" | head -1 | grep -o '[0-9]*"$' | tr -d '"' || true)"
  [ -n "$port" ] && grep -q '"message":"ready"' "$log" && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }

args=(--port "$port" --pid "$pid" --request sample-request.json --duration "$duration")
[ -n "${SOAK_CHECK_RSS_MB:-}" ] && args+=(--check-rss-mb "$SOAK_CHECK_RSS_MB")
[ -n "${SOAK_REPORT:-}" ] && args+=(--report "$SOAK_REPORT")
status=0
python3 scripts/soak.py "${args[@]}" "${@:2}" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "the server exited during the soak; its last log lines:" >&2
  tail -20 "$log" >&2
  status=1
fi
errors="$(grep -c '"level":"ERROR"' "$log" || true)"
# To stderr: stdout is the JSON report (CI saves it as target/soak-ci.json).
echo "server log: $(wc -l <"$log") lines, $errors at ERROR" >&2
exit "$status"
