"""The Hugging Face text fixtures (issue 24, SPEC 10): a WordPiece tokenizer (`tokenizers`) whose
vocabulary (150 tokens) is learnt here from a small corpus, and two tiny BERT-style encoders
written with onnx.helper (opset 17, seeded weights): a classifier (`logits [N, 3]`, config.json with id2label) and an embedder
(`last_hidden_state [N, T, H]`). The expected token ids come from the Python `tokenizers`
package, the expected answers from onnxruntime. Re-runnable and deterministic; CI uses the saved
files.

    python3 -m venv target/hf-venv && target/hf-venv/bin/pip install -r tests/models/requirements-hf.txt
    target/hf-venv/bin/python tests/models/make_hf_text.py

Writes tests/fixtures/hf_text/{classifier,embedder}/ (model.onnx, tokenizer.json,
tokenizer_config.json, config.json) and tests/fixtures/hf_text/expected.json:

    {"classifier": [{"texts": [...], "input_ids": [[...]], "attention_mask": [[...]],
                     "logits": [[...]], "labels": [[{"label", "score"}, ...]]}, ...],
     "embedder": [{"texts": [...], "input_ids": [[...]], "embeddings": [[...]]}, ...]}

`labels` holds every label of each item, best first (softmax over the logits).
`classifier_pairs` holds sentence pairs (`pairs`: [[text, text_pair], ...]) with their
`input_ids`, `token_type_ids`, `attention_mask`, `logits` and `labels`, as `transformers`'
`tokenizer(texts, text_pairs, truncation=True, padding=True)` encodes them from the folder's files
(checked equal to the `tokenizers` package's `encode_batch` of the pairs).
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "hf_text"
RNG = np.random.default_rng(24)
HIDDEN = 8
LABELS = ["negative", "neutral", "positive"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

CORPUS = [
    "the service was quick and the staff were friendly",
    "the food was cold and the waiter was rude",
    "an average meal, nothing special, fair prices",
    "I loved the dessert and would come back again",
    "terrible experience, we waited an hour for a table",
    "the room was clean, quiet and comfortable",
    "the model scores requests on Azure Machine Learning endpoints",
    "tokenizers split words into pieces that the vocabulary knows",
    "a quick brown fox jumps over the lazy dog",
    "the weather today is sunny with a light breeze",
    "prices went up again this month, sadly",
    "great coffee, friendly barista, lovely terrace",
    "the train was late and the carriage was crowded",
    "Café au lait, crème brûlée and naïve résumés",
] * 3

# Request texts: short and long (truncation), accents and case (the normalizer), words the
# vocabulary lacks (word pieces and [UNK]), punctuation.
TEXTS = [
    "the service was quick",
    "The food was COLD, and the waiter was rude!",
    "Crème brûlée at the café",
    "zyxwvut qqq ☃",
    "the room was clean quiet and comfortable and the staff were friendly and the prices were fair and the coffee was great",
]

# Sentence pairs: short ones, one whose first text is long (longest-first truncation cuts it
# alone), one where both are long (both cut), and accents in the second text.
PAIRS = [
    ["the service was quick", "the staff were friendly"],
    ["the room was clean quiet and comfortable and the staff were friendly", "great coffee"],
    ["the food was cold and the waiter was rude and we waited an hour",
     "terrible experience, the train was late and the carriage was crowded"],
    ["Café au lait", "Crème brûlée at the café"],
]


def tokenizer():
    """A WordPiece tokenizer whose vocabulary is learnt from CORPUS here: every word seen twice or
    more, every character alone and as a continuation, and common English suffixes. (The
    `tokenizers` trainer breaks ties in hash-map order, so its vocabulary changes from run to run;
    this one is the same on every run.)"""
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts = {}
    for line in CORPUS:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)):
            counts[word] = counts.get(word, 0) + 1
    chars = {c for word in counts for c in word}
    learnt = {w for w, n in counts.items() if n >= 2} | chars | {"##" + c for c in chars}
    learnt |= {"##s", "##ed", "##ing", "##ly", "##er", "##est"}
    vocab = SPECIALS + sorted(learnt - set(SPECIALS))
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return tok


def weight(name, shape, scale=0.5):
    return numpy_helper.from_array((RNG.normal(size=shape) * scale).astype(np.float32), name)


def encoder(vocab, positions, head):
    """Embeddings (word + position + type), LayerNormalization, a dense tanh layer; then either
    masked mean pooling and a classifier (`head` = number of labels) or the hidden states."""
    ints = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["N", "T"])
    inits = [
        weight("word", [vocab, HIDDEN]), weight("position", [positions, HIDDEN]),
        weight("type", [2, HIDDEN]), weight("dense_w", [HIDDEN, HIDDEN]), weight("dense_b", [HIDDEN]),
        numpy_helper.from_array(np.ones(HIDDEN, np.float32), "gamma"),
        numpy_helper.from_array(np.zeros(HIDDEN, np.float32), "beta"),
        numpy_helper.from_array(np.array(0, np.int64), "zero_s"),
        numpy_helper.from_array(np.array(1, np.int64), "one_s"),
    ]
    nodes = [
        helper.make_node("Gather", ["word", "input_ids"], ["we"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one_s"], ["t"], axis=0),
        helper.make_node("Range", ["zero_s", "t", "one_s"], ["pos"]),
        helper.make_node("Gather", ["position", "pos"], ["pe"]),
        helper.make_node("Gather", ["type", "token_type_ids"], ["te"]),
        helper.make_node("Add", ["we", "pe"], ["e1"]),
        helper.make_node("Add", ["e1", "te"], ["e2"]),
        helper.make_node("LayerNormalization", ["e2", "gamma", "beta"], ["x"], axis=-1),
        helper.make_node("MatMul", ["x", "dense_w"], ["d"]),
        helper.make_node("Add", ["d", "dense_b"], ["da"]),
        helper.make_node("Tanh", ["da"], ["hidden"]),
    ]
    if head:
        inits += [
            weight("cls_w", [HIDDEN, head], 1.5), weight("cls_b", [head]),
            numpy_helper.from_array(np.array([1], np.int64), "one_i"),
            numpy_helper.from_array(np.array([-1], np.int64), "last_axis"),
        ]
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mf", "last_axis"], ["m3"]),
            helper.make_node("Mul", ["hidden", "m3"], ["hm"]),
            helper.make_node("ReduceSum", ["hm", "one_i"], ["sum"], keepdims=0),
            helper.make_node("ReduceSum", ["m3", "one_i"], ["count"], keepdims=0),
            helper.make_node("Div", ["sum", "count"], ["pooled"]),
            helper.make_node("Gemm", ["pooled", "cls_w", "cls_b"], ["logits"]),
            # The ids as the model saw them, so tests compare the server's tokenization with
            # Python's through the model's own answer (`?outputs=token_ids`).
            helper.make_node("Identity", ["input_ids"], ["token_ids"]),
            # Likewise the segment ids of sentence pairs (`?outputs=type_ids`).
            helper.make_node("Identity", ["token_type_ids"], ["type_ids"]),
        ]
        outputs = [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", head]),
            helper.make_tensor_value_info("token_ids", TensorProto.INT64, ["N", "T"]),
            helper.make_tensor_value_info("type_ids", TensorProto.INT64, ["N", "T"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["hidden"], ["last_hidden_state"]))
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["N", "T", HIDDEN])]
    graph = helper.make_graph(
        nodes, "tiny_bert", [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        outputs, inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def encode(tok, texts, max_length):
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    encodings = tok.encode_batch(texts)
    tok.no_truncation()
    tok.no_padding()
    feed = {
        "input_ids": np.array([e.ids for e in encodings], np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
    }
    return feed


def encode_pairs(folder, tok, pairs, max_length):
    """The pairs as `transformers` encodes them with the folder's files (`truncation=True` is
    longest-first to model_max_length), checked against the `tokenizers` package's own batch."""
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(folder))
    assert hf.model_max_length == max_length, hf.model_max_length
    texts, text_pairs = [p[0] for p in pairs], [p[1] for p in pairs]
    encoded = hf(texts, text_pairs, truncation=True, padding=True, return_tensors="np")
    feed = {name: encoded[name].astype(np.int64) for name in ["input_ids", "attention_mask", "token_type_ids"]}
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    direct = tok.encode_batch([tuple(p) for p in pairs])
    tok.no_truncation()
    tok.no_padding()
    assert feed["input_ids"].tolist() == [e.ids for e in direct]
    assert feed["token_type_ids"].tolist() == [e.type_ids for e in direct]
    assert feed["attention_mask"].tolist() == [e.attention_mask for e in direct]
    return feed


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def write_folder(name, tok, model, config, tokenizer_config):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / "model.onnx")
    tok.save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    return session(folder / "model.onnx")


