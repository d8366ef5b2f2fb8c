#!/usr/bin/env bash
# The large request over KServe V2, binary against JSON (issue 22): the 228,000 rows of
# scripts/bench.sh's large-request benchmark as one FP64 [228000, 10] tensor (18 MB in binary),
# sent to POST /v2/models/{name}/infer as JSON `data` with a JSON answer, and in the binary tensor
# extension with a binary answer. End to end (request sent to answer read, bodies encoded before
# the clock starts, as benches/bench.py times its large requests), one unmeasured request each,
# then the median of 3 (REPEATS=N for more). Builds the static release binary as the image ships
# it (SKIP_BUILD=1 takes the one already built); standard-library Python only. Prints Markdown
# rows for BENCHMARKS.md. Takes a few minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
scorer="$target_dir/$target/release/aml-scorer"

if [ -z "${SKIP_BUILD:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
fi

python3 - "$scorer" "${REPEATS:-3}" <<'PY'
import http.client, json, random, socket, statistics, struct, subprocess, sys, time

scorer, repeats = sys.argv[1], int(sys.argv[2])
MODEL, ROWS, WIDTH = "sklearn_regression_model", 228_000, 10

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

# The rows of benches/bench.py's big_request (seed 5): the same numbers the /score rows carry.
rng = random.Random(5)
rows = [[rng.randint(0, 9) for _ in range(WIDTH)] for _ in range(ROWS)]
flat = [float(x) for row in rows for x in row]
tensor = {"name": "input", "shape": [ROWS, WIDTH], "datatype": "FP64"}

json_body = json.dumps({"inputs": [dict(tensor, data=flat)]}, separators=(",", ":")).encode()
header = json.dumps({
    "inputs": [dict(tensor, parameters={"binary_data_size": ROWS * WIDTH * 8})],
    "parameters": {"binary_data_output": True},
}, separators=(",", ":")).encode()
binary_body = header + struct.pack(f"<{len(flat)}d", *flat)

port = free_port()
server = subprocess.Popen([scorer, "--host", "127.0.0.1", "--port", str(port), "--grpc-port", "0", "--log-format", "json"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    deadline = time.time() + 30
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health/ready")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit("the server did not become ready in 30 s")
        time.sleep(0.05)

    def post(body, headers):
        """One request on a fresh connection: (seconds, status, headers, answer)."""
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        started = time.perf_counter()
        c.request("POST", f"/v2/models/{MODEL}/infer", body=body, headers=headers)
        response = c.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"status {response.status}: {answer[:300]!r}")
        return elapsed, response, answer

    def predictions(response, answer):
        length = response.getheader("Inference-Header-Content-Length")
        if length is None:
            return json.loads(answer)["outputs"][0]["data"]
        n = int(length)
        return list(struct.unpack(f"<{(len(answer) - n) // 8}d", answer[n:]))

    results = {}
    for name, body, headers in [
        ("V2 JSON", json_body, {"Content-Type": "application/json"}),
        ("V2 binary", binary_body, {"Content-Type": "application/octet-stream",
                                    "Inference-Header-Content-Length": str(len(header))}),
    ]:
        _, response, answer = post(body, headers)  # unmeasured: the server warms its allocator
        values = predictions(response, answer)
        times = [post(body, headers)[0] for _ in range(repeats)]
        results[name] = (statistics.median(times), len(body), values)

    json_values, binary_values = results["V2 JSON"][2], results["V2 binary"][2]
    assert len(json_values) == ROWS and json_values == binary_values, "the two answers differ"
    print(f"| request ({ROWS:,} rows as [{ROWS}, {WIDTH}] FP64) | body | end to end, median of {repeats} |")
    print("| --- | ---: | ---: |")
    for name, (seconds, size, _) in results.items():
        print(f"| {name} | {size / 1e6:.1f} MB | {seconds * 1e3:.0f} ms |")
    speedup = results["V2 JSON"][0] / results["V2 binary"][0]
    print(f"\nV2 binary is {speedup:.1f}x faster than V2 JSON end to end (target >= 5x); answers identical.")
finally:
    server.terminate()
    server.wait(timeout=30)
PY
