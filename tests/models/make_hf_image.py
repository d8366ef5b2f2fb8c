"""The image test models and images (issue 24, SPEC 10): a small CNN built with onnx.helper
(opset 17, seeded weights) beside a Hugging Face `preprocessor_config.json` and `config.json`,
images generated here in every format the server reads, the tensors the `transformers` slow
(Pillow) image processors make of them, and onnxruntime's answers. Re-runnable and deterministic;
CI uses the saved files. No torch: the processors' Pillow backend needs none.

    python3 -m venv target/hf-venv && target/hf-venv/bin/pip install -r tests/models/requirements-hf.txt
    target/hf-venv/bin/python tests/models/make_hf_image.py

Writes tests/fixtures/hf_image/:
    cnn/model.onnx, cnn/preprocessor_config.json, cnn/config.json   (NCHW [N, 3, 16, 16], CLIP-style)
    nhwc/model.onnx, nhwc/preprocessor_config.json                  (NHWC [N, 16, 16, 3], ViT-style)
    dynamic/model.onnx, dynamic/preprocessor_config.json            (NCHW [N, 3, H, W], ViT-style)
    images/<name>.<ext>                                              the request images
    expected.json: {"configs": {"<config>": {preprocessor fields}},
                    "tensors": [{"image", "config", "shape", "data": flat floats}],
                    "answers": {"<image>": {"logits": [...], "probs": [...]}   (cnn model),
                                "dynamic": {"<image>": [logits]}}}                   (dynamic model)
"""

import base64
import io
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageOps
from transformers import CLIPImageProcessorPil, ConvNextImageProcessorPil, ViTImageProcessorPil

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "hf_image"
RNG = np.random.default_rng(24)
SIDE = 16
LABELS = ["cat", "dog", "bird"]

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CONFIGS = {
    # The shortest edge to 20 with Pillow's bicubic, then a 16x16 center crop (CLIP's steps).
    "clip": (CLIPImageProcessorPil, {
        "image_processor_type": "CLIPImageProcessor", "do_resize": True,
        "size": {"shortest_edge": 20}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": SIDE, "width": SIDE}, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN,
        "image_std": CLIP_STD, "do_convert_rgb": True}),
    # Warped to 16x16 with bilinear (ViT's steps).
    "vit": (ViTImageProcessorPil, {
        "image_processor_type": "ViTImageProcessor", "do_resize": True,
        "size": {"height": SIDE, "width": SIDE}, "resample": 2, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5]}),
    # ConvNeXT's crop_pct: the shortest edge to 16 / 0.875 = 18, then a 16x16 crop.
    "convnext": (ConvNextImageProcessorPil, {
        "image_processor_type": "ConvNextImageProcessor", "do_resize": True,
        "size": {"shortest_edge": SIDE}, "crop_pct": 0.875, "resample": 3, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225]}),
}


def smooth(width, height, seed):
    """A smooth picture (gradients and a disc): JPEG keeps it close, so decoders agree."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 127 + 100 * np.sin(x / (5 + seed) + y / 9)
    g = 255 * x / max(width - 1, 1)
    b = np.where((x - width / 3) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 3) ** 2, 220, 40)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def save(image, name, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    (OUT / "images" / name).write_bytes(buffer.getvalue())
    return name


def make_images():
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(smooth(48, 40, 1))
    names = [
        save(rgb, "rgb.png", "PNG"),
        save(Image.fromarray(smooth(40, 52, 2)), "tall.png", "PNG"),
        save(rgb.convert("L"), "gray.png", "PNG"),
        save(Image.fromarray(np.dstack([smooth(48, 40, 3), np.full((40, 48), 128, np.uint8)]), "RGBA"),
             "rgba.png", "PNG"),
        save(rgb, "rgb.jpg", "JPEG", quality=95),
        save(rgb, "rgb.webp", "WEBP", lossless=True),
        save(rgb, "rgb.bmp", "BMP"),
        save(rgb.quantize(64), "rgb.gif", "GIF"),
    ]
    # Stored sideways with EXIF orientation 6 (rotate 90 clockwise to show): upright it is 48x40.
    exif = Image.Exif()
    exif[0x0112] = 6
    names.append(save(rgb.transpose(Image.Transpose.ROTATE_90), "exif6.jpg", "JPEG", quality=95, exif=exif))
    # The docs' example: small enough to write its base64 inline.
    save(Image.fromarray(smooth(8, 6, 5)), "tiny.png", "PNG")
    # The benchmark's photo-sized JPEG (not in expected.json: only its size matters).
    save(Image.fromarray(smooth(640, 480, 4)), "photo640x480.jpg", "JPEG", quality=85)
    return names


def load(name):
    """As transformers' load_image: EXIF orientation applied, then RGB."""
    return ImageOps.exif_transpose(Image.open(OUT / "images" / name)).convert("RGB")


