"""One-score LinearClassifier models (one coefficient row, two class labels), as LinearSVC and
binary SGDClassifier export, one per post_transform, with onnxruntime's answers saved beside them:
the oracle for how the server writes a single score's two columns.

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/pip install -r tests/models/requirements.txt
    /tmp/zoo/bin/python tests/models/make_linear.py

Writes tests/fixtures/linear_classifier/<name>.onnx and one answers.json: per model its rows
(`x`), and onnxruntime's `label` and `scores` for them.
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "linear_classifier"
COEFFICIENTS = [0.5, -0.25]
INTERCEPT = 0.3
# Scores from -1.2 to 1.5: both labels, and both signs.
ROWS = [[-3.0, 0.0], [-1.0, 1.0], [0.0, 0.0], [0.4, 0.6], [1.0, -1.0], [2.0, -0.8]]
# PROBIT is the inverse normal CDF: scores inside (0, 1) only.
PROBIT_ROWS = [[0.0, 0.0], [0.4, 0.6], [-0.2, 0.2], [0.6, -0.4], [0.2, 0.4]]


def model(name, transform, labels):
    attributes = {"classlabels_strings": labels} if isinstance(labels[0], str) else {"classlabels_ints": labels}
    node = helper.make_node("LinearClassifier", ["x"], ["label", "scores"], domain="ai.onnx.ml",
                            coefficients=COEFFICIENTS, intercepts=[INTERCEPT], post_transform=transform,
                            multi_class=0, **attributes)
    label_type = TensorProto.STRING if isinstance(labels[0], str) else TensorProto.INT64
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("label", label_type, [None]),
                               helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 1)])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    answers = {}
    cases = [(t, [3, 7]) for t in ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"]]
    cases.append(("LOGISTIC", ["no", "yes"]))
    for transform, labels in cases:
        name = f"one_score_{transform.lower()}" + ("_strings" if isinstance(labels[0], str) else "")
        onnx.save(model(name, transform, labels), OUT / f"{name}.onnx")
        session = ort.InferenceSession(str(OUT / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        x = np.array(PROBIT_ROWS if transform == "PROBIT" else ROWS, dtype=np.float32)
        label, scores = session.run(["label", "scores"], {"x": x})
        answers[name] = {"x": x.tolist(), "label": [str(v) if isinstance(v, str) else int(v) for v in label],
                         "scores": scores.astype(float).tolist()}
        print(name, label.tolist(), scores.tolist())
    (OUT / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")


if __name__ == "__main__":
    main()
