"""Export the Azure ML sample model (scikit-learn LinearRegression) to ONNX, in float64.

Run from the repository root, in a clean virtual environment:

    python3 -m venv .venv && .venv/bin/pip install -r model/requirements.txt
    .venv/bin/python model/export_sample.py [path/to/sklearn_regression_model.pkl]

It writes `model/sklearn_regression_model.onnx` (the bundled model), the small test models under
`tests/fixtures/` that exercise float32 input and several outputs per row, and the benchmark's
MLP under `benches/models/`.
"""

import json
import pathlib
import sys
import warnings

import joblib
import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_PICKLE = ROOT.parent / "shared" / "reference" / "sklearn_regression_model.pkl"


def export_sample(pickle_path: pathlib.Path, out: pathlib.Path) -> None:
    with warnings.catch_warnings():
        # Pickled by scikit-learn 0.24.2: newer versions warn about the version, which is expected.
        warnings.simplefilter("ignore")
        model = joblib.load(pickle_path)
    # The old pickle lacks `tol`, which current skl2onnx reads.
    model.tol = 1e-6
    # float64 keeps predictions within ~1e-12 of scikit-learn (float32 is only good to ~3e-5),
    # and skl2onnx emits plain MatMul/Add for doubles, which tract optimises well.
    onx = convert_sklearn(
        model,
        "sklearn_regression_model",
        initial_types=[("input", DoubleTensorType([None, model.coef_.shape[0]]))],
        target_opset=15,
    )
    out.write_bytes(onx.SerializeToString())
    sample = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]], float)
    print(f"wrote {out.relative_to(ROOT)}; sklearn says {model.predict(sample).tolist()}")


def linear_model(path: pathlib.Path, elem: int, width: int, outputs: int, seed: int) -> None:
    """A tiny MatMul + Add model with `width` inputs and `outputs` values per row."""
    rng = np.random.default_rng(seed)
    np_type = np.float32 if elem == TensorProto.FLOAT else np.float64
    weights = rng.normal(size=(width, outputs)).astype(np_type)
    bias = rng.normal(size=(outputs,)).astype(np_type)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "weights"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["output"]),
        ],
        path.stem,
        [helper.make_tensor_value_info("input", elem, [None, width])],
        [helper.make_tensor_value_info("output", elem, [None, outputs])],
        [onnx.numpy_helper.from_array(weights, "weights"), onnx.numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    # The weights beside the model let the Rust tests compute the expected answers.
    path.with_suffix(".json").write_text(json.dumps({"weights": weights.tolist(), "bias": bias.tolist()}))
    print(f"wrote {path.relative_to(ROOT)}")


def mlp_model(path: pathlib.Path, sizes: list[int], seed: int) -> None:
    """A float32 MLP (Gemm + Relu layers), the benchmark's heavier model for dynamic batching."""
    rng = np.random.default_rng(seed)
    nodes, initializers, previous = [], [], "input"
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        weights = (rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        bias = rng.normal(scale=0.1, size=(fan_out,)).astype(np.float32)
        initializers += [onnx.numpy_helper.from_array(weights, f"w{layer}"), onnx.numpy_helper.from_array(bias, f"b{layer}")]
        output = "output" if layer == len(sizes) - 2 else f"h{layer}"
        gemm_out = output if output == "output" else f"g{layer}"
        nodes.append(helper.make_node("Gemm", [previous, f"w{layer}", f"b{layer}"], [gemm_out]))
        if output != "output":
            nodes.append(helper.make_node("Relu", [gemm_out], [output]))
        previous = output
    graph = helper.make_graph(
        nodes,
        path.stem,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, sizes[0]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, sizes[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    pickle_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PICKLE
    export_sample(pickle_path, ROOT / "model" / "sklearn_regression_model.onnx")
    fixtures = ROOT / "tests" / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    linear_model(fixtures / "linear_f32_4x3.onnx", TensorProto.FLOAT, 4, 3, seed=1)
    mlp_model(ROOT / "benches" / "models" / "mlp_10_256_256_1.onnx", [10, 256, 256, 1], seed=2)


if __name__ == "__main__":
    main()
