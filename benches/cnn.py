"""Deep-learning models side by side: one 224x224 image per V2 JSON request to aml-scorer's
release server, served at its default (`--intra-op-threads 0`, auto: a request alone splits over
the cores), with `1` and with `2`, against onnxruntime's single-thread
`session.run` alone on the same image, in one run.

The models are the onnx package's own test graphs (`onnx/backend/test/data/light/`: ResNet-50,
DenseNet-121) whose weights are `ConstantOfShape` nodes; `make_model` replaces each by a seeded
random initializer of its shape (scaled as a trained network's would be, so values stay finite)
and writes the model into target/cnn-bench/ (never committed). Each round measures, for each model,
onnxruntime, then the server on auto, 1 thread, 2 (the machine is shared: alternating keeps a
neighbour's load on all sides): latency from one keep-alive connection, then images per second
from 8 concurrent connections. The table holds the medians of the rounds, and as ratios the
median of each round's ratio to that round's onnxruntime run.

Run through scripts/bench-cnn.sh. Prints a Markdown table and writes it into BENCHMARKS.md between
the `cnn` markers.
"""

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from text import Client, free_port, median_time  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ZOO = pathlib.Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = {"resnet50": "light_resnet50.onnx", "densenet121": "light_densenet121.onnx"}
OUT = ROOT / "target" / "cnn-bench"
CONCURRENT = 8
# --intra-op-threads: 0 is auto, the default.
THREADS = (0, 1, 2)


