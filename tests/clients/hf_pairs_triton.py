"""Triton's clients sending sentence pairs to a text model as two BYTES inputs, `text` and
`text_pair` (tritonclient.http with the binary extension, tritonclient.grpc with
raw_input_contents), and texts alone (no `text_pair`) over gRPC. Prints
{"http": {output: values}, "grpc": {...}, "grpc_single": {...}} as JSON for the Rust tests to
compare with transformers' ids and onnxruntime's logits.

    hf_pairs_triton.py HTTP_ADDR GRPC_ADDR MODEL PAIRS_JSON
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

OUTPUTS = ["logits", "token_ids", "type_ids"]


def infer(module, addr, model, columns):
    client = module.InferenceServerClient(addr)
    inputs = []
    for name, texts in columns.items():
        tensor = module.InferInput(name, [len(texts)], "BYTES")
        array = np.array([t.encode() for t in texts], dtype=np.object_)
        if module is httpclient:
            tensor.set_data_from_numpy(array, binary_data=True)
        else:
            tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    outputs = [module.InferRequestedOutput(name) for name in OUTPUTS]
    result = client.infer(model, inputs, outputs=outputs)
    return {name: result.as_numpy(name).tolist() for name in OUTPUTS}


def main():
    http_addr, grpc_addr, model, pairs = sys.argv[1:]
    pairs = json.loads(pairs)
    columns = {"text": [p[0] for p in pairs], "text_pair": [p[1] for p in pairs]}
    print(json.dumps({
        "http": infer(httpclient, http_addr, model, columns),
        "grpc": infer(grpcclient, grpc_addr, model, columns),
        "grpc_single": infer(grpcclient, grpc_addr, model, {"text": columns["text"]}),
    }))


if __name__ == "__main__":
    main()
