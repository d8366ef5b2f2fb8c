"""Tree ensembles side by side: aml-scorer's engine against onnxruntime (Python, one thread) on the
same models and rows, in one run; then a whole 10,000-row `/score` request (HTTP, JSON, trees)
against onnxruntime's in-process run alone.

Run through scripts/bench-trees.sh, which builds the engine bench and the release binary and sets
up the venv (tests/models/requirements.txt). Prints a Markdown table and writes it into
BENCHMARKS.md between the `trees` markers.
"""

import argparse
import json
import pathlib
import socket
import statistics
import subprocess
import tempfile
import time

import lightgbm
import numpy as np
import onnxruntime as ort
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestRegressor

ROOT = pathlib.Path(__file__).resolve().parent.parent
FEATURES = 20
COUNTS = [1, 10_000]


def models(folder):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20_000, FEATURES)).astype(np.float32)
    y = x[:, :5] @ np.array([1.0, -2.0, 0.5, 3.0, 1.5]) + np.sin(x[:, 5] * 3) + rng.normal(scale=0.1, size=len(x))
    forest = RandomForestRegressor(100, max_depth=10, random_state=0, n_jobs=-1).fit(x, y)
    onx = to_onnx(forest, x[:1], target_opset={"": 15, "ai.onnx.ml": 3})
    (folder / "random_forest.onnx").write_bytes(onx.SerializeToString())
    boosted = lightgbm.LGBMRegressor(n_estimators=100, num_leaves=31, verbose=-1).fit(x, y)
    onx = convert_lightgbm(boosted, initial_types=[("input", FloatTensorType([None, FEATURES]))], target_opset=15)
    (folder / "lightgbm.onnx").write_bytes(onx.SerializeToString())
    rows = rng.normal(size=(max(COUNTS), FEATURES)).astype(np.float32)
    rows.tofile(folder / "rows.f32")
    return {"RandomForest 100 trees, depth 10": "random_forest", "LightGBM 100 trees x 31 leaves": "lightgbm"}, rows


def median_time(run, budget=1.0, least=5, most=20_000):
    first = time.perf_counter()
    run()
    once = time.perf_counter() - first
    times = []
    for _ in range(int(min(most, max(least, budget / max(once, 1e-9))))):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def onnxruntime_times(path, rows):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    started = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - started
    name = session.get_inputs()[0].name
    times = {n: median_time(lambda n=n: session.run(None, {name: rows[:n]})) for n in COUNTS}
    return load * 1e3, {n: t * 1e6 for n, t in times.items()}


def engine_times(engine, path, rows_file, runs):
    """Medians of `runs` runs of the engine bench (each already a median)."""
    results = []
    for _ in range(runs):
        out = subprocess.run([engine, str(path), str(rows_file), str(FEATURES), ",".join(map(str, COUNTS))],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out))
    load = statistics.median(r["load_ms"] for r in results)
    return load, {n: statistics.median(r["median_us"][str(n)] for r in results) for n in COUNTS}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        head = (f"POST /score HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        s.sendall(head.encode() + body)
        chunks = []
        while chunk := s.recv(1 << 20):
            chunks.append(chunk)
    status = int(b"".join(chunks).split(b" ", 2)[1])
    assert status == 200, status


def end_to_end(scorer, folder, name, rows):
    """Median wall time of a 10,000-row /score request (fresh connection), server at its defaults."""
    port = free_port()
    log = open(folder / f"{name}.log", "w")
    server = subprocess.Popen([scorer, "--model-dir", str(folder), "--model-file", f"{name}.onnx",
                               "--port", str(port), "--grpc-port", "0"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        body = json.dumps({"data": rows.tolist()}).encode()
        return median_time(lambda: post(port, body), budget=3.0, least=10) * 1e3
    finally:
        server.terminate()
        server.wait()


def requests_only(args, folder, names, rows):
    """Issue 25's rows alone (no engine bench to build): a whole 10,000-row request against
    onnxruntime's run alone, alternating per round, medians of the rounds; printed, not written."""
    print("| model | onnxruntime run alone | aml-scorer whole request | onnxruntime / aml-scorer | rounds (ms, onnxruntime / ours) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for title, name in names.items():
        path = folder / f"{name}.onnx"
        theirs, ours = [], []
        for _ in range(args.runs):
            theirs.append(onnxruntime_times(path, rows)[1][10_000] / 1e3)
            ours.append(end_to_end(args.scorer, folder, name, rows[:10_000]))
        t, o = statistics.median(theirs), statistics.median(ours)
        pairs = ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(theirs, ours))
        print(f"| {title} | {t:.2f} ms | {o:.2f} ms | {t / o:.2f}x | {pairs} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", help="the engine bench; without it, only the whole-request rows")
    parser.add_argument("--scorer", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="trees-bench-"))
    names, rows = models(folder)
    if args.engine is None:
        return requests_only(args, folder, names, rows)
    lines = [
        "| model | rows | onnxruntime | aml-scorer engine | speed-up |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    loads, e2e = [], []
    for title, name in names.items():
        path = folder / f"{name}.onnx"
        ort_runs = [onnxruntime_times(path, rows) for _ in range(args.runs)]
        ort_load = statistics.median(r[0] for r in ort_runs)
        ort_times = {n: statistics.median(r[1][n] for r in ort_runs) for n in COUNTS}
        our_load, our_times = engine_times(args.engine, path, folder / "rows.f32", args.runs)
        for n in COUNTS:
            lines.append(f"| {title} | {n:,} | {ort_times[n]:,.1f} µs | {our_times[n]:,.1f} µs | "
                         f"{ort_times[n] / our_times[n]:.2f}x |")
        loads.append(f"| {title} ({path.stat().st_size // 1024} KB) | {ort_load:.1f} ms | {our_load:.1f} ms |")
        request = end_to_end(args.scorer, folder, name, rows[:10_000])
        e2e.append(f"| {title} | {ort_times[10_000] / 1e3:.2f} ms | {request:.2f} ms |")
    report = "\n".join([
        "<!-- trees: written by scripts/bench-trees.sh -->",
        "## Tree ensembles against onnxruntime",
        "",
        f"Engine time, medians of {args.runs} runs of about a second each, same models and rows "
        f"({FEATURES} float32 features), one thread each: onnxruntime {ort.__version__} from PyPI with "
        "`intra_op_num_threads=1` and `inter_op_num_threads=1`, called from Python (`session.run`); "
        "aml-scorer through its own load and run path (`benches/engine.rs`, no HTTP or JSON).",
        "",
        *lines,
        "",
        "A whole `/score` request of 10,000 rows (JSON in, HTTP, trees, JSON out; server at its "
        "defaults, fresh connection) against onnxruntime's in-process run of the same rows alone:",
        "",
        "| model | onnxruntime run alone | aml-scorer request |",
        "| --- | ---: | ---: |",
        *e2e,
        "",
        "Model load (parse, optimise, lay out the forest; aml-scorer includes its warm-up runs):",
        "",
        "| model | onnxruntime | aml-scorer |",
        "| --- | ---: | ---: |",
        *loads,
        "<!-- /trees -->",
    ])
    print(report)
    bench = ROOT / "BENCHMARKS.md"
    text = bench.read_text() if bench.exists() else ""
    start, end = text.find("<!-- trees:"), text.find("<!-- /trees -->")
    if start >= 0 and end >= 0:
        text = text[:start] + report + text[end + len("<!-- /trees -->"):]
    else:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    bench.write_text(text)


if __name__ == "__main__":
    main()