def cnn(layout):
    """Conv 3->4 (3x3) -> Relu -> global average pool -> Gemm to 3 logits."""
    shape = {"nchw": ["N", 3, SIDE, SIDE], "nhwc": ["N", SIDE, SIDE, 3], "dynamic": ["N", 3, "H", "W"]}[layout]
    nodes, inputs = [], "pixel_values"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [inputs], ["nchw"], perm=[0, 3, 1, 2]))
        inputs = "nchw"
    w = numpy_helper.from_array((RNG.normal(size=(4, 3, 3, 3)) * 0.5).astype(np.float32), "w")
    b = numpy_helper.from_array((RNG.normal(size=(4,)) * 0.1).astype(np.float32), "b")
    fw = numpy_helper.from_array((RNG.normal(size=(4, 3)) * 1.0).astype(np.float32), "fw")
    fb = numpy_helper.from_array((RNG.normal(size=(3,)) * 0.1).astype(np.float32), "fb")
    nodes += [
        helper.make_node("Conv", [inputs, "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, f"hf_image_{layout}",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        [w, b, fw, fb])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model(folder, layout, config, with_labels):
    (OUT / folder).mkdir(parents=True, exist_ok=True)
    onnx.save(cnn(layout), OUT / folder / "model.onnx")
    (OUT / folder / "preprocessor_config.json").write_text(json.dumps(CONFIGS[config][1], indent=2) + "\n")
    if with_labels:
        config_json = {"architectures": ["TinyCnnForImageClassification"],
                       "id2label": {str(i): label for i, label in enumerate(LABELS)},
                       "label2id": {label: i for i, label in enumerate(LABELS)}}
        (OUT / folder / "config.json").write_text(json.dumps(config_json, indent=2) + "\n")


def main():
    names = make_images()
    write_model("cnn", "nchw", "clip", True)
    write_model("nhwc", "nhwc", "vit", False)
    # Height and width symbolic: the size comes from the steps (ViT's 16x16).
    write_model("dynamic", "dynamic", "vit", False)
    tensors = []
    for config, (processor_type, fields) in CONFIGS.items():
        processor = processor_type(**{k: v for k, v in fields.items() if k != "image_processor_type"})
        for name in names if config == "clip" else ["rgb.png", "tall.png", "rgb.jpg"]:
            pixels = processor(load(name), return_tensors="np")["pixel_values"][0]
            tensors.append({"image": name, "config": config, "shape": list(pixels.shape),
                            "data": [round(float(v), 6) for v in pixels.reshape(-1)]})
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(OUT / "cnn" / "model.onnx"), options, providers=["CPUExecutionProvider"])
    answers = {}
    for t in tensors:
        if t["config"] != "clip":
            continue
        x = np.array(t["data"], np.float32).reshape([1] + t["shape"])
        logits = session.run(None, {"pixel_values": x})[0][0]
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        answers[t["image"]] = {"logits": [float(v) for v in logits], "probs": [float(v) for v in probs]}
    dynamic = ort.InferenceSession(str(OUT / "dynamic" / "model.onnx"), options, providers=["CPUExecutionProvider"])
    for t in tensors:
        if t["config"] == "vit":
            x = np.array(t["data"], np.float32).reshape([1] + t["shape"])
            answers.setdefault("dynamic", {})[t["image"]] = [float(v) for v in dynamic.run(None, {"pixel_values": x})[0][0]]
    expected = {"configs": {k: v[1] for k, v in CONFIGS.items()}, "labels": LABELS,
                "tensors": tensors, "answers": answers}
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")
    for name in names:
        print(name, len((OUT / "images" / name).read_bytes()), "bytes")


if __name__ == "__main__":
    main()
