"""Makes the tabular test models and their fixtures: ONNX models that use only operators tract
has (CategoryMapper, Cast, Concat, MatMul, Softmax, ArgMax, Gather, LinearClassifier), with onnxruntime's
answers saved beside them. Re-runnable; CI uses the saved files.

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/pip install -r tests/models/requirements.txt
    /tmp/zoo/bin/python tests/models/make_tabular.py

Writes tests/fixtures/tabular/<name>.onnx and <name>.json (the rows and records a client sends,
and onnxruntime's outputs by name).
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "tabular"
RNG = np.random.default_rng(7)
WORKCLASSES = ["Private", "State-gov", "Self-emp", "Never-worked"]


def columns_regressor():
    """One input per column, as a ColumnTransformer exports a DataFrame: a float, an int64, a
    string (through CategoryMapper) and a bool column, into one linear output `variable`."""
    inputs = [
        helper.make_tensor_value_info("age", TensorProto.FLOAT, [None, 1]),
        helper.make_tensor_value_info("hours", TensorProto.INT64, [None, 1]),
        helper.make_tensor_value_info("workclass", TensorProto.STRING, [None, 1]),
        helper.make_tensor_value_info("member", TensorProto.BOOL, [None, 1]),
    ]
    nodes = [
        helper.make_node("CategoryMapper", ["workclass"], ["workclass_id"], domain="ai.onnx.ml",
                         cats_strings=WORKCLASSES, cats_int64s=[0, 1, 2, 3], default_int64=-1),
        helper.make_node("Cast", ["workclass_id"], ["workclass_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["hours"], ["hours_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["member"], ["member_f"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["age", "hours_f", "workclass_f", "member_f"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["variable"]),
    ]
    weights = helper.make_tensor("weights", TensorProto.FLOAT, [4, 1], [0.5, 0.25, 10.0, -3.0])
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [1], [1.5])
    graph = helper.make_graph(nodes, "columns", inputs,
                              [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
                              initializer=[weights, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    records = [
        {"age": float(RNG.integers(18, 80)), "hours": int(RNG.integers(1, 60)),
         "workclass": WORKCLASSES[int(RNG.integers(0, 4))] if i % 7 else "Unknown-class",
         "member": bool(i % 3 == 0)}
        for i in range(12)
    ]
    feeds = {
        "age": np.array([[r["age"]] for r in records], dtype=np.float32),
        "hours": np.array([[r["hours"]] for r in records], dtype=np.int64),
        "workclass": np.array([[r["workclass"]] for r in records], dtype=object),
        "member": np.array([[r["member"]] for r in records], dtype=bool),
    }
    return model, records, feeds


def string_classifier():
    """A softmax classifier with string classes, as skl2onnx exports an MLPClassifier: MatMul,
    Add, Softmax for `probabilities` [N, 3], ArgMax and Gather over the class names for `label`
    [N]. (tract 0.23.9's LinearClassifier cannot produce string labels.)"""
    classes = ["cat", "dog", "fish"]
    nodes = [
        helper.make_node("MatMul", ["X", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["scores"], ["index"], axis=1, keepdims=0),
        helper.make_node("Gather", ["classes", "index"], ["label"], axis=0),
    ]
    weights = RNG.normal(size=(4, 3)).astype(np.float32)
    initializers = [
        helper.make_tensor("weights", TensorProto.FLOAT, [4, 3], weights.reshape(-1).tolist()),
        helper.make_tensor("bias", TensorProto.FLOAT, [3], [0.1, -0.2, 0.05]),
        helper.make_tensor("classes", TensorProto.STRING, [3], [c.encode() for c in classes]),
    ]
    graph = helper.make_graph(
        nodes, "string_classifier",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    rows = RNG.normal(size=(10, 4)).astype(np.float32)
    return model, None, {"X": rows}


def classifier(labels, name):
    """LogisticRegression over 4 float features (one input `input` [N, 4]), without ZipMap:
    outputs `label` [N] and `probabilities` [N, C]."""
    x = RNG.normal(size=(120, 4)).astype(np.float32)
    score = x @ np.array([1.0, -2.0, 0.5, 1.5]) + RNG.normal(scale=0.3, size=120)
    classes = np.array(labels, dtype=object if isinstance(labels[0], str) else np.int64)
    bins = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    y = classes[np.digitize(score, bins)]
    model = LogisticRegression(max_iter=500).fit(x, y)
    onx = to_onnx(model, x[:1], options={id(model): {"zipmap": False}}, target_opset={"": 13, "ai.onnx.ml": 3})
    rows = RNG.normal(size=(10, 4)).astype(np.float32)
    return onx, None, {onx.graph.input[0].name: rows}


def save(name, model, records, feeds):
    """Saves the model and a fixture: `rows` (positional, every input's values in order), the
    `records` a client sends for a one-column-per-input model, and onnxruntime's `outputs`."""
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.checker.check_model(model)
    path = OUT / f"{name}.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    answers = session.run(names, feeds)
    outputs = {n: np.asarray(a).tolist() for n, a in zip(names, answers)}
    count = len(next(iter(feeds.values())))
    rows = [[v for feed in feeds.values() for v in np.asarray(feed[r]).reshape(-1).tolist()] for r in range(count)]
    fixture = {"rows": rows, "records": records, "outputs": outputs}
    (OUT / f"{name}.json").write_text(json.dumps(fixture) + "\n")
    print(f"{path.name}: inputs {[i.name for i in session.get_inputs()]}, outputs {names}")


def wide_regressor():
    """15 float columns into one linear output: the benchmark's records-parsing model."""
    names = [f"f{i}" for i in range(15)]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names]
    nodes = [
        helper.make_node("Concat", names, ["features"], axis=1),
        helper.make_node("MatMul", ["features", "weights"], ["variable"]),
    ]
    weights = helper.make_tensor("weights", TensorProto.FLOAT, [15, 1], [0.1 * i for i in range(15)])
    graph = helper.make_graph(nodes, "wide", inputs,
                              [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
                              initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    records = [{n: float(i + j) for j, n in enumerate(names)} for i in range(3)]
    feeds = {n: np.array([[r[n]] for r in records], dtype=np.float32) for n in names}
    return model, records, feeds


def main():
    save("columns_regressor", *columns_regressor())
    save("string_classifier", *string_classifier())
    save("int_classifier", *classifier([0, 1], "int_classifier"))
    save("wide_regressor", *wide_regressor())


if __name__ == "__main__":
    main()
