"""Makes scikit-learn pipelines that use the ai.onnx.ml operators this server implements itself
(Scaler, Imputer, FeatureVectorizer, OneHotEncoder, LabelEncoder), with onnxruntime's answers saved beside them, a
model with ZipMap, and one with an operator the server does not implement (StringSplit). Re-runnable; CI uses the saved files.

    /tmp/zoo/bin/python tests/models/make_pipelines.py   (requirements.txt beside this file)

Writes tests/fixtures/pipelines/<name>.onnx and <name>.json (the records or rows a client sends,
and onnxruntime's outputs by name).
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
RNG = np.random.default_rng(11)
OPSETS = {"": 13, "ai.onnx.ml": 3}


def plain(value):
    """onnxruntime's output as JSON: a ZipMap's list of maps becomes lists in class order."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [[float(m[k]) for k in m] for m in value]
    return np.asarray(value).tolist()


def save(name, model, feeds, request):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = {n: plain(a) for n, a in zip(names, session.run(names, feeds))}
    (OUT / f"{name}.json").write_text(json.dumps({"request": request, "outputs": outputs}) + "\n")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{path.name}: {ops}")


def scaler_linear():
    """StandardScaler + LinearRegression on a float32 matrix: Scaler, LinearRegressor."""
    x = RNG.normal(loc=5, scale=3, size=(200, 5)).astype(np.float32)
    y = x @ np.array([1.5, -2.0, 0.3, 4.0, -1.0]) + 2
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(x, y)
    onx = to_onnx(model, x[:1], target_opset=OPSETS)
    rows = RNG.normal(loc=5, scale=3, size=(8, 5)).astype(np.float32)
    save("scaler_linear", onx, {onx.graph.input[0].name: rows}, {"data": rows.tolist()})


def imputed_columns_classifier():
    """A ColumnTransformer over numeric DataFrame columns with gaps (SimpleImputer, then
    RobustScaler) into a binary LogisticRegression without ZipMap: FeatureVectorizer, Imputer,
    Scaler, LinearClassifier."""
    df = pd.DataFrame(RNG.normal(size=(300, 3)).astype(np.float32), columns=["a", "b", "c"])
    y = (df.a - df.b + 0.5 * df.c > 0).astype(np.int64)
    df.loc[RNG.random(300) < 0.1, "b"] = np.nan
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", RobustScaler())])
    clf = LogisticRegression()
    model = Pipeline([("columns", ColumnTransformer([("num", numeric, ["a", "b", "c"])])), ("clf", clf)]).fit(df, y)
    onx = to_onnx(model, df[:1], options={id(clf): {"zipmap": False}}, target_opset=OPSETS)
    test = pd.DataFrame(RNG.normal(size=(8, 3)).astype(np.float32), columns=["a", "b", "c"])
    test.loc[[1, 4], "b"] = np.nan
    feeds = {c: test[[c]].to_numpy() for c in test.columns}
    records = [{c: (None if np.isnan(v) else float(v)) for c, v in row.items()} for row in test.to_dict("records")]
    save("imputed_columns_classifier", onx, feeds, {"data": records})


def frame_imputer_linear():
    """A DataFrame straight into SimpleImputer and LinearRegression: FeatureVectorizer, Imputer,
    LinearRegressor; sent as records with gaps (null)."""
    df = pd.DataFrame(RNG.normal(size=(200, 3)).astype(np.float32), columns=["a", "b", "c"])
    y = 2 * df.a - df.b + 0.5 * df.c
    df.loc[RNG.random(200) < 0.1, "c"] = np.nan
    model = make_pipeline(SimpleImputer(), LinearRegression()).fit(df, y)
    onx = to_onnx(model, df[:1], target_opset=OPSETS)
    test = pd.DataFrame(RNG.normal(size=(6, 3)).astype(np.float32), columns=["a", "b", "c"])
    test.loc[[0, 3], "c"] = np.nan
    feeds = {c: test[[c]].to_numpy() for c in test.columns}
    records = [{c: (None if np.isnan(v) else float(v)) for c, v in row.items()} for row in test.to_dict("records")]
    save("frame_imputer_linear", onx, feeds, {"data": records})


