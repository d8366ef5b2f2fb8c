"""Text classifiers as scikit-learn users export them (skl2onnx `to_onnx` with a string input
`text` of shape [None, 1]): TF-IDF and count pipelines into linear models, naive Bayes and a
forest, with onnxruntime's answers for requests with upper case, punctuation, unknown words, an
empty string, non-ASCII text and a 10,000-word document. Re-runnable; CI uses the saved files.

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/pip install -r tests/models/requirements.txt
    /tmp/zoo/bin/python tests/models/make_text.py

onnxruntime's StringNormalizer builds the C++ locale `en_US.UTF-8` and refuses to load without
it: run as root once, the script generates it (Debian: /etc/locale.gen and `locale-gen`).

Writes tests/fixtures/text/<name>.onnx and <name>.json: `cases`, each a request a client sends
(`request`, records), onnxruntime's outputs by name (`outputs`, a ZipMap's maps as lists in class
order) and the same texts as a V2 request (`v2`: inputs and outputs by name); which output is the
label and which the probabilities.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "text"
RNG = np.random.default_rng(26)
OPSETS = {"": 15, "ai.onnx.ml": 3}

TOPICS = {
    "billing": "refund payment invoice charge card bank price bill paid money subscription".split(),
    "technical": "error crash install update bug screen slow server broken restart app".split(),
    "account": "password login email username reset locked profile account sign security".split(),
}
COMMON = "the a my is was and please help not to it with i need".split()
STOP = ["the", "a", "is", "and", "to", "it"]


def ensure_locale():
    """onnxruntime's StringNormalizer needs the en_US.UTF-8 C++ locale."""
    available = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    if "en_us.utf8" in available:
        return
    gen = pathlib.Path("/etc/locale.gen")
    text = gen.read_text()
    if "\nen_US.UTF-8 UTF-8" not in text:
        gen.write_text(text.replace("# en_US.UTF-8 UTF-8", "en_US.UTF-8 UTF-8"))
    subprocess.run(["locale-gen"], check=True)
    # A process that looked for the locale before it existed does not see it: start again.
    os.execv(sys.executable, [sys.executable, *sys.argv])


def corpus(n):
    """`n` short tickets and their topics."""
    names = list(TOPICS)
    texts, labels = [], []
    for _ in range(n):
        topic = names[RNG.integers(len(names))]
        words = list(RNG.choice(TOPICS[topic], 4)) + list(RNG.choice(COMMON, 3))
        words += list(RNG.choice(TOPICS[names[RNG.integers(len(names))]], 1))
        RNG.shuffle(words)
        texts.append(" ".join(words))
        labels.append(topic)
    return texts, np.array(labels)


def long_document(words):
    vocabulary = sum(TOPICS.values(), []) + COMMON + ["unseen", "Zebra", "ÉTÉ"]
    return " ".join(RNG.choice(vocabulary, words))


TEXTS = [
    "REFUND my payment, please! The invoice is WRONG...",
    "zxqv blorf frobnicate",
    "",
    "Ça coûte très cher: naïve café, Müller's ÉLÈVE login straße",
    "app crash after update; server error 500 (again)",
    "🙂🙂 password",
    "login🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂",
    long_document(10_000),
]


