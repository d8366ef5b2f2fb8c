"""Triton's clients (tritonclient.http with the binary extension, tritonclient.grpc with
raw_input_contents) sending image files as they are, raw bytes in a BYTES tensor, to an image
model: prints {"http": logits, "grpc": logits} as JSON for the Rust tests to compare with
onnxruntime's.

    hf_image_triton.py HTTP_ADDR GRPC_ADDR MODEL IMAGE...
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient


def main():
    http_addr, grpc_addr, model, *paths = sys.argv[1:]
    images = np.array([open(path, "rb").read() for path in paths], dtype=np.object_)
    answers = {}
    for name, module, addr in (("http", httpclient, http_addr), ("grpc", grpcclient, grpc_addr)):
        client = module.InferenceServerClient(addr)
        tensor = module.InferInput("image", [len(paths)], "BYTES")
        if name == "http":
            tensor.set_data_from_numpy(images, binary_data=True)
        else:
            tensor.set_data_from_numpy(images)
        answers[name] = client.infer(model, [tensor]).as_numpy("logits").tolist()
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