def main():
    tok = tokenizer()
    vocab = tok.get_vocab_size()
    bert_tokens = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "unk_token": "[UNK]", "mask_token": "[MASK]", "do_lower_case": True,
                   "tokenizer_class": "BertTokenizer"}
    # The classifier: model_max_length (16) below its position table (32).
    classifier = write_folder(
        "classifier", tok, encoder(vocab, 32, len(LABELS)),
        {"model_type": "bert", "architectures": ["BertForSequenceClassification"],
         "id2label": dict(enumerate(LABELS)), "label2id": {l: i for i, l in enumerate(LABELS)},
         "max_position_embeddings": 32, "problem_type": "single_label_classification"},
        {**bert_tokens, "model_max_length": 16},
    )
    # The embedder: no model_max_length (transformers writes its "unset" sentinel), so the
    # position table (12) bounds the length.
    embedder = write_folder(
        "embedder", tok, encoder(vocab, 12, 0),
        {"model_type": "bert", "architectures": ["BertModel"], "max_position_embeddings": 12},
        {**bert_tokens, "model_max_length": 1000000000000000019884624838656},
    )
    expected = {"classifier": [], "embedder": []}
    for texts in [TEXTS[:1], TEXTS]:
        feed = encode(tok, texts, 16)
        logits = classifier.run(["logits"], feed)[0]
        probs = softmax(logits.astype(np.float64))
        labels = [
            [{"label": LABELS[i], "score": float(p[i])} for i in np.argsort(-p, kind="stable")]
            for p in probs
        ]
        expected["classifier"].append({
            "texts": texts, "input_ids": feed["input_ids"].tolist(),
            "attention_mask": feed["attention_mask"].tolist(),
            "logits": logits.tolist(), "labels": labels,
        })
        feed = encode(tok, texts, 12)
        hidden = embedder.run(["last_hidden_state"], feed)[0].astype(np.float64)
        mask = feed["attention_mask"][..., None].astype(np.float64)
        pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        expected["embedder"].append({
            "texts": texts, "input_ids": feed["input_ids"].tolist(), "embeddings": pooled.tolist(),
        })
    expected["classifier_pairs"] = []
    for pairs in [PAIRS[:1], PAIRS]:
        feed = encode_pairs(OUT / "classifier", tok, pairs, 16)
        logits = classifier.run(["logits"], feed)[0]
        probs = softmax(logits.astype(np.float64))
        expected["classifier_pairs"].append({
            "pairs": pairs, "input_ids": feed["input_ids"].tolist(),
            "token_type_ids": feed["token_type_ids"].tolist(),
            "attention_mask": feed["attention_mask"].tolist(), "logits": logits.tolist(),
            "labels": [
                [{"label": LABELS[i], "score": float(p[i])} for i in np.argsort(-p, kind="stable")]
                for p in probs
            ],
        })
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
