"""The model zoo: small models of the kinds Azure ML users deploy (scikit-learn trees, forests,
boosting, LightGBM, XGBoost, linear and neural models, pipelines), trained on synthetic data and
exported to ONNX as the converters do by default (ZipMap included), with onnxruntime's answers saved
beside them; plus hand-made tree ensembles for the rules no converter emits (NEQ with missing
values, two class ids, MIN/MAX, PROBIT, SOFTMAX_ZERO). Re-runnable; CI uses the saved files.

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/pip install -r tests/models/requirements.txt
    /tmp/zoo/bin/python tests/models/make_zoo.py

Writes tests/fixtures/zoo/<name>.onnx and <name>.json: the request a client sends (`request`),
onnxruntime's outputs by name (`outputs`, a ZipMap's maps as lists in class order), a V2 request's
inputs by name with onnxruntime's outputs for them (`v2`), and which output is the label, the
probabilities or the value.
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "zoo"
RNG = np.random.default_rng(7)
OPSETS = {"": 15, "ai.onnx.ml": 3}
ROWS = 12


def plain(value):
    """onnxruntime's output as JSON: a ZipMap's list of maps becomes lists in class order."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [[float(m[k]) for k in m] for m in value]
    array = np.asarray(value)
    if array.dtype == object:
        return array.astype(str).tolist()
    return array.tolist()


def save(name, model, feeds, request, label=None, probabilities=None, value=None):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = {n: plain(a) for n, a in zip(names, session.run(names, feeds))}
    # V2's JSON cannot carry NaN: its rows have zeros where the request has gaps.
    v2_feeds = {k: (np.nan_to_num(v, nan=0.0) if v.dtype.kind == "f" else v) for k, v in feeds.items()}
    v2 = {
        "inputs": {k: {"datatype": v2_type(v), "shape": list(v.shape), "data": v.ravel().tolist()}
                   for k, v in v2_feeds.items()},
        "outputs": {n: plain(a) for n, a in zip(names, session.run(names, v2_feeds))},
    }
    fixture = {"request": request, "outputs": outputs, "v2": v2,
               "label": label, "probabilities": probabilities, "value": value}
    (OUT / f"{name}.json").write_text(json.dumps(fixture) + "\n")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{path.name}: {path.stat().st_size} bytes, {ops}")


def v2_type(array):
    return {np.dtype(np.float32): "FP32", np.dtype(np.float64): "FP64",
            np.dtype(np.int64): "INT64"}.get(array.dtype, "BYTES")


def matrix(width, rows=200, dtype=np.float32):
    return RNG.normal(size=(rows, width)).astype(dtype)


def sklearn_model(name, model, x, y, dtype=np.float32, classifier=False, options=None):
    from skl2onnx import to_onnx
    model.fit(x, y)
    onx = to_onnx(model, x[:1].astype(dtype), target_opset=OPSETS, options=options)
    rows = matrix(x.shape[1], ROWS, dtype)
    feeds = {onx.graph.input[0].name: rows}
    out = [o.name for o in onx.graph.output]
    if classifier:
        save(name, onx, feeds, {"data": rows.tolist()}, label=out[0], probabilities=out[1])
    else:
        save(name, onx, feeds, {"data": rows.tolist()}, value=out[0])


