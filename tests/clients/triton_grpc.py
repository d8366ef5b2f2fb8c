"""Triton's gRPC client (tritonclient.grpc) against aml-scorer: runs one call and prints what the
client returned as JSON (the REST shapes), for the Rust tests to compare with REST's answers.

    triton_grpc.py ADDR health MODEL
    triton_grpc.py ADDR infer MODEL REQUEST_JSON [TIMEOUT_S [COMPRESSION]]

REQUEST_JSON is a KServe V2 JSON inference request (nested or flat `data`); it is sent as
tritonclient sends every tensor, in `raw_input_contents`. An error prints
{"error": {"code": "StatusCode.X", "message": ...}}: the client's exception, as a user sees it.
TIMEOUT_S `-` is none; COMPRESSION (`gzip`, `deflate`) is the client's `compression_algorithm`.
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

NUMPY = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}


def flat(data):
    if isinstance(data, list):
        return [leaf for item in data for leaf in flat(item)]
    return [data]


def array(tensor):
    leaves = flat(tensor["data"])
    if tensor["datatype"] == "BYTES":
        values = np.array([leaf.encode() for leaf in leaves], dtype=np.object_)
    else:
        values = np.array(leaves, dtype=NUMPY[tensor["datatype"]])
    return values.reshape(tensor["shape"])


def plain(values):
    """An output array as JSON values: text for BYTES, Python numbers and bools."""
    return [v.decode() if isinstance(v, bytes) else v for v in values.reshape(-1).tolist()]


def error(exception):
    return {"error": {"code": str(exception.status()), "message": exception.message()}}


def shapes_as_ints(metadata):
    for tensor in metadata.get("inputs", []) + metadata.get("outputs", []):
        tensor["shape"] = [int(d) for d in tensor.get("shape", [])]
    return metadata


def health(client, model):
    answer = {"live": client.is_server_live(), "ready": client.is_server_ready()}
    answer["server_metadata"] = client.get_server_metadata(as_json=True)
    try:
        answer["model_ready"] = client.is_model_ready(model)
        answer["model_metadata"] = shapes_as_ints(client.get_model_metadata(model, as_json=True))
    except InferenceServerException as e:
        answer["model_error"] = error(e)["error"]
    return answer


def infer(client, model, request, timeout, compression=None):
    inputs = []
    for tensor in request["inputs"]:
        values = array(tensor)
        infer_input = grpcclient.InferInput(tensor["name"], list(values.shape), tensor["datatype"])
        infer_input.set_data_from_numpy(values)
        inputs.append(infer_input)
    outputs = [grpcclient.InferRequestedOutput(o["name"]) for o in request.get("outputs", [])]
    try:
        result = client.infer(
            model,
            inputs,
            outputs=outputs or None,
            request_id=request.get("id", ""),
            client_timeout=timeout,
            compression_algorithm=compression,
        )
    except InferenceServerException as e:
        return error(e)
    response = result.get_response()
    return {
        "model_name": response.model_name,
        "id": response.id,
        "outputs": [
            {
                "name": output.name,
                "datatype": output.datatype,
                "shape": list(output.shape),
                "data": plain(result.as_numpy(output.name)),
            }
            for output in response.outputs
        ],
    }


def main():
    addr, command, model = sys.argv[1:4]
    client = grpcclient.InferenceServerClient(url=addr)
    if command == "health":
        answer = health(client, model)
    elif command == "infer":
        timeout = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "-" else None
        compression = sys.argv[6] if len(sys.argv) > 6 else None
        answer = infer(client, model, json.loads(sys.argv[4]), timeout, compression)
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
