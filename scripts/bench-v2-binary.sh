#!/usr/bin/env bash
# The large request over KServe V2, binary against JSON (issue 22): the 228,000 rows of
# scripts/bench.sh's large-request benchmark as one FP64 [228000, 10] tensor (18 MB in binary),
# sent to POST /v2/models/{name}/infer as JSON `data` with a JSON answer, and in the binary tensor
# extension with a binary answer. End to end (request sent to answer read, bodies encoded before
# the clock starts, as benches/bench.py times its large requests), one unmeasured request each,
# then the median of 3 (REPEATS=N for more), the forms alternating within each round. With
# grpcio at hand (the test venv target/yaml-venv), the same tensor also as a gRPC ModelInfer call
# in `raw_input_contents`, pre-encoded too, on one warmed channel (grpcio's own client; the HTTP
# requests each open a connection, which on loopback costs well under a millisecond). Builds the
# static release binary as the image ships it (SKIP_BUILD=1 takes the one already built);
# otherwise standard-library Python only. Prints Markdown rows for BENCHMARKS.md. Takes a few
# minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/release-binary.sh

python=python3
if target/yaml-venv/bin/python -c 'import grpc' 2>/dev/null; then
  python=target/yaml-venv/bin/python
fi
"$python" - "$scorer" "${REPEATS:-3}" <<'PY'
import http.client, json, random, socket, statistics, struct, subprocess, sys, time
try:
    import grpc
except ImportError:
    grpc = None

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
raw = struct.pack(f"<{len(flat)}d", *flat)
binary_body = header + raw

def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out

def field(number, payload):  # protobuf, length-delimited (fields of grpc_predict_v2.proto)
    return varint(number << 3 | 2) + varint(len(payload)) + payload

shape = varint(ROWS) + varint(WIDTH)
grpc_message = (field(1, MODEL.encode()) + field(5, field(1, b"input") + field(2, b"FP64") + field(3, shape))
                + field(7, raw))

def raw_outputs(message):
    """ModelInferResponse.raw_output_contents[0] (field 6), read by hand."""
    at, found = 0, None
    while at < len(message):
        key, at = read_varint(message, at)
        if key & 7 == 2:
            length, at = read_varint(message, at)
            if key >> 3 == 6 and found is None:
                found = message[at:at + length]
            at += length
        elif key & 7 == 0:
            _, at = read_varint(message, at)
        else:
            raise SystemExit(f"unexpected wire type in the answer: {key}")
    return list(struct.unpack(f"<{len(found) // 8}d", found))

def read_varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at

port, grpc_port = free_port(), free_port()
server = subprocess.Popen([scorer, "--host", "127.0.0.1", "--port", str(port), "--grpc-port", str(grpc_port), "--log-format", "json"],
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

    def http_form(body, headers):
        def run():
            elapsed, response, answer = post(body, headers)
            return elapsed, predictions(response, answer)
        return run

    forms = {
        "V2 JSON": (json_body, http_form(json_body, {"Content-Type": "application/json"})),
        "V2 binary": (binary_body, http_form(binary_body, {
            "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))})),
    }
    if grpc is not None:
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}", options=[
            ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
        # Bytes in, bytes out: the message is encoded before the clock starts, as the bodies are.
        model_infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")

        def grpc_form():
            started = time.perf_counter()
            answer = model_infer(grpc_message, timeout=300)
            return time.perf_counter() - started, raw_outputs(answer)
        forms["gRPC (raw contents)"] = (grpc_message, grpc_form)

    values, times = {}, {name: [] for name in forms}
    for name, (_, run) in forms.items():
        values[name] = run()[1]  # unmeasured: the server warms its allocator, gRPC its channel
    for _ in range(repeats):
        for name, (_, run) in forms.items():
            times[name].append(run()[0])
    results = {name: (statistics.median(times[name]), len(forms[name][0]), values[name]) for name in forms}

    json_values = values["V2 JSON"]
    assert len(json_values) == ROWS, "the JSON answer has the wrong length"
    for name, got in values.items():
        assert got == json_values, f"the {name} answer differs from the JSON one"
    print(f"| request ({ROWS:,} rows as [{ROWS}, {WIDTH}] FP64) | body | end to end, median of {repeats} |")
    print("| --- | ---: | ---: |")
    for name, (seconds, size, _) in results.items():
        print(f"| {name} | {size / 1e6:.1f} MB | {seconds * 1e3:.0f} ms |")
    for name in list(results)[1:]:
        speedup = results["V2 JSON"][0] / results[name][0]
        print(f"\n{name} is {speedup:.1f}x faster than V2 JSON end to end (target >= 5x).", end="")
    print(" Answers identical; the forms alternate in each round; medians.")
finally:
    server.terminate()
    server.wait(timeout=30)
PY