def sklearn_zoo():
    from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingClassifier,
                                  GradientBoostingRegressor, RandomForestClassifier,
                                  RandomForestRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = matrix(6)
    y = x @ np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.5]) + RNG.normal(scale=0.1, size=len(x))
    binary = (y > 0).astype(np.int64)
    three = np.digitize(y, [-1.0, 1.0]).astype(np.int64)
    sklearn_model("scaler_linear", make_pipeline(StandardScaler(), LinearRegression()), x, y)
    sklearn_model("decision_tree_regressor", DecisionTreeRegressor(max_depth=6), x, y)
    sklearn_model("decision_tree_classifier", DecisionTreeClassifier(max_depth=5), x, three, classifier=True)
    sklearn_model("random_forest_regressor", RandomForestRegressor(10, max_depth=6, random_state=0), x, y)
    sklearn_model("random_forest_binary", RandomForestClassifier(10, max_depth=5, random_state=0), x, binary,
                  classifier=True)
    sklearn_model("random_forest_multiclass", RandomForestClassifier(10, max_depth=5, random_state=0), x,
                  three, classifier=True)
    sklearn_model("extra_trees_regressor", ExtraTreesRegressor(10, max_depth=6, random_state=0), x, y)
    sklearn_model("gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=20, max_depth=3), x, y)
    sklearn_model("gradient_boosting_binary", GradientBoostingClassifier(n_estimators=20, max_depth=3), x,
                  binary, classifier=True)
    sklearn_model("gradient_boosting_multiclass", GradientBoostingClassifier(n_estimators=10, max_depth=3), x,
                  three, classifier=True)
    sklearn_model("mlp_classifier", MLPClassifier((16,), max_iter=500, random_state=0), x, three,
                  classifier=True)
    sklearn_model("kneighbors_regressor", KNeighborsRegressor(3), x, y)
    # String classes with skl2onnx's default ZipMap output.
    names = np.array(["low", "mid", "high"])[three]
    sklearn_model("logistic_string_zipmap", LogisticRegression(max_iter=500), x, names, classifier=True)


def boosted_zoo(prefix, regressor, classifier, convert, params, missing):
    """Regressor, binary and multiclass classifiers of one boosting library, converted with
    onnxmltools (float32 input `input`); `missing` puts gaps in the training data."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    x = matrix(6, 400)
    y = x @ np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.5])
    if missing:
        x[RNG.random(x.shape) < 0.05] = np.nan
    cases = [
        (f"{prefix}_regressor", regressor(**params), y, False),
        (f"{prefix}_binary", classifier(**params), (y > 0).astype(np.int64), True),
        (f"{prefix}_multiclass", classifier(**params), np.digitize(y, [-1.0, 1.0]), True),
    ]
    for name, model, target, is_classifier in cases:
        model.fit(x, target)
        onx = convert(model, initial_types=[("input", FloatTensorType([None, 6]))], target_opset=OPSETS[""])
        rows = matrix(6, ROWS)
        feeds = {"input": rows}
        out = [o.name for o in onx.graph.output]
        if is_classifier:
            save(name, onx, feeds, {"data": rows.tolist()}, label=out[0], probabilities=out[1])
        else:
            save(name, onx, feeds, {"data": rows.tolist()}, value=out[0])


def lightgbm_zoo():
    import lightgbm
    from onnxmltools import convert_lightgbm

    params = dict(n_estimators=20, num_leaves=15, min_child_samples=5, verbose=-1)
    boosted_zoo("lightgbm", lightgbm.LGBMRegressor, lightgbm.LGBMClassifier, convert_lightgbm, params,
                missing=True)  # LightGBM tracks missing values


def xgboost_zoo():
    import xgboost
    from onnxmltools import convert_xgboost

    params = dict(n_estimators=20, max_depth=4)
    boosted_zoo("xgboost", xgboost.XGBRegressor, xgboost.XGBClassifier, convert_xgboost, params, missing=False)


def column_pipeline():
    """A ColumnTransformer over numeric columns with gaps (SimpleImputer + StandardScaler) and
    string columns (OneHotEncoder, handle_unknown='ignore') into a RandomForest, ZipMap on; sent
    as records, with gaps and an unseen category."""
    import pandas as pd
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    n = 300
    df = pd.DataFrame({
        "age": RNG.integers(18, 80, n).astype(np.float32),
        "hours": RNG.integers(5, 70, n).astype(np.float32),
        "workclass": RNG.choice(["Private", "State-gov", "Self-emp"], n),
    })
    y = np.where((df.age / 40 + df.hours / 40 + (df.workclass == "Self-emp")) > 2.1, "high", "low")
    df.loc[RNG.random(n) < 0.1, "hours"] = np.nan
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    columns = ColumnTransformer([
        ("num", numeric, ["age", "hours"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["workclass"]),
    ])
    model = Pipeline([("columns", columns), ("clf", RandomForestClassifier(10, max_depth=5, random_state=0))])
    model.fit(df, y)
    onx = to_onnx(model, df[:1], target_opset=OPSETS)
    records = [
        {"age": 39.0, "hours": 40.0, "workclass": "Private"},
        {"age": 52.0, "hours": None, "workclass": "Self-emp"},
        {"age": 61.0, "hours": 60.0, "workclass": "Never-seen"},
        {"age": 23.0, "hours": 20.0, "workclass": "State-gov"},
        {"age": 70.0, "hours": 65.0, "workclass": "Self-emp"},
    ]
    feeds = {
        "age": np.array([[r["age"]] for r in records], dtype=np.float32),
        "hours": np.array([[np.nan if r["hours"] is None else r["hours"]] for r in records], dtype=np.float32),
        "workclass": np.array([[r["workclass"]] for r in records], dtype=object),
    }
    out = [o.name for o in onx.graph.output]
    save("column_pipeline_forest", onx, feeds, {"data": records}, label=out[0], probabilities=out[1])


def hand_made(name, attrs, classes=None, targets=1, width=3, labels_by_position=False):
    """A tree ensemble over `width` float columns f0.. (one input each, so that records can carry
    null for a missing value), concatenated."""
    inputs = [helper.make_tensor_value_info(f"f{i}", TensorProto.FLOAT, [None, 1]) for i in range(width)]
    concat = helper.make_node("Concat", [f"f{i}" for i in range(width)], ["x"], axis=1)
    if classes is None:
        node = helper.make_node("TreeEnsembleRegressor", ["x"], ["value"], domain="ai.onnx.ml",
                                n_targets=targets, **attrs)
        outputs = [helper.make_tensor_value_info("value", TensorProto.FLOAT, [None, targets])]
    else:
        node = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"],
                                domain="ai.onnx.ml", classlabels_int64s=classes, **attrs)
        outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)])]
    graph = helper.make_graph([concat, node], name, inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    rows = RNG.normal(size=(ROWS, width)).astype(np.float32)
    rows[::3, 1] = np.nan
    rows[1::4, 0] = 0.5
    feeds = {f"f{i}": rows[:, i:i + 1] for i in range(width)}
    records = [{f"f{i}": (None if np.isnan(v) else float(v)) for i, v in enumerate(row)} for row in rows]
    if classes is None:
        save(name, model, feeds, {"data": records}, value="value")
    else:
        save(name, model, feeds, {"data": records}, label="label", probabilities="probabilities")
    if labels_by_position:
        # With two class ids onnxruntime answers 0/1 instead of the labels (a known bug); the
        # ONNX spec's answer, which the server gives, is the label at that position.
        path = OUT / f"{name}.json"
        fixture = json.loads(path.read_text())
        for outputs in [fixture["outputs"], fixture["v2"]["outputs"]]:
            outputs["label"] = [classes[i] for i in outputs["label"]]
        path.write_text(json.dumps(fixture) + "\n")


def trees(modes, thresholds, features, missing, leaves):
    """Two-level trees (a root and two branches, four leaves) in ONNX's parallel lists; `leaves`
    holds per tree four lists of (id, weight) votes."""
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
                         "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
                         "nodes_missing_value_tracks_true"]}
    votes = {k: [] for k in ["treeids", "nodeids", "ids", "weights"]}
    for t, tree_leaves in enumerate(leaves):
        shape = [(0, 1, 2), (1, 3, 4), (2, 5, 6)]
        for i, (node, on_true, on_false) in enumerate(shape):
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(node)
            a["nodes_featureids"].append(features[(t + i) % len(features)])
            a["nodes_modes"].append(modes[(t + i) % len(modes)])
            a["nodes_values"].append(thresholds[(t + i) % len(thresholds)])
            a["nodes_truenodeids"].append(on_true)
            a["nodes_falsenodeids"].append(on_false)
            a["nodes_missing_value_tracks_true"].append(missing[(t + i) % len(missing)])
        for leaf, leaf_votes in zip(range(3, 7), tree_leaves):
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(leaf)
            for key, v in [("nodes_featureids", 0), ("nodes_modes", "LEAF"), ("nodes_values", 0.0),
                           ("nodes_truenodeids", 0), ("nodes_falsenodeids", 0),
                           ("nodes_missing_value_tracks_true", 0)]:
                a[key].append(v)
            for target, weight in leaf_votes:
                votes["treeids"].append(t)
                votes["nodeids"].append(leaf)
                votes["ids"].append(target)
                votes["weights"].append(weight)
    return a, votes


def hand_made_zoo():
    modes = ["BRANCH_NEQ", "BRANCH_LEQ", "BRANCH_GT", "BRANCH_EQ", "BRANCH_GTE", "BRANCH_LT"]
    single = [[[(0, 1.0)], [(0, -2.0)], [(0, 0.5)], [(0, 3.0)]],
              [[(0, 0.25)], [(0, 4.0)], [(0, -1.0)], [(0, 2.0)]]]
    for aggregate in ["SUM", "AVERAGE", "MIN", "MAX"]:
        a, v = trees(modes, [0.5, 0.0, -0.3], [0, 1, 2], [1, 0], single)
        hand_made(f"hand_regressor_{aggregate.lower()}", {
            **a, "target_treeids": v["treeids"], "target_nodeids": v["nodeids"],
            "target_ids": v["ids"], "target_weights": v["weights"],
            "aggregate_function": aggregate, "base_values": [0.5]})
    # Two targets, several votes per leaf, MIN/MAX over them, base values and each transform.
    double = [[[(0, 1.0), (1, 0.5)], [(0, -2.0)], [(1, 0.5)], [(0, 3.0), (1, -1.0)]],
              [[(1, 0.25)], [(0, 4.0), (1, 1.0)], [(0, -1.0)], [(0, 2.0), (1, 2.0)]]]
    for aggregate, transform in [("SUM", "SOFTMAX"), ("MIN", "LOGISTIC"), ("MAX", "SOFTMAX_ZERO"),
                                 ("AVERAGE", "NONE")]:
        a, v = trees(modes, [0.5, 0.0, -0.3], [0, 1, 2], [0, 1], double)
        hand_made(f"hand_two_targets_{aggregate.lower()}", {
            **a, "target_treeids": v["treeids"], "target_nodeids": v["nodeids"],
            "target_ids": v["ids"], "target_weights": v["weights"],
            "aggregate_function": aggregate, "post_transform": transform,
            "base_values": [0.1, -0.2]}, targets=2)
    # PROBIT on a single target (its input must be a probability).
    probs = [[[(0, 0.1)], [(0, 0.3)], [(0, 0.2)], [(0, 0.4)]],
             [[(0, 0.05)], [(0, 0.3)], [(0, 0.45)], [(0, 0.25)]]]
    a, v = trees(["BRANCH_LEQ"], [0.0], [0, 2], [0], probs)
    hand_made("hand_regressor_probit", {
        **a, "target_treeids": v["treeids"], "target_nodeids": v["nodeids"], "target_ids": v["ids"],
        "target_weights": v["weights"], "post_transform": "PROBIT"})
    # Binary classifiers: one class id with positive weights (a forest), with mixed weights and
    # one base value (boosting, LOGISTIC), and two class ids (CatBoost's form).
    positive = [[[(0, 0.1)], [(0, 0.3)], [(0, 0.2)], [(0, 0.4)]],
                [[(0, 0.05)], [(0, 0.3)], [(0, 0.45)], [(0, 0.25)]]]
    mixed = [[[(0, 1.0)], [(0, -2.0)], [(0, 0.5)], [(0, 3.0)]],
             [[(0, 0.25)], [(0, -4.0)], [(0, -1.0)], [(0, 2.0)]]]
    two_ids = [[[(0, -1.0), (1, 1.0)], [(0, 2.0), (1, -2.0)], [(0, -0.5), (1, 0.5)], [(0, 0.3), (1, -0.3)]],
               [[(0, 0.2), (1, -0.2)], [(0, -1.5), (1, 1.5)], [(0, 1.0), (1, -1.0)], [(0, -0.1), (1, 0.1)]]]
    for name, leaves, transform, base in [
        ("hand_binary_forest", positive, "NONE", None),
        ("hand_binary_forest_logistic", positive, "LOGISTIC", None),
        ("hand_binary_boosting", mixed, "LOGISTIC", [0.3]),
        ("hand_binary_boosting_none", mixed, "NONE", None),
        ("hand_binary_two_ids", two_ids, "LOGISTIC", None),
        ("hand_binary_two_bases", mixed, "LOGISTIC", [0.2, 0.2]),
    ]:
        a, v = trees(["BRANCH_LEQ", "BRANCH_LT"], [0.0, 0.4], [0, 1, 2], [1, 0], leaves)
        attrs = {**a, "class_treeids": v["treeids"], "class_nodeids": v["nodeids"],
                 "class_ids": v["ids"], "class_weights": v["weights"], "post_transform": transform}
        if base is not None:
            attrs["base_values"] = base
        hand_made(name, attrs, classes=[3, 7], labels_by_position=name == "hand_binary_two_ids")
    # Multiclass with a class that never gets a vote, base values and SOFTMAX_ZERO.
    three = [[[(0, 1.0), (2, 0.5)], [(0, -2.0)], [(2, 0.5)], [(0, 3.0)]],
             [[(2, 0.25)], [(0, 4.0)], [(0, -1.0), (2, 1.0)], [(2, 2.0)]]]
    for name, transform, base in [("hand_multiclass_softmax_zero", "SOFTMAX_ZERO", None),
                                  ("hand_multiclass_bases", "SOFTMAX", [0.1, 0.0, -0.1])]:
        a, v = trees(modes, [0.5, 0.0, -0.3], [0, 1, 2], [1, 0], three)
        attrs = {**a, "class_treeids": v["treeids"], "class_nodeids": v["nodeids"],
                 "class_ids": v["ids"], "class_weights": v["weights"], "post_transform": transform}
        if base is not None:
            attrs["base_values"] = base
        hand_made(name, attrs, classes=[10, 20, 30])


def svm_zoo():
    """Support vector machines: SVR (rbf), a binary SVC without probabilities (decision values),
    a multiclass SVC with them (libsvm's coupling), a poly-kernel SVC, and a Binarizer in front of
    a LogisticRegression."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Binarizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, SVR

    x = matrix(5, 150)
    y = x @ np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    three = np.digitize(y, [-1.0, 1.0]).astype(np.int64)
    sklearn_model("svr_rbf", SVR(kernel="rbf", C=2.0), x, y)
    sklearn_model("svc_binary", SVC(kernel="rbf"), x, (y > 0).astype(np.int64), classifier=True)
    sklearn_model("svc_multiclass_probabilities", SVC(kernel="rbf", probability=True, random_state=0), x,
                  three, classifier=True)
    sklearn_model("svc_poly", SVC(kernel="poly", degree=3, probability=True, random_state=0), x, three,
                  classifier=True)
    sklearn_model("binarizer_logistic", make_pipeline(Binarizer(threshold=0.2), LogisticRegression()), x, three,
                  classifier=True)


def hand_v5(name, dtype, aggregate, transform, targets):
    """The ml-opset-5 TreeEnsemble over three columns: two trees with MEMBER (set membership,
    missing values tracked), LEQ, GT and NEQ nodes, leaves voting for `targets` targets; the
    output takes the input's type."""
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    # Tree 0: node 0 MEMBER f0 in {0.5, 1.0, 2.0} -> node 1 else leaf 0; node 1 LEQ f1 <= 0 -> leaf 1 else leaf 2.
    # Tree 1: node 2 GT f2 > 0.1 -> node 3 else leaf 3; node 3 NEQ f1 != 0.5 -> leaf 4 else leaf 5.
    modes = [6, 0, 3, 5]
    node = helper.make_node(
        "TreeEnsemble", ["x"], ["value"], domain="ai.onnx.ml",
        nodes_featureids=[0, 1, 2, 1],
        nodes_modes=helper.make_tensor("modes", TensorProto.UINT8, [4], modes),
        nodes_splits=helper.make_tensor("splits", elem, [4], [0.0, 0.0, 0.1, 0.5]),
        nodes_truenodeids=[1, 1, 3, 4], nodes_trueleafs=[0, 1, 0, 1],
        nodes_falsenodeids=[0, 2, 3, 5], nodes_falseleafs=[1, 1, 1, 1],
        nodes_missing_value_tracks_true=[1, 0, 0, 1],
        membership_values=helper.make_tensor("members", elem, [4], [0.5, 1.0, 2.0, np.nan]),
        leaf_targetids=[0, targets - 1, 0, targets - 1, 0, targets - 1],
        leaf_weights=helper.make_tensor("weights", elem, [6], [1.0, -2.0, 0.5, 3.0, 0.25, -1.5]),
        tree_roots=[0, 2], n_targets=targets, aggregate_function=aggregate, post_transform=transform)
    inputs = [helper.make_tensor_value_info(f"f{i}", elem, [None, 1]) for i in range(3)]
    concat = helper.make_node("Concat", ["f0", "f1", "f2"], ["x"], axis=1)
    graph = helper.make_graph([concat, node], name, inputs,
                              [helper.make_tensor_value_info("value", elem, [None, targets])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)])
    model.ir_version = 10
    rows = RNG.normal(size=(ROWS, 3)).astype(dtype)
    rows[::3, 0] = np.nan
    rows[1::3, 0] = RNG.choice([0.5, 1.0, 2.0, 3.0], len(rows[1::3]))
    rows[2::4, 1] = 0.5
    feeds = {f"f{i}": rows[:, i:i + 1] for i in range(3)}
    records = [{f"f{i}": (None if np.isnan(v) else float(v)) for i, v in enumerate(row)} for row in rows]
    save(name, model, feeds, {"data": records}, value="value")


def hand_v5_zoo():
    hand_v5("hand_v5_member_sum", np.float32, 1, 0, 1)
    hand_v5("hand_v5_member_f64_average", np.float64, 0, 0, 1)
    hand_v5("hand_v5_two_targets_max_logistic", np.float32, 3, 1, 2)
    hand_v5("hand_v5_two_targets_sum_softmax", np.float32, 1, 2, 2)


def main():
    sklearn_zoo()
    lightgbm_zoo()
    xgboost_zoo()
    column_pipeline()
    hand_made_zoo()
    svm_zoo()
    hand_v5_zoo()


if __name__ == "__main__":
    main()
