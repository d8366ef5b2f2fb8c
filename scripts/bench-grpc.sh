#!/usr/bin/env bash
# gRPC throughput (issue 22): the 2-row sample request as a ModelInfer call over gRPC at 64
# concurrent streams on 8 connections, against the same rows as V2 JSON over HTTP/1.1 at 64
# keep-alive connections, and against MLServer's gRPC under the same gRPC load; the release
# binary at its defaults. The three loads alternate within each of the 3 rounds (the machine's
# drift hits each alike); the rows are medians. Not part of CI.
#
# As scripts/bench.sh (benches/bench.py) pins them: every server on CPU 0, the load on the last
# CPU, so that each server has one core and the load clients' own cost does not take from it.
# MLServer is set up as bench.py sets it up (target/mlserver-venv from
# benches/requirements-mlserver.txt, the same pickled scikit-learn model, `parallel_workers` 0:
# inference in its own process, its best on one core; OPENBLAS_NUM_THREADS=1), on its gRPC port.
#
# The load comes from h2load (Debian's nghttp2-client) with a pre-encoded message, as wrk sends
# a fixed body for HTTP/1.1: a C client that spends little of the cores the server needs, and no
# load client of ours to build and trust. h2load counts HTTP statuses only (a gRPC error is a
# 200 with grpc-status in the trailers), so each server's call is checked with curl before and
# after the runs.
#
#   scripts/bench-grpc.sh            SECONDS_PER_RUN=20 scripts/bench-grpc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SECONDS_PER_RUN:-8}"
runs=3
server_cpu=0
load_cpu=$(($(nproc) - 1))

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need h2load nghttp2-client
need wrk wrk
need curl curl

source scripts/release-binary.sh

mlserver_venv=target/mlserver-venv
if [ ! -x "$mlserver_venv/bin/mlserver" ] || [ benches/requirements-mlserver.txt -nt "$mlserver_venv/bin/mlserver" ]; then
  python3 -m venv "$mlserver_venv"
  "$mlserver_venv/bin/pip" install --quiet --disable-pip-version-check -r benches/requirements-mlserver.txt
  touch "$mlserver_venv/bin/mlserver"
fi

work="$(mktemp -d)"
server="" mlserver=""
trap 'kill $server $mlserver 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The sample as a gRPC frame (flag, length, ModelInferRequest) and as V2 JSON, with the standard
# library: protobuf's wire format by hand (fields of grpc_predict_v2.proto).
python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
rows = json.load(open("sample-request.json"))["data"]
def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out
def field(number, payload):  # length-delimited
    return varint(number << 3 | 2) + varint(len(payload)) + payload
