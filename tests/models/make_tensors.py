"""The tensor test models (issue 21, SPEC 9): small deep-learning graphs built with onnx.helper
(opset 17, seeded weights, a few KB each) whose inputs and outputs have any rank and element type,
with onnxruntime's answers saved beside them. Re-runnable and deterministic; CI uses the saved
files.

    python3 -m venv /tmp/tm-venv && /tmp/tm-venv/bin/pip install -r tests/models/requirements.txt
    /tmp/tm-venv/bin/python tests/models/make_tensors.py

Writes tests/fixtures/tensors/<name>.onnx and <name>.json (README.md there lists the models):

    {"model": "<name>.onnx",
     "batch": "symbolic" | "fixed1" | "fixed2",
     "inputs":  {"<input>":  {"datatype": "FP32", "shape": ["N", 3, 8, 8]}, ...},
     "outputs": {"<output>": {"datatype": "FP32", "shape": ["N", 4]}, ...},
     "cases": [{"name": "n1", "runs": "batch" | "per_item",
                "inputs":  {"<input>":  {"datatype", "shape", "data": nested lists}},
                "outputs": {"<output>": {"datatype", "shape", "data": nested lists}}}, ...]}

Declared shapes use the symbol's name for a symbolic dimension. A case's tensors carry the batch
dimension (the whole request); `runs: per_item` means onnxruntime ran each item alone (the model's
batch is fixed at 1) and the outputs are those runs stacked, which is what the server answers for
that request. FP16 values are f32 in JSON and exactly representable in FP16.
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "tensors"
FIXTURES = OUT.parent
RNG = np.random.default_rng(21)
OPSET = 17
IR_VERSION = 8

DATATYPES = {
    TensorProto.FLOAT: "FP32", TensorProto.DOUBLE: "FP64", TensorProto.FLOAT16: "FP16",
    TensorProto.INT8: "INT8", TensorProto.UINT8: "UINT8", TensorProto.INT16: "INT16",
    TensorProto.INT32: "INT32", TensorProto.INT64: "INT64", TensorProto.BOOL: "BOOL",
    TensorProto.STRING: "BYTES",
}
NUMPY_DATATYPES = {
    np.dtype(np.float32): "FP32", np.dtype(np.float64): "FP64", np.dtype(np.float16): "FP16",
    np.dtype(np.int8): "INT8", np.dtype(np.uint8): "UINT8", np.dtype(np.int16): "INT16",
    np.dtype(np.int32): "INT32", np.dtype(np.int64): "INT64", np.dtype(bool): "BOOL",
}


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def weight(name, shape, scale=0.5):
    return numpy_helper.from_array((RNG.normal(size=shape) * scale).astype(np.float32), name)


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def value_info(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(name, nodes, inputs, outputs, initializers):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="aml-scorer tests/models/make_tensors.py")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def declared(values):
    out = {}
    for v in values:
        t = v.type.tensor_type
        shape = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in t.shape.dim]
        out[v.name] = {"datatype": DATATYPES[t.elem_type], "shape": shape}
    return out


def tensor(array):
    array = np.asarray(array)
    data = array.astype(np.float32).tolist() if array.dtype == np.float16 else array.tolist()
    return {"datatype": NUMPY_DATATYPES[array.dtype], "shape": list(array.shape), "data": data}


def run_cases(sess, cases, per_item):
    """Each case is (name, feeds). Per item: a batch-1 run per item (inputs of rank 0 are given
    to every run), outputs stacked on dim 0."""
    names = [o.name for o in sess.get_outputs()]
    recorded = []
    for case_name, feeds in cases:
        if per_item:
            batched = [k for k, v in feeds.items() if v.ndim > 0]
            n = feeds[batched[0]].shape[0]
            runs = [sess.run(names, {k: (v[i:i + 1] if v.ndim > 0 else v) for k, v in feeds.items()})
                    for i in range(n)]
            outputs = [np.concatenate([r[j] for r in runs], axis=0) for j in range(len(names))]
        else:
            outputs = sess.run(names, feeds)
        recorded.append({
            "name": case_name,
            "runs": "per_item" if per_item else "batch",
            "inputs": {k: tensor(v) for k, v in feeds.items()},
            "outputs": {n: tensor(o) for n, o in zip(names, outputs)},
        })
    return recorded


def save(name, model, batch, cases, extra=None):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.onnx"
    onnx.save(model, path)
    sess = session(path)
    fixture = {
        "model": path.name,
        "batch": batch,
        "inputs": declared(model.graph.input),
        "outputs": declared(model.graph.output),
        "cases": run_cases(sess, cases, per_item=batch == "fixed1"),
    }
    if extra:
        fixture.update(extra(path, sess))
    (OUT / f"{name}.json").write_text(json.dumps(fixture, allow_nan=False) + "\n")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{path.name}: {path.stat().st_size} bytes, {ops}")
    return fixture


# --- CNNs ------------------------------------------------------------------------------------

CHANNELS = 4
SIZE = 8
CLASSES = 4


def cnn_weights():
    return [weight("conv.weight", [CHANNELS, 3, 3, 3]), weight("conv.bias", [CHANNELS], 0.1),
            weight("fc.weight", [CHANNELS * SIZE * SIZE, CLASSES], 0.1), weight("fc.bias", [CLASSES], 0.1)]


def cnn(name, batch_dim, flatten_shape, weights):
    """Conv 3x3 (3 -> 4 channels, pad 1) -> Relu -> Reshape(flatten_shape) -> Gemm -> logits."""
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Reshape", ["relu", "flatten.shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"]),
    ]
    return make_model(name, nodes,
                      [value_info("image", TensorProto.FLOAT, [batch_dim, 3, SIZE, SIZE])],
                      [value_info("logits", TensorProto.FLOAT, [batch_dim, CLASSES])],
                      weights + [const("flatten.shape", flatten_shape)])


def images(n):
    # Multiples of 1/64 in [-2, 2): exact in f32 and short in JSON.
    return (RNG.integers(-128, 128, size=(n, 3, SIZE, SIZE)) / 64).astype(np.float32)


def message(error):
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def symbolic_copy(model, dim_name="N"):
    """The model with dim 0 of every input and output made symbolic, as a server would try."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for v in list(copy.graph.input) + list(copy.graph.output):
        dim = v.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_param = dim_name
    return copy