def make_model(name, source):
    """`source` with every `ConstantOfShape` weight an initializer of seeded random values, and
    only the image left as a graph input."""
    path = OUT / f"{name}.onnx"
    if path.exists():
        return path
    model = onnx.load(str(ZOO / source))
    graph = model.graph
    rng = np.random.default_rng(21)
    inits = {i.name: i for i in graph.initializer}
    users = {}
    for node in graph.node:
        for index, value in enumerate(node.input):
            users.setdefault(value, (node.op_type, index))
    keep, made = [], []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in inits:
            keep.append(node)
            continue
        shape = tuple(int(d) for d in numpy_helper.to_array(inits[node.input[0]]))
        op, index = users.get(node.output[0], ("", 0))
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        if op in ("Conv", "Gemm") and index == 1:
            values = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        elif op == "BatchNormalization" and index == 4:
            values = rng.uniform(0.5, 1.5, shape)
        elif (op == "BatchNormalization" and index == 1) or "scale" in node.output[0]:
            values = rng.uniform(0.8, 1.2, shape)
        else:
            values = rng.normal(0, 0.05, shape)
        made.append(numpy_helper.from_array(values.astype(np.float32), node.output[0]))
    del graph.node[:]
    graph.node.extend(keep)
    used = {value for node in keep for value in node.input}
    kept_inits = [i for i in graph.initializer if i.name in used] + made
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    # Old exports list initializers as inputs too; an unused input (a data queue) goes as well.
    names = set(inits) | {i.name for i in made}
    inputs = [i for i in graph.input if i.name not in names and i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    assert len(inputs) == 1, [i.name for i in inputs]
    # IR 4 lets initializers stand without being graph inputs.
    model.ir_version = max(model.ir_version, 4)
    onnx.checker.check_model(model)
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def start_server(scorer, model, threads, folder, port):
    import subprocess
    log = open(folder / f"{model.stem}-{threads}.log", "w")
    server = subprocess.Popen([scorer, "--model-dir", str(model.parent), "--model-file", model.name,
                               "--port", str(port), "--grpc-port", "0", "--intra-op-threads", str(threads)],
                              stdout=log, stderr=subprocess.STDOUT)
    return server, folder / f"{model.stem}-{threads}.log"


def wait_ready(server, port, log):
    import socket
    for _ in range(2400):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the server did not become ready")


def throughput(port, request, seconds):
    """Images per second from CONCURRENT keep-alive connections sending for about `seconds`."""
    clients = [Client(port) for _ in range(CONCURRENT)]
    counts = [0] * CONCURRENT
    stop = time.perf_counter() + seconds

    def send(i):
        while time.perf_counter() < stop:
            status, _ = clients[i].send(request)
            assert status == 200, status
            counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    return sum(counts) / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scorer", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=1.5, help="seconds per latency measurement")
    parser.add_argument("--window", type=float, default=4.0, help="seconds per throughput measurement")
    args = parser.parse_args()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cnn-bench-"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    image = np.random.default_rng(7).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
    setups, servers = {}, []
    try:
        for name, source in MODELS.items():
            model = make_model(name, source)
            session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            feed = {session.get_inputs()[0].name: image}
            expected = session.run(None, feed)[0]
            body = json.dumps({"inputs": [{"name": session.get_inputs()[0].name, "shape": [1, 3, 224, 224],
                                           "datatype": "FP32", "data": image.ravel().tolist()}]}).encode()
            ports = {}
            for threads in THREADS:
                port = free_port()
                server, log = start_server(args.scorer, model, threads, folder, port)
                servers.append(server)
                wait_ready(server, port, log)
                ports[threads] = (port, log)
            setups[name] = (session, feed, expected, body, ports)
        results = {name: {k: [] for k in ("ort", *(f"{kind}{t}" for kind in ("lat", "tp") for t in THREADS))}
                   for name in MODELS}
        for name, (session, feed, expected, body, ports) in setups.items():
            for threads, (port, log) in ports.items():
                client = Client(port)
                status, answer = client.send(client.request(body, f"/v2/models/{name}/infer"))
                client.close()
                assert status == 200, answer[:300]
                got = np.array(json.loads(answer)["outputs"][0]["data"], dtype=np.float32)
                worst = float(np.max(np.abs(got - expected.ravel())))
                assert worst < 1e-4, (name, threads, worst)
                line = next(l for l in log.read_text().splitlines() if "intra-op threads" in l)
                print(f"{name} threads={threads}: answers within {worst:.1e} of onnxruntime; {line}")
        for round_ in range(args.rounds):
            for name, (session, feed, expected, body, ports) in setups.items():
                r = results[name]
                r["ort"].append(median_time(lambda: session.run(None, feed), args.budget, least=5) * 1e3)
                for threads, (port, _) in ports.items():
                    client = Client(port)
                    request = client.request(body, f"/v2/models/{name}/infer")
                    r[f"lat{threads}"].append(median_time(lambda: client.send(request), args.budget, least=5) * 1e3)
                    client.close()
                    r[f"tp{threads}"].append(throughput(port, request, args.window))
                print(f"round {round_ + 1} {name}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in r.items()),
                      flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    report(results, args)


def report(results, args):
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    lines = [
        "| model | onnxruntime `session.run` alone, 1 thread | aml-scorer 1 image, 1 connection: auto / 1 thread / 2 threads | ratio to onnxruntime (auto / 1 / 2) | images/s at 8 concurrent: auto / 1 / 2 | per core, against onnxruntime's 1-thread images/s (auto / 1 / 2) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in med.items():
        r = results[name]
        # Each round's figure against its own onnxruntime run, then the median of those: the
        # machine's speed drifts between rounds (onnxruntime's own medians moved by up to 30 %).
        def per_round(key, ratio):
            return statistics.median(ratio(x, o) for x, o in zip(r[key], r["ort"]))
        lat = " / ".join(f"{m[f'lat{t}']:.1f} ms" for t in THREADS)
        lat_ratio = " / ".join(f"{per_round(f'lat{t}', lambda x, o: x / o):.2f}x" for t in THREADS)
        tp = " / ".join(f"{m[f'tp{t}']:.1f}" for t in THREADS)
        tp_ratio = " / ".join(f"{per_round(f'tp{t}', lambda x, o: x / 2 * o / 1e3):.2f}x" for t in THREADS)
        lines.append(f"| {name} | {m['ort']:.1f} ms | {lat} | {lat_ratio} | {tp} | {tp_ratio} |")
    rounds = "; ".join(f"{name}: " + ", ".join(f"{k} " + "/".join(f"{x:.1f}" for x in v) for k, v in r.items())
                       for name, r in results.items())
    text = "\n".join([
        "<!-- cnn: written by scripts/bench-cnn.sh -->",
        "## Deep-learning models against onnxruntime",
        "",
        "ResNet-50 and DenseNet-121 from the onnx package's test graphs (`onnx/backend/test/data/light/`), "
        "their `ConstantOfShape` weights replaced by seeded random initializers (`benches/cnn.py`, models "
        "in `target/cnn-bench/`), batch fixed at 1 by the exports (ResNet-50's Reshape hard-codes it: one run "
        "per item; DenseNet-121 types as a symbolic batch and runs one image on its single-item plan, "
        "docs/models.md). aml-scorer: the release "
        "binary at its defaults (auto: `--intra-op-threads 0`), then with `--intra-op-threads 1` and `2`, one 224x224 image per V2 JSON request "
        "(`/v2/models/<name>/infer`, about 3 MB of JSON), from a minimal keep-alive Python client: latency "
        f"from one connection, images per second from {CONCURRENT} concurrent connections for "
        f"{args.window:g} s. onnxruntime {ort.__version__} from PyPI: `session.run` alone on the same "
        "image, in process, `intra_op_num_threads=1`, `inter_op_num_threads=1`, CPU provider, default "
        "graph optimisation (answers checked equal within 1e-4 first). "
        f"{args.rounds} rounds, each onnxruntime then auto, 1 thread and 2 threads per model; the table holds "
        "the medians of the rounds, and as ratios the median of each round's ratio to that round's "
        "onnxruntime run. 2-core shared VM (a CI run may share it; onnxruntime's own figures "
        "have moved by up to 2x between runs here): read the ratios.",
        "",
        *lines,
        "",
        f"Each round (ms; images/s): {rounds}.",
        "<!-- /cnn -->",
    ])
    print(text)
    bench = ROOT / "BENCHMARKS.md"
    old = bench.read_text()
    start, end = old.find("<!-- cnn:"), old.find("<!-- /cnn -->")
    if start >= 0 and end >= 0:
        old = old[:start] + text + old[end + len("<!-- /cnn -->"):]
    else:
        anchor = old.find("## Reliability")
        old = old[:anchor] + text + "\n\n" + old[anchor:] if anchor >= 0 else old.rstrip("\n") + "\n\n" + text + "\n"
    bench.write_text(old)


if __name__ == "__main__":
    main()
