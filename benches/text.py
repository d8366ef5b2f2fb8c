"""A text pipeline side by side: a whole `/score` request to aml-scorer's release server (HTTP,
JSON, StringNormalizer, Tokenizer, TfIdfVectorizer, Normalizer, LinearClassifier, JSON out)
against onnxruntime's single-thread `session.run` alone on the same documents, in one run.

The model is the zoo's TF-IDF + LogisticRegression (tests/fixtures/text/tfidf_logistic.onnx, made
by tests/models/make_text.py); the documents are 50 words each, drawn with a fixed seed from the
model's vocabulary plus unknown words, some capitalised, some with punctuation. Each round measures
onnxruntime, then the server, for every document count (the machine is shared: alternating keeps
a neighbour's load on both sides); the table holds the medians of the rounds.

Run through scripts/bench-text.sh, which builds the release binary and sets up the venv
(tests/models/requirements.txt). Prints a Markdown table and writes it into BENCHMARKS.md
between the `text` markers.
"""

import argparse
import json
import pathlib
import socket
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "fixtures" / "text" / "tfidf_logistic.onnx"
WORDS = 50
COUNTS = [1, 1_000]
UNKNOWN = "zxqv blorf frobnicate quux wibble ticket café Müller naïve 500 v2 order".split()
PUNCTUATION = ["", "", "", "", ",", ".", "!", "?", ";", "..."]


def vocabulary(path):
    """The pool strings of the model's TfIdfVectorizer."""
    model = onnx.load(str(path))
    for node in model.graph.node:
        if node.op_type == "TfIdfVectorizer":
            for attribute in node.attribute:
                if attribute.name == "pool_strings":
                    return [s.decode() for s in helper.get_attribute_value(attribute)]
    raise SystemExit(f"{path}: no TfIdfVectorizer with pool_strings")


def documents(known, n):
    """`n` documents of WORDS words: four in five known (some capitalised), the rest unknown,
    some followed by punctuation."""
    rng = np.random.default_rng(26)
    out = []
    for _ in range(n):
        words = []
        for _ in range(WORDS):
            if rng.random() < 0.8:
                word = known[rng.integers(len(known))]
                if rng.random() < 0.1:
                    word = word.capitalize() if rng.random() < 0.7 else word.upper()
            else:
                word = UNKNOWN[rng.integers(len(UNKNOWN))]
            words.append(word + PUNCTUATION[rng.integers(len(PUNCTUATION))])
        out.append(" ".join(words))
    return out


