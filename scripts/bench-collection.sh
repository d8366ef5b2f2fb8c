#!/usr/bin/env bash
# What model data collection costs `/score` (docs/monitoring.md): the release binary (as the image
# ships it; SKIP_BUILD=1 takes the one already built, SCORER=path another one) at 64 keep-alive
# connections, with collection at 100 % (AZUREML_MDC_ENABLED=true) against a stand-in sidecar
# answering 200, and with collection off, alternating off/on runs, medians of 3 (REPEATS;
# RUN_SECONDS per run: 10). Server on CPU 0; wrk and the stand-in on the last CPU, as
# benches/bench.py pins them. The stand-in is tools/http-floor's `POST /modeldata/log` (the
# server's own axum/tokio stack, body read, 200 with no body): the real sidecar runs in another
# container, so the stand-in must take little of the load generator's core; the script prints
# the CPU time it took. Prints a Markdown table for BENCHMARKS.md with throughput, p50, p99, the
# on/off ratios against the issue's bounds (at least 90 % of the throughput, p99 within 1.2x), the
# server's CPU time per request (its own cost, which moves less than requests/s with what else
# runs on the machine), and what the sidecar got: payloads sent, dropped by reason (a sidecar
# slower than the server leaves the queue full, and requests are turned away at its door), and
# the mean time to write one payload's records. Needs the release build: not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
if [ -z "${SKIP_BUILD:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" -p http-floor
fi
scorer="${SCORER:-$target_dir/$target/release/aml-scorer}"
floor="$target_dir/$target/release/http-floor"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

SCORER="$scorer" FLOOR="$floor" REPEATS="${REPEATS:-3}" RUN_SECONDS="${RUN_SECONDS:-10}" python3 - <<'EOF'
import os, re, statistics, subprocess, sys, urllib.request

sys.path.insert(0, "benches")
from bench import CLIENT_CPU, DEFAULTS, Server, free_port, wrk  # noqa: E402

REPEATS, SECONDS = int(os.environ["REPEATS"]), int(os.environ["RUN_SECONDS"])


def sidecar_process():
    """The stand-in sidecar (tools/http-floor), pinned beside wrk."""
    port = free_port()
    process = subprocess.Popen(["taskset", "-c", CLIENT_CPU, os.environ["FLOOR"], str(port)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("listening")
    return port, process


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
sidecar_cpu = []
try:
    for repeat in range(REPEATS):
        for name, server in (("off", off), ("on", on)):
            server.start()
            sidecar_before, server_before = cpu_seconds(sidecar.pid), cpu_seconds(server.process.pid)
            rps, p50, p99 = wrk(server.port, 64, True, SECONDS)
            # CPU time per request: unlike requests/s, it does not move with what else runs.
            runs[name].append((rps, p50, p99, (cpu_seconds(server.process.pid) - server_before) / (rps * SECONDS) * 1e6))
            if name == "on":
                sidecar_cpu.append((cpu_seconds(sidecar.pid) - sidecar_before) / SECONDS)
            if name == "on":
                for key, value in metrics(server.port).items():
                    collected[key] = collected.get(key, 0) + value
            server.stop()
            print(f"  {name} #{repeat + 1}: {runs[name][-1]}", file=sys.stderr)
finally:
    sidecar.terminate()

median = {name: tuple(statistics.median(r[i] for r in rs) for i in range(4)) for name, rs in runs.items()}
(rps_off, p50_off, p99_off, cpu_off), (rps_on, p50_on, p99_on, cpu_on) = median["off"], median["on"]
throughput, tail = rps_on / rps_off, p99_on / p99_off
print("| `/score`, 64 keep-alive connections | requests/s | p50 (ms) | p99 (ms) | server CPU per request (us) |")
print("| --- | --- | --- | --- | --- |")
print(f"| collection off | {rps_off:.0f} | {p50_off:.3f} | {p99_off:.3f} | {cpu_off:.2f} |")
print(f"| collection at 100 % | {rps_on:.0f} | {p50_on:.3f} | {p99_on:.3f} | {cpu_on:.2f} |")
print(f"| on / off | {throughput:.3f} ({'meets' if throughput >= 0.9 else 'misses'} >= 0.90) | | "
      f"{tail:.2f}x ({'meets' if tail <= 1.2 else 'misses'} <= 1.2x) | {cpu_off / cpu_on:.3f} (off / on) |")
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
      + f"; writing one payload's records took {encode_seconds / max(encoded, 1) * 1e6:.1f} us on average (in the sender task); "
      f"the stand-in sidecar took {statistics.median(sidecar_cpu) * 100:.0f} % of wrk's core (median of the collecting runs).")
EOF
