#!/usr/bin/env bash
# gRPC throughput (issue 22): the 2-row sample request as a ModelInfer call over gRPC at 64
# concurrent streams on 8 connections, against the same rows as V2 JSON over HTTP/1.1 at 64
# keep-alive connections; the release binary at its defaults, medians of 3 runs. Not part of CI.
#
# The load comes from h2load (Debian's nghttp2-client) with a pre-encoded message, as wrk sends
# a fixed body for HTTP/1.1: a C client that spends little of the cores the server needs, and no
# load client of ours to build and trust. h2load counts HTTP statuses only (a gRPC error is a
# 200 with grpc-status in the trailers), so one call is checked with curl first.
#
#   scripts/bench-grpc.sh            SECONDS_PER_RUN=20 scripts/bench-grpc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SECONDS_PER_RUN:-10}"
runs=3

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need h2load nghttp2-client
need wrk wrk
need curl curl

# The release binary, as the image ships it ($scorer; SKIP_BUILD=1 takes the one already built).
source scripts/bench-env.sh

work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

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

"$scorer" --host 127.0.0.1 --port 0 --grpc-port 0 --log-format json >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q '"message":"ready"' "$work/server.log" && break; sleep 0.1; done
http=$(grep -o '"listening","address":"[^"]*' "$work/server.log" | grep -o '[0-9]*$')
grpc=$(grep -o '"listening for gRPC","address":"[^"]*' "$work/server.log" | grep -o '[0-9]*$')
path=/inference.GRPCInferenceService/ModelInfer

curl -sS --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' \
  --data-binary @"$work/frame.bin" -D "$work/headers" -o /dev/null "http://127.0.0.1:$grpc$path"
grep -qi '^grpc-status: 0' "$work/headers" || { echo "the gRPC call failed:"; cat "$work/headers"; exit 1; }

median() { sort -g | sed -n "$(( (runs + 1) / 2 ))p"; }
grpc_rates() {
  for _ in $(seq "$runs"); do
    h2load -c 8 -m 8 -D "$seconds" -d "$work/frame.bin" \
      -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$grpc$path" |
      grep -o '[0-9.]* req/s' | grep -o '^[0-9.]*'
  done
}
json_rates() {
  for _ in $(seq "$runs"); do
    wrk -t2 -c64 -d"${seconds}s" -s "$work/v2.lua" "http://127.0.0.1:$http/v2/models/sklearn_regression_model/infer" |
      awk '/Requests\/sec/ { print $2 }'
  done
}
grpc_rate=$(grpc_rates | median)
json_rate=$(json_rates | median)
echo "| 2-row sample | load | req/s (median of $runs, ${seconds} s each) |"
echo "| --- | --- | --- |"
echo "| gRPC ModelInfer (raw contents) | h2load, 64 streams on 8 connections | $grpc_rate |"
echo "| V2 JSON over HTTP/1.1 | wrk, 64 keep-alive connections | $json_rate |"