def median_time(run, budget=1.0, least=10, most=20_000):
    """Median seconds of `run`, repeated for about `budget` seconds (after one warm-up)."""
    first = time.perf_counter()
    run()
    once = time.perf_counter() - first
    times = []
    for _ in range(int(min(most, max(least, budget / max(once, 1e-9))))):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Client:
    """One keep-alive HTTP/1.1 connection, as little client work per request as can be: the
    request's bytes are made once, the answer is read to its Content-Length."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, body, path="/score"):
        head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        return head + body

    def send(self, request):
        """Sends one request and answers (status, body)."""
        self.sock.sendall(request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self.sock.recv(1 << 20)
        head = buffer[:end].decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        body_end = end + 4 + length
        while len(buffer) < body_end:
            buffer += self.sock.recv(1 << 20)
        self.buffer = buffer[body_end:]
        return status, buffer[end + 4:body_end]

    def close(self):
        self.sock.close()


def start_server(scorer, folder, port):
    log = open(folder / "server.log", "w")
    server = subprocess.Popen([scorer, "--model-dir", str(MODEL.parent), "--model-file", MODEL.name,
                               "--port", str(port), "--grpc-port", "0"], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(400):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {(folder / 'server.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.terminate()
    raise SystemExit("the server did not become ready")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scorer", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=1.5, help="seconds per measurement")
    args = parser.parse_args()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="text-bench-"))
    known = vocabulary(MODEL)
    docs = documents(known, max(COUNTS))
    feeds = {n: {"text": np.array([[d] for d in docs[:n]], dtype=object)} for n in COUNTS}

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]

    port = free_port()
    server = start_server(args.scorer, folder, port)
    client = Client(port)
    try:
        requests = {}
        for n in COUNTS:
            body = json.dumps({"data": [{"text": d} for d in docs[:n]]}).encode()
            requests[n] = client.request(body)
            status, answer = client.send(requests[n])
            assert status == 200, (status, answer[:300])
            status, proba = client.send(client.request(body, "/score?method=predict_proba"))
            assert status == 200, (status, proba[:300])
            label, probabilities = session.run(outputs, feeds[n])
            agree(json.loads(answer), json.loads(proba), list(label), probabilities)
        ours, theirs = {n: [] for n in COUNTS}, {n: [] for n in COUNTS}
        floor = []
        ready = b"GET /health/ready HTTP/1.1\r\nHost: bench\r\n\r\n"
        for _ in range(args.rounds):
            floor.append(median_time(lambda: client.send(ready), args.budget) * 1e3)
            for n in COUNTS:
                theirs[n].append(median_time(lambda n=n: session.run(outputs, feeds[n]), args.budget) * 1e3)
                ours[n].append(median_time(lambda n=n: client.send(requests[n]), args.budget) * 1e3)
    finally:
        client.close()
        server.terminate()
        server.wait()

    lines = [
        "| documents (50 words) | request body | onnxruntime `session.run` alone | aml-scorer whole request | onnxruntime / aml-scorer |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in COUNTS:
        a, b = statistics.median(theirs[n]), statistics.median(ours[n])
        size = len(requests[n].split(b"\r\n\r\n", 1)[1])
        lines.append(f"| {n:,} | {size / 1024:,.1f} KB | {a:.3f} ms | {b:.3f} ms | {a / b:.2f}x |")
    lines.append(f"| HTTP round trip alone (`GET /health/ready`, same client) | | | "
                 f"{statistics.median(floor):.3f} ms | |")
    rounds = "; ".join(
        f"{n:,}: onnxruntime {', '.join(f'{t:.3f}' for t in theirs[n])}, aml-scorer {', '.join(f'{t:.3f}' for t in ours[n])}"
        for n in COUNTS)
    report = "\n".join([
        "<!-- text: written by scripts/bench-text.sh -->",
        "## Text pipelines against onnxruntime",
        "",
        "The zoo's TF-IDF + LogisticRegression (`tests/fixtures/text/tfidf_logistic.onnx`: "
        "StringNormalizer, Tokenizer, TfIdfVectorizer, Normalizer, LinearClassifier, ZipMap), documents "
        f"of {WORDS} words from its vocabulary with unknown words, capitals and punctuation (fixed seed, "
        "`benches/text.py`). aml-scorer: a whole `/score` request (records JSON in, HTTP, the pipeline, "
        "JSON out) to the release server at its defaults, from one keep-alive connection of a minimal "
        f"Python client. onnxruntime {ort.__version__} from PyPI: `session.run` alone, in process, "
        "`intra_op_num_threads=1` and `inter_op_num_threads=1`, CPU provider, default graph optimisation, "
        "numpy object arrays `[N, 1]` prepared beforehand. The same documents and answers (labels equal, "
        f"probabilities within 1e-5, checked first). {args.rounds} rounds, each onnxruntime then "
        f"aml-scorer for each count, each the median of about {args.budget:g} s of repetitions; the "
        "table holds the medians of the rounds. 2-core shared VM, noisy (a CI run may share it): "
        "read the ratios.",
        "",
        *lines,
        "",
        f"Each round's medians (ms): {rounds}; HTTP round trip {', '.join(f'{t:.3f}' for t in floor)}.",
        "<!-- /text -->",
    ])
    print(report)
    bench = ROOT / "BENCHMARKS.md"
    text = bench.read_text() if bench.exists() else ""
    start, end = text.find("<!-- text:"), text.find("<!-- /text -->")
    if start >= 0 and end >= 0:
        text = text[:start] + report + text[end + len("<!-- /text -->"):]
    else:
        # Before the trees' commentary ends: after the trees table's section, or at the end.
        anchor = text.find("## Reliability")
        if anchor >= 0:
            text = text[:anchor] + report + "\n\n" + text[anchor:]
        else:
            text = text.rstrip("\n") + "\n\n" + report + "\n"
    bench.write_text(text)


def agree(labels, probabilities, expected_labels, expected):
    """The server's answers against onnxruntime's: labels equal, probabilities (one list per row
    in class order; onnxruntime's ZipMap maps are in class order) within 1e-5."""
    assert labels == [str(label) for label in expected_labels], (labels[:5], expected_labels[:5])
    expected = [list(m.values()) for m in expected]
    assert len(probabilities) == len(expected), (len(probabilities), len(expected))
    worst = max(abs(a - b) for x, y in zip(expected, probabilities) for a, b in zip(x, y, strict=True))
    assert worst <= 1e-5, worst


if __name__ == "__main__":
    main()