shape = b"".join(varint(d) for d in (len(rows), len(rows[0])))
tensor = field(1, b"input") + field(2, b"FP64") + field(3, shape)
raw = b"".join(struct.pack("<d", x) for row in rows for x in row)
message = field(1, b"sklearn_regression_model") + field(5, tensor) + field(7, raw)
open(f"{work}/frame.bin", "wb").write(b"\0" + struct.pack(">I", len(message)) + message)
body = {"inputs": [{"name": "input", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": rows}]}
open(f"{work}/v2.lua", "w").write(
    'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' % json.dumps(json.dumps(body)))
PY

# aml-scorer at its defaults.
taskset -c "$server_cpu" "$scorer" --host 127.0.0.1 --port 0 --grpc-port 0 --log-format json >"$work/server.log" 2>&1 &
server=$!

# MLServer serving the same pickle (as benches/bench.py's `mlserver`).
mkdir "$work/model"
# (../shared beside the repository; from a worktree, beside its main checkout)
shared="$(cd "$(git rev-parse --git-common-dir)/../.." && pwd)/shared"
ln -s "$shared/reference/sklearn_regression_model.pkl" "$work/model/sklearn_regression_model.pkl"
cat >"$work/model/model-settings.json" <<'JSON'
{"name": "sklearn_regression_model", "implementation": "mlserver_sklearn.SKLearnModel",
 "parameters": {"uri": "./sklearn_regression_model.pkl", "version": "1"}}
JSON
ml_http=$(free_port) ml_grpc=$(free_port) ml_metrics=$(free_port)
MLSERVER_HTTP_PORT=$ml_http MLSERVER_GRPC_PORT=$ml_grpc MLSERVER_METRICS_PORT=$ml_metrics \
  MLSERVER_PARALLEL_WORKERS=0 OPENBLAS_NUM_THREADS=1 PATH="$PWD/$mlserver_venv/bin:$PATH" \
  taskset -c "$server_cpu" "$mlserver_venv/bin/mlserver" start "$work/model" >"$work/mlserver.log" 2>&1 &
mlserver=$!

for _ in $(seq 100); do grep -q '"message":"ready"' "$work/server.log" && break; sleep 0.1; done
http=$(grep -o '"listening","address":"[^"]*' "$work/server.log" | grep -o '[0-9]*$')
grpc=$(grep -o '"listening for gRPC","address":"[^"]*' "$work/server.log" | grep -o '[0-9]*$')
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$ml_http/v2/models/sklearn_regression_model/ready" >/dev/null && break
  kill -0 "$mlserver" 2>/dev/null || { echo "MLServer exited:"; tail -30 "$work/mlserver.log"; exit 1; }
  sleep 0.1
done
path=/inference.GRPCInferenceService/ModelInfer

check() { # $1 server name, $2 gRPC port: one call must answer grpc-status 0
  curl -sS --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @"$work/frame.bin" -D "$work/headers" -o /dev/null "http://127.0.0.1:$2$path"
  grep -qi '^grpc-status: 0' "$work/headers" || { echo "the gRPC call to $1 failed:"; cat "$work/headers"; exit 1; }
}
check aml-scorer "$grpc"
check MLServer "$ml_grpc"

grpc_rate() { # $1 port
  taskset -c "$load_cpu" h2load -c 8 -m 8 -D "$seconds" -d "$work/frame.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$1$path" |
    grep -o '[0-9.]* req/s' | grep -o '^[0-9.]*'
}
json_rate() {
  taskset -c "$load_cpu" wrk -t2 -c64 -d"${seconds}s" -s "$work/v2.lua" \
    "http://127.0.0.1:$http/v2/models/sklearn_regression_model/infer" | awk '/Requests\/sec/ { print $2 }'
}
for round in $(seq "$runs"); do
  grpc_rate "$grpc" >>"$work/grpc"
  json_rate >>"$work/json"
  grpc_rate "$ml_grpc" >>"$work/mlserver"
  echo "round $round: gRPC $(tail -1 "$work/grpc"), V2 JSON $(tail -1 "$work/json"), MLServer gRPC $(tail -1 "$work/mlserver") req/s" >&2
done
check aml-scorer "$grpc"
check MLServer "$ml_grpc"

median() { sort -g "$1" | sed -n "$(( (runs + 1) / 2 ))p"; }
grpc_rate=$(median "$work/grpc") json_rate=$(median "$work/json") ml_rate=$(median "$work/mlserver")
echo "| 2-row sample | load | req/s (median of $runs, ${seconds} s each) |"
echo "| --- | --- | ---: |"
echo "| aml-scorer gRPC ModelInfer (raw contents) | h2load, 64 streams on 8 connections | $grpc_rate |"
echo "| aml-scorer V2 JSON over HTTP/1.1 | wrk, 64 keep-alive connections | $json_rate |"
echo "| MLServer 1.7.1 gRPC ModelInfer (raw contents) | h2load, 64 streams on 8 connections | $ml_rate |"
echo
# Ratios per round (the loads of a round ran back to back), then their median.
python3 - "$work" <<'PY'
import statistics, sys
rates = {name: [float(x) for x in open(f"{sys.argv[1]}/{name}").read().split()] for name in ("grpc", "json", "mlserver")}
to_json = statistics.median(g / j for g, j in zip(rates["grpc"], rates["json"]))
to_mlserver = statistics.median(g / m for g, m in zip(rates["grpc"], rates["mlserver"]))
print(f"gRPC / V2 JSON: {to_json:.2f}x (target >= 1x); gRPC / MLServer gRPC: {to_mlserver:.0f}x (target >= 50x); "
      "medians of the rounds' ratios")
PY
echo "Servers on CPU $server_cpu, load on CPU $load_cpu."