def plain(value):
    """onnxruntime's output as JSON: a ZipMap's list of maps becomes lists in class order."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [[float(m[k]) for k in m] for m in value]
    array = np.asarray(value)
    if array.dtype == object:
        return array.astype(str).tolist()
    return array.tolist()


def case(session, records, feeds):
    names = [o.name for o in session.get_outputs()]
    outputs = {n: plain(a) for n, a in zip(names, session.run(names, feeds))}
    inputs = {k: {"datatype": "BYTES" if v.dtype == object else "FP32", "shape": list(v.shape),
                  "data": v.ravel().tolist()} for k, v in feeds.items()}
    return {"request": {"data": records}, "outputs": outputs, "v2": {"inputs": inputs, "outputs": outputs}}


def save(name, onx, cases):
    import onnx
    import onnxruntime as ort

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.onnx"
    onnx.save(onx, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = [o.name for o in onx.graph.output]
    fixture = {"cases": [case(session, records, feeds) for records, feeds in cases],
               "label": out[0], "probabilities": out[1]}
    (OUT / f"{name}.json").write_text(json.dumps(fixture) + "\n")
    ops = sorted({n.op_type for n in onx.graph.node})
    print(f"{path.name}: {path.stat().st_size} bytes, {ops}")


def text_cases(texts):
    """The texts as one request, and each short one alone (a batch of one row)."""
    whole = [([{"text": t} for t in texts], {"text": np.array([[t] for t in texts], dtype=object)})]
    alone = [([{"text": t}], {"text": np.array([[t]], dtype=object)}) for t in texts if len(t) < 100]
    return whole + alone


def text_pipeline(name, vectorizer, classifier, labels=None, texts=TEXTS):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.pipeline import Pipeline

    x, y = corpus(300)
    if labels is not None:
        y = np.array([labels[v] for v in y])
    model = Pipeline([("vectorizer", vectorizer), ("classifier", classifier)]).fit(x, y)
    onx = to_onnx(model, initial_types=[("text", StringTensorType([None, 1]))], target_opset=OPSETS)
    save(name, onx, text_cases(texts))


def column_forest():
    """A ColumnTransformer with one text column (TF-IDF) and two numeric columns (scaled) into a
    RandomForest, exported from its DataFrame."""
    import pandas as pd
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = corpus(300)
    df = pd.DataFrame({"text": x, "length": RNG.integers(1, 500, len(x)).astype(np.float32),
                       "hour": RNG.integers(0, 24, len(x)).astype(np.float32)})
    columns = ColumnTransformer([("words", TfidfVectorizer(), "text"),
                                 ("numbers", StandardScaler(), ["length", "hour"])])
    model = Pipeline([("columns", columns),
                      ("forest", RandomForestClassifier(20, max_depth=6, random_state=0))]).fit(df, y)
    onx = to_onnx(model, df[:1], target_opset=OPSETS)
    rows = [{"text": t, "length": float(10 + 37 * i), "hour": float(i % 24)} for i, t in enumerate(TEXTS)]
    feeds = {"text": np.array([[r["text"]] for r in rows], dtype=object),
             "length": np.array([[r["length"]] for r in rows], dtype=np.float32),
             "hour": np.array([[r["hour"]] for r in rows], dtype=np.float32)}
    save("text_column_forest", onx, [(rows, feeds)])


def one_node(name, op, attrs, inputs, domain=""):
    """A graph of one operator from `x` to `y`, and onnxruntime's answer for each input."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    first = np.asarray(inputs[0])
    elem = {"O": TensorProto.STRING, "i": TensorProto.INT64, "f": TensorProto.FLOAT}[first.dtype.kind]
    out = TensorProto.FLOAT if op in ("TfIdfVectorizer", "Normalizer") else TensorProto.STRING
    node = helper.make_node(op, ["x"], ["y"], domain=domain, **attrs)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", elem, None)],
                              [helper.make_tensor_value_info("y", out, None)])
    opsets = [helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3),
              helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    path = OUT / "ops" / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    runs = []
    for x in inputs:
        x = np.asarray(x)
        (y,) = session.run(None, {"x": x})
        runs.append({"x": {"shape": list(x.shape), "data": x.ravel().tolist()},
                     "y": {"shape": list(y.shape), "data": y.ravel().tolist()}})
    return name, runs


