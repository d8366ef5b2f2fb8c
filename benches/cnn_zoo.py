"""The nine CNNs of the onnx package's test zoo (`onnx/backend/test/data/light/`), their weights
seeded as benches/cnn.py makes them: the server's run alone (tract, and our direct convolution
on AVX-512) through its own loading and run path (the `engine` bench: no HTTP, no JSON) against onnxruntime's `session.run` alone, one
224x224 image, one thread each side (onnxruntime `intra_op_num_threads=1`,
`inter_op_num_threads=1`, CPU provider, default graph optimisation). Each round runs both on each
model, onnxruntime first; the table holds the medians of the rounds (each a median of about a
second of runs).

Run through scripts/bench-cnn-zoo.sh, which builds the engine bench and passes --engine. Prints a
Markdown table and writes it into BENCHMARKS.md between the `cnn-zoo` markers.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import cnn  # noqa: E402

ZOO = ["resnet50", "densenet121", "inception_v1", "inception_v2", "bvlc_alexnet", "zfnet512",
       "vgg19", "squeezenet", "shufflenet"]
ITEM = 3 * 224 * 224


def onnxruntime_ms(path, image):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: image}
    session.run(None, feeds)
    times, end = [], time.time() + 1.0
    while time.time() < end or len(times) < 5:
        started = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def engine_ms(engine, path, rows):
    out = subprocess.run([engine, str(path), str(rows), str(ITEM), "1"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_us"]["1"] / 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    image = np.random.default_rng(3).random((1, 3, 224, 224), dtype=np.float32)
    rows = cnn.OUT / "image.f32"
    cnn.OUT.mkdir(parents=True, exist_ok=True)
    image.tofile(rows)
    paths = {name: cnn.make_model(name, f"light_{name}.onnx") for name in ZOO}
    runs = {name: {"ort": [], "ours": []} for name in ZOO}
    for round_ in range(args.rounds):
        for name in ZOO:
            runs[name]["ort"].append(onnxruntime_ms(paths[name], image))
            runs[name]["ours"].append(engine_ms(args.engine, paths[name], rows))
            print(f"round {round_ + 1} {name}: onnxruntime {runs[name]['ort'][-1]:.1f} ms, "
                  f"aml-scorer {runs[name]['ours'][-1]:.1f} ms", file=sys.stderr)
    lines = [
        "| model | onnxruntime | aml-scorer (engine) | aml-scorer / onnxruntime |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in ZOO:
        ort_ms, ours = statistics.median(runs[name]["ort"]), statistics.median(runs[name]["ours"])
        lines.append(f"| {name} | {ort_ms:.1f} ms | {ours:.1f} ms | {ours / ort_ms:.2f}x |")
    rounds = "; ".join(f"{name}: onnxruntime {'/'.join(f'{v:.1f}' for v in runs[name]['ort'])}, "
                       f"aml-scorer {'/'.join(f'{v:.1f}' for v in runs[name]['ours'])}" for name in ZOO)
    table = "\n".join(lines) + f"\n\nEach round (ms): {rounds}.\n"
    print(table)
    write_into_benchmarks(table)


def write_into_benchmarks(table):
    path = cnn.ROOT / "BENCHMARKS.md"
    text = path.read_text()
    start, end = "<!-- cnn-zoo: written by scripts/bench-cnn-zoo.sh -->", "<!-- /cnn-zoo -->"
    section = (f"{start}\n## The onnx zoo's CNNs, model run alone\n\n{__doc__.split(chr(10) + chr(10))[0]}\n\n"
               f"{table}{end}")
    if start in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    elif "<!-- hf: written by" in text:
        text = text.replace("<!-- hf: written by", section + "\n\n<!-- hf: written by", 1)
    else:
        raise SystemExit("BENCHMARKS.md has neither the cnn-zoo nor the hf markers")
    path.write_text(text)


if __name__ == "__main__":
    main()