def batched_attempt(model, feeds):
    """What onnxruntime answers when the fixed-1 batch is typed symbolic and fed N items in one
    run: an error message, or the (wrong) outputs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4  # the expected failure is recorded, not logged
    sess = ort.InferenceSession(symbolic_copy(model).SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    try:
        outputs = sess.run(names, feeds)
    except Exception as error:  # onnxruntime's own exception types
        return {"error": message(error)}
    return {"outputs": {n: tensor(o) for n, o in zip(names, outputs)}}


def fixed_batch_refusal(sess, feeds):
    try:
        sess.run(None, feeds)
    except Exception as error:
        return message(error)
    raise AssertionError("onnxruntime ran a fixed-1 model on 3 items")


def cnn_models():
    weights = cnn_weights()
    one, three = images(1), images(3)

    fixed = cnn("cnn_fixed_batch", 1, [1, -1], weights)

    def fixed_extra(path, sess):
        return {"onnxruntime_with_3_items": fixed_batch_refusal(sess, {"image": three}),
                "typed_symbolic_3_items": batched_attempt(fixed, {"image": three})}

    save("cnn_fixed_batch", fixed, "fixed1", [("n1", {"image": one}), ("n3", {"image": three})], fixed_extra)

    dynamic = cnn("cnn_dynamic_batch", "N", [0, -1], weights)
    save("cnn_dynamic_batch", dynamic, "symbolic", [("n1", {"image": one}), ("n3", {"image": three})])

    # The trap: a batch-1 export whose hard-coded Reshape still type-checks with a symbolic batch
    # and answers the right shape with wrong values. Spatial attention as a trace with a static
    # input writes it: x.view(1, C, -1).softmax(-1) * ..., then x.view(-1, C, H, W).
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Reshape", ["relu", "spatial.shape"], ["spatial"]),
        helper.make_node("Softmax", ["spatial"], ["attention"], axis=-1),
        helper.make_node("Mul", ["spatial", "attention"], ["weighted"]),
        helper.make_node("Reshape", ["weighted", "back.shape"], ["maps"]),
        helper.make_node("ReduceSum", ["maps", "pool.axes"], ["pooled"], keepdims=0),
        helper.make_node("Gemm", ["pooled", "head.weight", "fc.bias"], ["logits"]),
    ]
    trap = make_model("cnn_fixed_batch_trap", nodes,
                      [value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
                      [value_info("logits", TensorProto.FLOAT, [1, CLASSES])],
                      [weights[0], weights[1], weights[3], weight("head.weight", [CHANNELS, CLASSES]),
                       const("spatial.shape", [1, CHANNELS, -1]),
                       const("back.shape", [-1, CHANNELS, SIZE, SIZE]), const("pool.axes", [2, 3])])

    def trap_extra(path, sess):
        attempt = batched_attempt(trap, {"image": three})
        per_item = np.concatenate([sess.run(None, {"image": three[i:i + 1]})[0] for i in range(3)])
        wrong = np.asarray(attempt["outputs"]["logits"]["data"], dtype=np.float32)
        assert wrong.shape == per_item.shape and not np.allclose(wrong, per_item, atol=1e-3)
        return {"typed_symbolic_3_items": attempt}

    save("cnn_fixed_batch_trap", trap, "fixed1", [("n1", {"image": one}), ("n3", {"image": three})],
         trap_extra)


# --- Sequences -------------------------------------------------------------------------------

def sequence_rank3():
    """x [N, T, 5] -> MatMul [5, 3] + Add -> y [N, T, 3]; y_mean [N, 3] is y's mean over T."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
        helper.make_node("ReduceMean", ["y"], ["y_mean"], axes=[1], keepdims=0),
    ]
    model = make_model("sequence_rank3", nodes, [value_info("x", TensorProto.FLOAT, ["N", "T", 5])],
                       [value_info("y", TensorProto.FLOAT, ["N", "T", 3]),
                        value_info("y_mean", TensorProto.FLOAT, ["N", 3])],
                       [weight("w", [5, 3]), weight("b", [3], 0.1)])

    def x(n, t):
        return (RNG.integers(-64, 64, size=(n, t, 5)) / 16).astype(np.float32)

    save("sequence_rank3", model, "symbolic", [("n1_t4", {"x": x(1, 4)}), ("n3_t2", {"x": x(3, 2)})])


