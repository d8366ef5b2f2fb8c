"""ResNet-50's convolutions one by one: each distinct convolution of the seeded model
(benches/cnn.py) as a model of its own (the convolution, its bias and a ReLU; random weights),
the server's run alone (the `engine` bench) against onnxruntime's `session.run` alone, one
image, one thread each side (onnxruntime `intra_op_num_threads=1`, `inter_op_num_threads=1`, CPU
provider, default graph optimisation). Where the whole model's time goes, layer by layer. The
weights of a layer run again and again stay in cache, as in the model they do not: read it for
the kernels, and the whole model's tables for the model.

Run through scripts/bench-cnn-layers.sh, which builds the engine bench and passes --engine.
Prints a Markdown table (medians of --rounds rounds, each a median of about a second of runs).
"""

import argparse
import collections
import json
import pathlib
import statistics
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference, TensorProto

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import cnn  # noqa: E402
import cnn_zoo  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDER = ROOT / "target" / "cnn-layers"


def distinct_convolutions(model):
    """(input channels, output channels, height, width, kernel, stride, pads) -> count."""
    model = shape_inference.infer_shapes(model)
    values = list(model.graph.value_info) + list(model.graph.input)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}
    weights = {i.name: i.dims for i in model.graph.initializer}
    found = collections.Counter()
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        out_channels, channels, kernel, _ = weights[node.input[1]]
        _, _, height, width = shapes[node.input[0]]
        stride = attributes.get("strides", [1, 1])[0]
        pads = tuple(attributes.get("pads", [0, 0, 0, 0]))
        found[(channels, out_channels, height, width, kernel, stride, pads)] += 1
    return found


def layer_model(key, path):
    channels, out_channels, height, width, kernel, stride, pads = key
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.05, (out_channels, channels, kernel, kernel)).astype(np.float32)
    b = rng.normal(0, 0.05, out_channels).astype(np.float32)
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[kernel, kernel],
                            strides=[stride, stride], pads=list(pads))
    graph = helper.make_graph(
        [conv, helper.make_node("Relu", ["c"], ["y"])], "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, height, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    layer = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    layer.ir_version = 8
    onnx.save(layer, path)
    out_h = (height + pads[0] + pads[2] - kernel) // stride + 1
    out_w = (width + pads[1] + pads[3] - kernel) // stride + 1
    return 2 * channels * out_channels * kernel * kernel * out_h * out_w


def onnxruntime_us(path, image):
    return cnn_zoo.onnxruntime_ms(path, image) * 1e3


def engine_us(engine, path, rows, width):
    out = subprocess.run([engine, str(path), str(rows), str(width), "1"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["median_us"]["1"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    model = onnx.load(cnn.make_model("resnet50", cnn.MODELS["resnet50"]))
    layers = []
    for index, (key, count) in enumerate(sorted(distinct_convolutions(model).items(), key=lambda kv: -kv[0][2])):
        path = FOLDER / f"conv{index:02d}.onnx"
        flops = layer_model(key, path)
        channels, _, height, width, *_ = key
        image = np.random.default_rng(3).normal(0, 1, (1, channels, height, width)).astype(np.float32)
        rows = FOLDER / f"conv{index:02d}.f32"
        image.tofile(rows)
        layers.append((key, count, path, flops, image, rows))
    runs = {index: {"ort": [], "ours": []} for index in range(len(layers))}
    for _ in range(args.rounds):
        for index, (key, count, path, flops, image, rows) in enumerate(layers):
            runs[index]["ort"].append(onnxruntime_us(path, image))
            runs[index]["ours"].append(engine_us(args.engine, path, rows, image.size))
    lines = ["| convolution (in -> out channels, input, kernel, stride) | in ResNet-50 | onnxruntime | aml-scorer | ratio | GFLOP/s: onnxruntime / aml-scorer |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    totals = [0.0, 0.0]
    for index, (key, count, path, flops, image, rows) in enumerate(layers):
        channels, out_channels, height, width, kernel, stride, _ = key
        theirs, ours = (statistics.median(runs[index][k]) for k in ("ort", "ours"))
        totals[0] += theirs * count
        totals[1] += ours * count
        lines.append(f"| {channels} -> {out_channels}, {height}x{width}, {kernel}x{kernel}, {stride} | {count} | "
                     f"{theirs:.0f} us | {ours:.0f} us | {ours / theirs:.2f}x | "
                     f"{flops / theirs / 1e3:.0f} / {flops / ours / 1e3:.0f} |")
    lines.append(f"| all, each times its count | | {totals[0] / 1e3:.1f} ms | {totals[1] / 1e3:.1f} ms | "
                 f"{totals[1] / totals[0]:.2f}x | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