def census_classifier():
    """The pipeline of real deployments: a ColumnTransformer over numeric columns with gaps
    (SimpleImputer, StandardScaler) and a string column (OneHotEncoder, handle_unknown='ignore')
    into LogisticRegression without ZipMap; sent as records, one with an unseen category."""
    n = 400
    df = pd.DataFrame({
        "age": RNG.integers(18, 80, n).astype(np.float32),
        "hours": RNG.integers(5, 70, n).astype(np.float32),
        "workclass": RNG.choice(["Private", "State-gov", "Self-emp"], n),
    })
    y = ((df.age / 40 + df.hours / 40 + (df.workclass == "Self-emp")) > 2.1).astype(np.int64)
    df.loc[RNG.random(n) < 0.1, "hours"] = np.nan
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    columns = ColumnTransformer([
        ("num", numeric, ["age", "hours"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["workclass"]),
    ])
    clf = LogisticRegression()
    model = Pipeline([("columns", columns), ("clf", clf)]).fit(df, y)
    onx = to_onnx(model, df[:1], options={id(clf): {"zipmap": False}}, target_opset=OPSETS)
    records = [
        {"age": 39.0, "hours": 40.0, "workclass": "Private"},
        {"age": 52.0, "hours": None, "workclass": "Self-emp"},
        {"age": 61.0, "hours": 60.0, "workclass": "Never-seen"},
        {"age": 23.0, "hours": 20.0, "workclass": "State-gov"},
    ]
    feeds = {
        "age": np.array([[r["age"]] for r in records], dtype=np.float32),
        "hours": np.array([[np.nan if r["hours"] is None else r["hours"]] for r in records], dtype=np.float32),
        "workclass": np.array([[r["workclass"]] for r in records], dtype=object),
    }
    save("census_classifier", onx, feeds, {"data": records})


def zipmap_classifier():
    """LogisticRegression exported with skl2onnx's default ZipMap: served as its probabilities."""
    x = RNG.normal(size=(100, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    onx = to_onnx(LogisticRegression().fit(x, y), x[:1], target_opset=OPSETS)
    rows = np.array([[0.5, 1.0, -1.0], [-2.0, 0.0, 0.3], [0.01, 0.2, 0.2]], dtype=np.float32)
    save("zipmap_classifier", onx, {onx.graph.input[0].name: rows}, {"data": rows.tolist()})


def ordinal_linear():
    """An OrdinalEncoder (unseen cities become -1) beside a passed-through number, into
    LinearRegression: LabelEncoder (ml opset 2 form), Cast, Concat, LinearRegressor."""
    df = pd.DataFrame({
        "city": RNG.choice(["rome", "paris", "oslo"], 100),
        "x": RNG.normal(size=100).astype(np.float32),
    })
    y = df.x * 2 + (df.city == "oslo") * 3
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    columns = ColumnTransformer([("city", encoder, ["city"]), ("x", "passthrough", ["x"])])
    model = Pipeline([("columns", columns), ("reg", LinearRegression())]).fit(df, y)
    onx = to_onnx(model, df[:1], target_opset=OPSETS)
    records = [{"city": c, "x": x} for c, x in [("rome", 0.5), ("oslo", -1.0), ("lima", 2.0), ("paris", 0.0)]]
    feeds = {
        "city": np.array([[r["city"]] for r in records], dtype=object),
        "x": np.array([[r["x"]] for r in records], dtype=np.float32),
    }
    save("ordinal_linear", onx, feeds, {"data": records})


def label_encoder_v1():
    """The ml-opset-1 LabelEncoder form (classes_strings, strings to their positions), built by
    hand: no current converter emits it, but older exports carry it."""
    from onnx import TensorProto, helper
    node = helper.make_node("LabelEncoder", ["city"], ["code"], domain="ai.onnx.ml",
                            classes_strings=["oslo", "paris", "rome"], default_int64=-1)
    graph = helper.make_graph([node], "label_encoder_v1",
                              [helper.make_tensor_value_info("city", TensorProto.STRING, [None, 1])],
                              [helper.make_tensor_value_info("code", TensorProto.INT64, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    cities = ["rome", "lima", "oslo", "paris"]
    save("label_encoder_v1", model, {"city": np.array([[c] for c in cities], dtype=object)},
         {"data": [{"city": c} for c in cities]})


def string_split():
    """StringSplit (ai.onnx opset 20), which neither tract nor the server implements: start-up
    names it."""
    from onnx import TensorProto, helper
    node = helper.make_node("StringSplit", ["text"], ["words", "counts"], delimiter=" ")
    graph = helper.make_graph([node], "string_split",
                              [helper.make_tensor_value_info("text", TensorProto.STRING, [None])],
                              [helper.make_tensor_value_info("words", TensorProto.STRING, [None, None]),
                               helper.make_tensor_value_info("counts", TensorProto.INT64, [None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(model, OUT / "string_split.onnx")
    print("string_split.onnx: ['StringSplit']")


def label_encoder_v4():
    """The ml-opset-4 LabelEncoder with tensor attributes: strings to int64 with a default_tensor,
    then int64 to float, built by hand (converters still write the opset-2 lists)."""
    from onnx import TensorProto, helper
    to_code = helper.make_node(
        "LabelEncoder", ["city"], ["code"], domain="ai.onnx.ml",
        keys_tensor=helper.make_tensor("k", TensorProto.STRING, [3], [b"oslo", b"paris", b"rome"]),
        values_tensor=helper.make_tensor("v", TensorProto.INT64, [3], [10, 20, 30]),
        default_tensor=helper.make_tensor("d", TensorProto.INT64, [1], [-7]))
    to_weight = helper.make_node(
        "LabelEncoder", ["code"], ["weight"], domain="ai.onnx.ml",
        keys_tensor=helper.make_tensor("k2", TensorProto.INT64, [3], [10, 20, -7]),
        values_tensor=helper.make_tensor("v2", TensorProto.FLOAT, [3], [0.5, 1.5, -1.0]),
        default_tensor=helper.make_tensor("d2", TensorProto.FLOAT, [1], [9.0]))
    graph = helper.make_graph([to_code, to_weight], "label_encoder_v4",
                              [helper.make_tensor_value_info("city", TensorProto.STRING, [None, 1])],
                              [helper.make_tensor_value_info("weight", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 4)])
    model.ir_version = 8
    cities = ["rome", "lima", "oslo", "paris"]
    save("label_encoder_v4", model, {"city": np.array([[c] for c in cities], dtype=object)},
         {"data": [{"city": c} for c in cities]})


def main():
    scaler_linear()
    imputed_columns_classifier()
    frame_imputer_linear()
    census_classifier()
    zipmap_classifier()
    ordinal_linear()
    label_encoder_v1()
    string_split()
    label_encoder_v4()


if __name__ == "__main__":
    main()
