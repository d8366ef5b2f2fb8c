"""Linear graphs in the forms exporters write them (PyTorch's `nn.Linear` as a Gemm with
`transB=1`, a MatMul with its bias added first or not at all, a trailing Reshape) and some that are
not plain `x * W + b` (a Gemm with `alpha=2` or `transA=1`, a `[K, 1]` bias, a Reshape to `[-1]`), with onnxruntime's answers saved beside them: the
server computes the first kind directly (src/model/onnx/linear.rs) and must answer as the plan
and as onnxruntime.

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/pip install -r tests/models/requirements.txt
    /tmp/zoo/bin/python tests/models/make_affine.py

Writes tests/fixtures/affine/<name>.onnx and answers.json: per model its rows (`x`) and
onnxruntime's output for them.
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "affine"
RNG = np.random.default_rng(11)


def graph_model(name, nodes, dtype, features, outputs, initializers, batch=None, out_shape=None):
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", elem, [batch, features])],
                              [helper.make_tensor_value_info("y", elem, out_shape or [batch, outputs])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def weights(shape, dtype):
    return (RNG.standard_normal(shape) * 3).astype(dtype)


def models():
    yield "gemm_transb_f32", np.float32, 5, graph_model(
        "gemm_transb_f32", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], np.float32, 5, 3,
        {"w": weights((3, 5), np.float32), "b": weights((3,), np.float32)})
    yield "bias_first_f64", np.float64, 4, graph_model(
        "bias_first_f64", [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["b", "m"], ["y"])],
        np.float64, 4, 2, {"w": weights((4, 2), np.float64), "b": weights((1, 2), np.float64)})
    yield "no_bias_f64", np.float64, 6, graph_model(
        "no_bias_f64", [helper.make_node("MatMul", ["x", "w"], ["y"])], np.float64, 6, 3,
        {"w": weights((6, 3), np.float64)})
    yield "reshape_f32", np.float32, 7, graph_model(
        "reshape_f32", [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["r"]),
                        helper.make_node("Reshape", ["r", "shape"], ["y"])], np.float32, 7, 1,
        {"w": weights((7, 1), np.float32), "b": weights((1,), np.float32), "shape": np.array([0, -1], np.int64)})
    # Not plain `x * W + b`: each must stay on tract's plan.
    yield "gemm_transa_f32", np.float32, 5, graph_model(
        "gemm_transa_f32", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transA=1)], np.float32, 5, 5,
        {"w": weights((5, 5), np.float32), "b": weights((5,), np.float32)}, batch=5)
    yield "bias_column_f64", np.float64, 4, graph_model(
        "bias_column_f64", [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
        np.float64, 4, 2, {"w": weights((4, 2), np.float64), "b": weights((2, 1), np.float64)}, batch=2)
    yield "reshape_flat_f32", np.float32, 3, graph_model(
        "reshape_flat_f32", [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Reshape", ["m", "shape"], ["y"])],
        np.float32, 3, 1, {"w": weights((3, 1), np.float32), "shape": np.array([-1], np.int64)}, out_shape=[None])
    yield "gemm_alpha_f32", np.float32, 5, graph_model(
        "gemm_alpha_f32", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=2.0)], np.float32, 5, 2,
        {"w": weights((5, 2), np.float32), "b": weights((2,), np.float32)})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    answers = {}
    for name, dtype, features, model in models():
        onnx.checker.check_model(model)
        onnx.save(model, OUT / f"{name}.onnx")
        rows = model.graph.input[0].type.tensor_type.shape.dim[0].dim_value or 9
        x = (RNG.standard_normal((rows, features)) * 10).astype(dtype)
        x[0, 0], x[1, :] = -0.0, 0.0
        session = ort.InferenceSession(str(OUT / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        (y,) = session.run(["y"], {"x": x})
        answers[name] = {"x": x.astype(float).tolist(), "y": y.astype(float).tolist()}
        print(name, y.shape)
    (OUT / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")


if __name__ == "__main__":
    main()