def operators():
    """Each text operator alone, with the attributes converters do not use and the inputs where
    onnxruntime has its own rules; answers in tests/fixtures/text/ops/answers.json."""
    s = lambda rows: np.array(rows, dtype=object)  # noqa: E731
    cases = [
        one_node("normalizer_lower_stopwords", "StringNormalizer",
                 dict(case_change_action="LOWER", is_case_sensitive=0, stopwords=["the", "Und"]),
                 [s(["The", "Straße İSTANBUL ǅ Ωmega", "und", "x y"]), s(["the", "UND"]), s([["the", "ÉTÉ"]]),
                  s(["login🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂", "🙂🙂 ok"])]),
        one_node("normalizer_upper_sensitive", "StringNormalizer",
                 dict(case_change_action="UPPER", is_case_sensitive=1, stopwords=["the"]),
                 [s([["the", "The", "straße ᾳ ŉ ﬀ ǅ ÿ", "i ı"]]), s(["the"])]),
        one_node("normalizer_none", "StringNormalizer", dict(case_change_action="NONE", is_case_sensitive=0,
                                                             stopwords=["a"]),
                 [s(["A", "Bb", "a"])]),
        one_node("tokenizer_separators", "Tokenizer",
                 dict(mark=1, mincharnum=2, pad_value="#", separators=[" ", "[.,;]+", "ab"]),
                 [s([["a cab.dd,eee", "x;yy  zz"], ["", "abbab ab"]]), s(["one two", ""])], domain="com.microsoft"),
        # An empty separator match drops the character after it.
        one_node("tokenizer_empty_separator", "Tokenizer", dict(mark=0, mincharnum=1, pad_value="#", separators=["b*"]),
                 [s([["abbac"], ["xyz"]])], domain="com.microsoft"),
        one_node("tokenizer_chars", "Tokenizer", dict(mark=0, mincharnum=1, pad_value="_", tokenexp="."),
                 [s([["añb"], ["🙂"], [""]])], domain="com.microsoft"),
        one_node("tokenizer_ascii_classes", "Tokenizer",
                 dict(mark=0, mincharnum=2, pad_value="#", tokenexp=r"\w+|\d\s\d"),
                 [s([["naïve café 1 2 über"], ["a bb ccc"]]), s([[""], [" "]])], domain="com.microsoft"),
        one_node("tfidf_skip_ints", "TfIdfVectorizer",
                 dict(min_gram_length=1, max_gram_length=3, max_skip_count=2, mode="TFIDF",
                      ngram_counts=[0, 3, 7], pool_int64s=[1, 2, 3, 1, 2, 2, 3, 1, 2, 3],
                      ngram_indexes=[5, 4, 3, 2, 1, 0], weights=[0.5, 1.0, 2.0, 3.0, 4.0, 5.0]),
                 [np.array([[1, 2, 3, 1, 2, 3, 9], [2, 2, 2, 3, 3, 1, 1]], dtype=np.int64),
                  np.array([1, 2, 3], dtype=np.int64), np.zeros((2, 0), dtype=np.int64)]),
        one_node("tfidf_idf_bigrams", "TfIdfVectorizer",
                 dict(min_gram_length=2, max_gram_length=2, max_skip_count=0, mode="IDF",
                      ngram_counts=[0, 2], pool_strings=["a", "b", "a", "b", "b", "a"],
                      ngram_indexes=[3, 0, 2, 1], weights=[0.1, 0.2, 0.3, 0.4]),
                 [s([["a", "b", "a", "b", "#"], ["b", "a", "#", "#", "#"]])]),
        one_node("tfidf_tf_unigrams", "TfIdfVectorizer",
                 dict(min_gram_length=1, max_gram_length=1, max_skip_count=0, mode="TF",
                      ngram_counts=[0], pool_strings=["x", "yy"], ngram_indexes=[0, 2]),
                 [s([["x", "x", "yy", "z"]]), s(["yy"])]),
    ]
    rows = np.array([[1.0, -2.0, 0.5], [-3.0, -1.0, -0.25], [0.0, 0.0, 0.0], [2.0, 2.0, -4.0]],
                    dtype=np.float32)
    for norm in ["MAX", "L1", "L2"]:
        cases.append(one_node(f"normalizer_{norm.lower()}", "Normalizer", dict(norm=norm), [rows],
                              domain="ai.onnx.ml"))
    (OUT / "ops" / "answers.json").write_text(json.dumps(dict(cases), ensure_ascii=False, indent=1) + "\n")


def keep_empty_string():
    """skl2onnx's `keep_empty_string` option (a Scan over StringNormalizer), which the server
    does not run: start-up names it."""
    import onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    x, y = corpus(100)
    vectorizer = TfidfVectorizer()
    model = Pipeline([("vectorizer", vectorizer), ("classifier", LogisticRegression())]).fit(x, y)
    onx = to_onnx(model, initial_types=[("text", StringTensorType([None, 1]))], target_opset=OPSETS,
                  options={id(vectorizer): {"keep_empty_string": True}})
    path = OUT / "unsupported" / "keep_empty_string.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(onx, path)
    print(f"{path.name}: {sorted({n.op_type for n in onx.graph.node})}")


def main():
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import MultinomialNB

    ensure_locale()
    operators()
    text_pipeline("tfidf_logistic", TfidfVectorizer(), LogisticRegression(max_iter=500))
    # A document that is only a stop word: onnxruntime's StringNormalizer drops whole strings.
    text_pipeline("count_bigrams_nb", CountVectorizer(ngram_range=(1, 2), stop_words=STOP), MultinomialNB(),
                  texts=TEXTS + ["The"])
    text_pipeline("tfidf_sublinear_l1_logistic", TfidfVectorizer(sublinear_tf=True, norm="l1"),
                  LogisticRegression(max_iter=500), labels={"billing": 1, "technical": 0, "account": 0})
    text_pipeline("tfidf_sgd_hinge", TfidfVectorizer(), SGDClassifier(loss="hinge", random_state=0))
    column_forest()
    keep_empty_string()


if __name__ == "__main__":
    main()
