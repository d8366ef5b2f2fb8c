"""The KServe SDK's gRPC client (kserve.InferenceGRPCClient) against aml-scorer: runs one call and
prints what the client returned as JSON (the REST shapes), for the Rust tests to compare with
REST's answers. A process of its own: the SDK's generated protos clash with tritonclient.grpc's.

    kserve_grpc.py ADDR health MODEL
    kserve_grpc.py ADDR infer MODEL REQUEST_JSON

REQUEST_JSON is a KServe V2 JSON inference request; the SDK sends its tensors in the typed
`contents` fields (FP16, which has none, in `raw_input_contents`). An error prints
{"error": {"code": "StatusCode.X", "message": ...}}: the client's exception, as a user sees it.
"""

import asyncio
import json
import sys

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.infer_type import RequestedOutput


def flat(data):
    if isinstance(data, list):
        return [leaf for item in data for leaf in flat(item)]
    return [data]


def infer_input(tensor):
    leaves = flat(tensor["data"])
    shape = tensor["shape"]
    if tensor["datatype"] == "FP16":
        infer_input = InferInput(tensor["name"], shape, "FP16")
        infer_input.set_data_from_numpy(np.array(leaves, dtype=np.float16).reshape(shape))
        return infer_input
    return InferInput(tensor["name"], shape, tensor["datatype"], data=leaves)


def plain(values):
    """An output array as JSON values: text for BYTES, Python numbers and bools."""
    return [v.decode() if isinstance(v, bytes) else v for v in np.asarray(values).reshape(-1).tolist()]


def error(rpc_error):
    return {"error": {"code": str(rpc_error.code()), "message": rpc_error.details()}}


async def health(client, model):
    try:
        return {
            "live": await client.is_server_live(),
            "ready": await client.is_server_ready(),
            "model_ready": await client.is_model_ready(model),
        }
    except grpc.RpcError as e:
        return error(e)


async def infer(client, model, request):
    outputs = [RequestedOutput(o["name"]) for o in request.get("outputs", [])]
    infer_request = InferRequest(
        model_name=model,
        infer_inputs=[infer_input(tensor) for tensor in request["inputs"]],
        request_id=request.get("id"),
        request_outputs=outputs or None,
    )
    try:
        response = await client.infer(infer_request)
    except grpc.RpcError as e:
        return error(e)
    return {
        "model_name": response.model_name,
        "id": response.id,
        "outputs": [
            {
                "name": output.name,
                "datatype": output.datatype,
                "shape": list(output.shape),
                "data": plain(output.as_numpy()),
            }
            for output in response.outputs
        ],
    }


async def main():
    addr, command, model = sys.argv[1:4]
    # No retries: a test sees each answer as the server gave it.
    client = InferenceGRPCClient(addr, channel_args=[("grpc.enable_retries", 0)], timeout=30)
    try:
        if command == "health":
            answer = await health(client, model)
        elif command == "infer":
            answer = await infer(client, model, json.loads(sys.argv[4]))
        else:
            sys.exit(f"unknown command {command}")
    finally:
        await client.close()
    print(json.dumps(answer))


if __name__ == "__main__":
    asyncio.run(main())
