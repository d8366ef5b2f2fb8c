#!/usr/bin/env bash
# What model data collection costs `/score` (docs/monitoring.md): the release binary (as the image
# ships it; SKIP_BUILD=1 takes the one already built) at 64 keep-alive connections, with collection
# at 100 % (AZUREML_MDC_ENABLED=true) against a stand-in sidecar answering 200, and with collection
# off, alternating off/on runs, medians of 3 (REPEATS; RUN_SECONDS per run: 10). Server on CPU 0; wrk
# and the stand-in on the last CPU, as benches/bench.py pins them. Prints a Markdown table for
# BENCHMARKS.md with throughput, p50, p99, the on/off ratios against the issue's bounds (at least
# 90 % of the throughput, p99 within 1.2x), and what the sidecar got: payloads sent, dropped by
# reason (a stand-in slower than the server leaves payloads in a full queue, dropped at its door),
# and the mean time to write one payload's records. Needs the release build: not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

SCORER="$scorer" REPEATS="${REPEATS:-3}" RUN_SECONDS="${RUN_SECONDS:-10}" python3 - <<'EOF'
import os, re, statistics, subprocess, sys, urllib.request

sys.path.insert(0, "benches")
from bench import CLIENT_CPU, DEFAULTS, Server, free_port, wrk  # noqa: E402

REPEATS, SECONDS = int(os.environ["REPEATS"]), int(os.environ["RUN_SECONDS"])


def sidecar_process():
    """The stand-in sidecar: asyncio, keep-alive, 200 with an empty body for every request
    (bodies read by Content-Length), pinned beside wrk."""
    code = r'''
import asyncio, sys

class Sidecar(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

async def main(port):
    server = await asyncio.get_running_loop().create_server(Sidecar, "127.0.0.1", port)
    print("listening", flush=True)
    await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
'''
    port = free_port()
    process = subprocess.Popen(["taskset", "-c", CLIENT_CPU, sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "listening"
    return port, process


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"(aml_scorer_data_collection_[a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


sidecar_port, sidecar = sidecar_process()
scorer = os.environ["SCORER"]
off = Server("collection off", [scorer, "--host", "127.0.0.1", "--grpc-port", "0"], DEFAULTS)
on = Server("collection on", [scorer, "--host", "127.0.0.1", "--grpc-port", "0"], dict(DEFAULTS, AZUREML_MDC_ENABLED="true",
            AZUREML_MDC_HOST="127.0.0.1", AZUREML_MDC_PORT=str(sidecar_port)))
runs = {"off": [], "on": []}
collected = {}
try:
    for repeat in range(REPEATS):
        for name, server in (("off", off), ("on", on)):
            server.start()
            runs[name].append(wrk(server.port, 64, True, SECONDS))
            if name == "on":
                for key, value in metrics(server.port).items():
                    collected[key] = collected.get(key, 0) + value
            server.stop()
            print(f"  {name} #{repeat + 1}: {runs[name][-1]}", file=sys.stderr)
finally:
    sidecar.terminate()

median = {name: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for name, rs in runs.items()}
(rps_off, p50_off, p99_off), (rps_on, p50_on, p99_on) = median["off"], median["on"]
throughput, tail = rps_on / rps_off, p99_on / p99_off
print("| `/score`, 64 keep-alive connections | requests/s | p50 (ms) | p99 (ms) |")
print("| --- | --- | --- | --- |")
print(f"| collection off | {rps_off:.0f} | {p50_off:.3f} | {p99_off:.3f} |")
print(f"| collection at 100 % | {rps_on:.0f} | {p50_on:.3f} | {p99_on:.3f} |")
print(f"| on / off | {throughput:.3f} ({'meets' if throughput >= 0.9 else 'misses'} >= 0.90) | | "
      f"{tail:.2f}x ({'meets' if tail <= 1.2 else 'misses'} <= 1.2x) |")
print()
def total(prefix):
    return sum(value for key, value in collected.items() if key.startswith(prefix))


dropped = {}
for key, value in collected.items():
    reason = re.search(r'dropped_total\{.*reason="([a-z_]+)"', key)
    if reason:
        dropped[reason.group(1)] = dropped.get(reason.group(1), 0) + value
encode_seconds = total("aml_scorer_data_collection_encode_duration_seconds_sum")
encoded = total("aml_scorer_data_collection_encode_duration_seconds_count")
print(f"Over the {REPEATS} collecting runs: {total('aml_scorer_data_collection_sent_total'):.0f} payloads sent, dropped: "
      + (", ".join(f"{reason} {count:.0f}" for reason, count in sorted(dropped.items())) or "none")
      + f"; writing one payload's records took {encode_seconds / max(encoded, 1) * 1e6:.1f} us on average (in the sender task).")
EOF