# --- A tiny BERT-style encoder ---------------------------------------------------------------

VOCAB = 50
HIDDEN = 8
HEADS = 2
HEAD = HIDDEN // HEADS
FFN = 16
MAX_POSITIONS = 32
LABELS = 2


def layer_norm(x, name, nodes, initializers):
    initializers += [numpy_helper.from_array((1 + RNG.normal(size=[HIDDEN]) * 0.1).astype(np.float32),
                                             f"{name}.gamma"),
                     weight(f"{name}.beta", [HIDDEN], 0.1)]
    nodes.append(helper.make_node("LayerNormalization", [x, f"{name}.gamma", f"{name}.beta"], [name],
                                  axis=-1, epsilon=1e-12))
    return name


def linear(x, name, n_in, n_out, nodes, initializers):
    initializers += [weight(f"{name}.weight", [n_in, n_out]), weight(f"{name}.bias", [n_out], 0.1)]
    nodes += [helper.make_node("MatMul", [x, f"{name}.weight"], [f"{name}.mm"]),
              helper.make_node("Add", [f"{name}.mm", f"{name}.bias"], [name])]
    return name


def tiny_bert():
    """Embeddings (word Gather + position table Sliced by T) -> LayerNorm -> one encoder layer
    (two heads, mask add (1 - mask) * -10000, Softmax, Erf GELU FFN, residuals, LayerNorms) ->
    masked mean pooling -> Gemm -> logits [B, 2]."""
    nodes, inits = [], []
    inits += [weight("word_embeddings", [VOCAB, HIDDEN]), weight("position_embeddings", [MAX_POSITIONS, HIDDEN]),
              const("zero", [0]), const("axis0", [0]), const("heads.shape", [0, 0, HEADS, HEAD]),
              const("hidden.shape", [0, 0, HIDDEN]), const("mask.axes", [1, 2]), const("pool.mask.axes", [2]),
              const("seq.axis", [1]),
              const("one", 1.0, np.float32), const("neg", -10000.0, np.float32),
              const("scale", 1 / np.sqrt(HEAD), np.float32), const("half", 0.5, np.float32),
              const("sqrt2", np.sqrt(2.0), np.float32)]
    nodes += [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"], axis=0),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "seq.axis"], ["seq_len"], axis=0),  # [T]
        helper.make_node("Slice", ["position_embeddings", "zero", "seq_len", "axis0"], ["positions"]),
        helper.make_node("Add", ["words", "positions"], ["embedded"]),
    ]
    h = layer_norm("embedded", "emb_ln", nodes, inits)
    # Attention mask [B, T] -> additive [B, 1, 1, T].
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "mask.axes"], ["mask4"]),
        helper.make_node("Sub", ["one", "mask4"], ["inverted"]),
        helper.make_node("Mul", ["inverted", "neg"], ["mask_add"]),
    ]
    for part, perm in [("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])]:
        linear(h, part, HIDDEN, HIDDEN, nodes, inits)
        nodes += [helper.make_node("Reshape", [part, "heads.shape"], [f"{part}.split"]),
                  helper.make_node("Transpose", [f"{part}.split"], [f"{part}.heads"], perm=perm)]
    nodes += [
        helper.make_node("MatMul", ["q.heads", "k.heads"], ["scores_raw"]),  # [B, H, T, T]
        helper.make_node("Mul", ["scores_raw", "scale"], ["scores_scaled"]),
        helper.make_node("Add", ["scores_scaled", "mask_add"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "v.heads"], ["context_heads"]),  # [B, H, T, D]
        helper.make_node("Transpose", ["context_heads"], ["context_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["context_t", "hidden.shape"], ["context"]),
    ]
    linear("context", "attn_out", HIDDEN, HIDDEN, nodes, inits)
    nodes.append(helper.make_node("Add", ["attn_out", h], ["attn_res"]))
    h = layer_norm("attn_res", "attn_ln", nodes, inits)
    linear(h, "ffn_in", HIDDEN, FFN, nodes, inits)
    nodes += [  # GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
        helper.make_node("Div", ["ffn_in", "sqrt2"], ["gelu.scaled"]),
        helper.make_node("Erf", ["gelu.scaled"], ["gelu.erf"]),
        helper.make_node("Add", ["gelu.erf", "one"], ["gelu.plus"]),
        helper.make_node("Mul", ["ffn_in", "gelu.plus"], ["gelu.mul"]),
        helper.make_node("Mul", ["gelu.mul", "half"], ["gelu"]),
    ]
    linear("gelu", "ffn_out", FFN, HIDDEN, nodes, inits)
    nodes.append(helper.make_node("Add", ["ffn_out", h], ["ffn_res"]))
    h = layer_norm("ffn_res", "ffn_ln", nodes, inits)
    # Masked mean pooling over T: sum(h * mask) / sum(mask).
    nodes += [
        helper.make_node("Unsqueeze", ["mask_f", "pool.mask.axes"], ["mask3"]),  # [B, T, 1]
        helper.make_node("Mul", [h, "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "seq.axis"], ["summed"], keepdims=0),  # [B, 8]
        helper.make_node("ReduceSum", ["mask3", "seq.axis"], ["count"], keepdims=0),  # [B, 1]
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
        helper.make_node("Gemm", ["pooled", "classifier.weight", "classifier.bias"], ["logits"]),
    ]
    inits += [weight("classifier.weight", [HIDDEN, LABELS]), weight("classifier.bias", [LABELS], 0.1)]
    model = make_model("tiny_bert", nodes,
                       [value_info("input_ids", TensorProto.INT64, ["B", "T"]),
                        value_info("attention_mask", TensorProto.INT64, ["B", "T"])],
                       [value_info("logits", TensorProto.FLOAT, ["B", LABELS])], inits)

    ids3 = np.array([[1, 17, 2]], dtype=np.int64)
    ids5 = np.array([[1, 23, 8, 41, 2], [1, 5, 2, 0, 0]], dtype=np.int64)  # row 1 padded with 0
    mask5 = (np.arange(5)[None, :] < np.array([[5], [3]])).astype(np.int64)
    cases = [("b1_t3", {"input_ids": ids3, "attention_mask": np.ones_like(ids3)}),
             ("b2_t5_padded", {"input_ids": ids5, "attention_mask": mask5})]

    def padding_check(path, sess):
        # The padded row answers as the same sentence alone without padding.
        alone = sess.run(None, {"input_ids": ids5[1:, :3], "attention_mask": mask5[1:, :3]})[0]
        padded = sess.run(None, cases[1][1])[0][1:]
        return {"padded_row_alone": {"input_ids": tensor(ids5[1:, :3]), "attention_mask": tensor(mask5[1:, :3]),
                                     "logits": tensor(alone),
                                     "max_abs_difference": float(np.abs(alone - padded).max())},
                "max_positions": MAX_POSITIONS}

    save("tiny_bert", model, "symbolic", cases, padding_check)


# --- Element types ---------------------------------------------------------------------------

def fp16_uint8():
    """a FP16 [N, 3] + b UINT8 [N, 3], both Cast to FP32 -> y FP32 [N, 3]."""
    nodes = [helper.make_node("Cast", ["a"], ["a_f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["b"], ["b_f"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["a_f", "b_f"], ["y"])]
    model = make_model("fp16_uint8", nodes,
                       [value_info("a", TensorProto.FLOAT16, ["N", 3]), value_info("b", TensorProto.UINT8, ["N", 3])],
                       [value_info("y", TensorProto.FLOAT, ["N", 3])], [])
    a3 = np.array([[0.5, -1.25, 1024.0], [65504.0, -0.0009765625, 3.140625], [-65504.0, 0.0, 2.5]], np.float16)
    b3 = np.array([[0, 1, 255], [128, 7, 254], [255, 0, 42]], np.uint8)
    save("fp16_uint8", model, "symbolic", [("n1", {"a": a3[:1], "b": b3[:1]}), ("n3", {"a": a3, "b": b3})])


def int8_int16():
    """a INT8 [N, 2] + b INT16 [N, 2], both Cast to FP32 -> y FP32 [N, 2]."""
    nodes = [helper.make_node("Cast", ["a"], ["a_f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["b"], ["b_f"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["a_f", "b_f"], ["y"])]
    model = make_model("int8_int16", nodes,
                       [value_info("a", TensorProto.INT8, ["N", 2]), value_info("b", TensorProto.INT16, ["N", 2])],
                       [value_info("y", TensorProto.FLOAT, ["N", 2])], [])
    a3 = np.array([[-128, 127], [0, -1], [5, 100]], np.int8)
    b3 = np.array([[-32768, 32767], [300, -300], [0, 1]], np.int16)
    save("int8_int16", model, "symbolic", [("n1", {"a": a3[:1], "b": b3[:1]}), ("n3", {"a": a3, "b": b3})])


def bool_rank0():
    """x FP32 [N, 4] > threshold FP32 [] (rank 0, one value per request) -> y BOOL [N, 4]."""
    nodes = [helper.make_node("Greater", ["x", "threshold"], ["y"])]
    model = make_model("bool_rank0", nodes,
                       [value_info("x", TensorProto.FLOAT, ["N", 4]), value_info("threshold", TensorProto.FLOAT, [])],
                       [value_info("y", TensorProto.BOOL, ["N", 4])], [])
    x3 = np.array([[0.0, 0.5, 0.75, 1.0], [-1.0, 0.25, 0.5, 2.0], [0.5, 0.5, 0.625, -0.5]], np.float32)
    save("bool_rank0", model, "symbolic", [("n1", {"x": x3[:1], "threshold": np.array(0.5, np.float32)}),
                                           ("n3", {"x": x3, "threshold": np.array(0.5, np.float32)})])


def fp64_int32_bool():
    """The other element types, as inputs and outputs: d FP64 [N, 2], i INT32 [N, 2], flag BOOL
    [N, 2] -> sum FP64 [N, 2] (d + i), half FP16 [N, 2] (d as FP16), twice INT32 [N, 2] (i * 2),
    chosen FP64 [N, 2] (flag ? d : i), negated BOOL [N, 2] (not flag)."""
    nodes = [
        helper.make_node("Cast", ["i"], ["i_d"], to=TensorProto.DOUBLE),
        helper.make_node("Add", ["d", "i_d"], ["sum"]),
        helper.make_node("Cast", ["d"], ["half"], to=TensorProto.FLOAT16),
        helper.make_node("Mul", ["i", "two"], ["twice"]),
        helper.make_node("Where", ["flag", "d", "i_d"], ["chosen"]),
        helper.make_node("Not", ["flag"], ["negated"]),
    ]
    model = make_model("fp64_int32_bool", nodes,
                       [value_info("d", TensorProto.DOUBLE, ["N", 2]), value_info("i", TensorProto.INT32, ["N", 2]),
                        value_info("flag", TensorProto.BOOL, ["N", 2])],
                       [value_info("sum", TensorProto.DOUBLE, ["N", 2]), value_info("half", TensorProto.FLOAT16, ["N", 2]),
                        value_info("twice", TensorProto.INT32, ["N", 2]), value_info("chosen", TensorProto.DOUBLE, ["N", 2]),
                        value_info("negated", TensorProto.BOOL, ["N", 2])],
                       [const("two", 2, np.int32)])
    # 0.1 and 12345.678 are not exact in FP16: `half` holds the rounded values (0.0999755859375,
    # 12344.0); nothing overflows FP16 (JSON has no infinity).
    d3 = np.array([[0.1, -2.5], [12345.678, 0.0], [3.0, -1e-3]], np.float64)
    i3 = np.array([[-2147483648 // 4, 2147483647 // 4], [7, -7], [0, 1]], np.int32)
    flag3 = np.array([[True, False], [False, True], [True, True]])
    save("fp64_int32_bool", model, "symbolic",
         [("n1", {"d": d3[:1], "i": i3[:1], "flag": flag3[:1]}), ("n3", {"d": d3, "i": i3, "flag": flag3})])


# --- The fixed batch of 2 already in the repo ------------------------------------------------

def linear_fixed_k():
    """tests/fixtures/linear_f32_fixed2x4.onnx (input [2, 4], output [2, 3]) is not copied; its
    answers for the one request it takes (exactly 2 items) are recorded here."""
    path = FIXTURES / "linear_f32_fixed2x4.onnx"
    model = onnx.load(path)
    sess = session(path)
    x = np.array([[1.0, 2.0, 3.0, 4.0], [-0.5, 0.25, 0.0, 8.0]], np.float32)
    try:
        sess.run(None, {model.graph.input[0].name: x[:1]})
        raise AssertionError("onnxruntime ran a fixed-2 model on 1 item")
    except Exception as error:
        refusal = message(error)
    fixture = {
        "model": "../linear_f32_fixed2x4.onnx",
        "batch": "fixed2",
        "inputs": declared(model.graph.input),
        "outputs": declared(model.graph.output),
        "cases": run_cases(sess, [("n2", {model.graph.input[0].name: x})], per_item=False),
        "onnxruntime_with_1_item": refusal,
    }
    (OUT / "linear_f32_fixed2x4.json").write_text(json.dumps(fixture, allow_nan=False) + "\n")
    print(f"linear_f32_fixed2x4.json: answers for ../{path.name}")


def lrn_cnn():
    """Conv 3x3 (3 -> 8 channels) -> Relu -> LRN (size 5, as AlexNet's) -> MaxPool 2x2 -> LRN
    (size 3) -> LRN (size 9, past the 8 channels on both sides) -> Flatten -> Gemm, symbolic batch:
    the server runs its own LRN. (onnxruntime refuses even sizes; the unit tests cover them.)"""
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("LRN", ["relu"], ["norm1"], size=5, alpha=0.5, beta=0.75, bias=1.0),
        helper.make_node("MaxPool", ["norm1"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("LRN", ["pool"], ["norm2"], size=3, alpha=0.2, beta=0.6, bias=2.0),
        helper.make_node("LRN", ["norm2"], ["norm3"], size=9, alpha=1.5, beta=1.2, bias=0.5),
        helper.make_node("Flatten", ["norm3"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"]),
    ]
    weights = [weight("conv.weight", [8, 3, 3, 3]), weight("conv.bias", [8], 0.1),
               weight("fc.weight", [8 * 4 * 4, CLASSES], 0.1), weight("fc.bias", [CLASSES], 0.1)]
    model = make_model("lrn_cnn", nodes,
                       [value_info("image", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
                       [value_info("logits", TensorProto.FLOAT, ["N", CLASSES])], weights)
    three = images(3)
    save("lrn_cnn", model, "symbolic", [("n1", {"image": three[:1]}), ("n3", {"image": three})])


def check_all():
    """Every model loads in onnxruntime and answers its fixture again, exactly."""
    for path in sorted(OUT.glob("*.json")):
        fixture = json.loads(path.read_text())
        model_path = (OUT / fixture["model"]).resolve()
        assert model_path.stat().st_size < 1 << 20, model_path
        sess = session(model_path)
        dtypes = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT8": np.int8, "UINT8": np.uint8,
                  "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "BOOL": bool}
        for case in fixture["cases"]:
            feeds = {k: np.array(v["data"], dtype=dtypes[v["datatype"]]).reshape(v["shape"])
                     for k, v in case["inputs"].items()}
            for k, v in case["inputs"].items():
                assert np.array_equal(np.array(v["data"], dtype=np.float64).reshape(v["shape"]),
                                      feeds[k].astype(np.float64)), f"{path.name} {k} is not exact"
            again = run_cases(sess, [(case["name"], feeds)], per_item=case["runs"] == "per_item")[0]
            assert again["outputs"] == case["outputs"], f"{path.name} {case['name']}"
    print("all fixtures load and answer again")


def main():
    cnn_models()
    sequence_rank3()
    tiny_bert()
    fp16_uint8()
    int8_int16()
    bool_rank0()
    fp64_int32_bool()
    linear_fixed_k()
    lrn_cnn()
    check_all()


if __name__ == "__main__":
    main()
