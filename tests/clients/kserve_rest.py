"""Drives aml-scorer's KServe V2 REST inference with the KServe SDK's REST client
(`kserve.InferenceRESTClient`, protocol v2), as users call it: JSON inputs (its default), binary
inputs, outputs asked for in binary, and its httpx transport asking for gzip answers.

    kserve_rest.py http://HOST:PORT tensors FIXTURE.json   every case of a tests/fixtures/tensors fixture
    kserve_rest.py http://HOST:PORT errors MODEL           refusals surface as httpx.HTTPStatusError

Binary answers must equal the JSON answers exactly, and those onnxruntime's within 1e-5. Exits
non-zero with the reason on a mismatch.
"""

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.utils.numpy_codec import to_np_dtype


def as_array(datatype, data):
    if datatype == "BYTES":
        return np.array(data, dtype=np.object_)
    return np.array(data, dtype=to_np_dtype(datatype))


async def call(client, url, model, tensors, binary_inputs, binary_outputs, outputs):
    inputs = []
    for name, (datatype, array) in tensors.items():
        tensor = InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=name in binary_inputs)
        inputs.append(tensor)
    requested = [RequestedOutput(name, parameters={"binary_data": binary_outputs}) for name in outputs]
    headers = {}
    response = await client.infer(
        url, InferRequest(model, inputs, request_outputs=requested), model_name=model, response_headers=headers
    )
    framed = "inference-header-content-length" in headers
    assert framed == binary_outputs, f"binary_outputs={binary_outputs} but headers {headers}"
    return {output.name: (output.datatype, output.as_numpy()) for output in response.outputs}


async def tensors_mode(client, url, fixture_path):
    fixture = json.load(open(fixture_path))
    model = fixture["model"].rsplit("/", 1)[-1].removesuffix(".onnx")
    calls = 0
    for case in fixture["cases"]:
        tensors = {n: (t["datatype"], as_array(t["datatype"], t["data"])) for n, t in case["inputs"].items()}
        outputs = list(case["outputs"])
        # The SDK refuses FP16 as JSON: those inputs go in binary whatever the call.
        half = {n for n, (datatype, _) in tensors.items() if datatype == "FP16"}
        reference = await call(client, url, model, tensors, half, False, outputs)
        for name, tensor in case["outputs"].items():
            datatype, got = reference[name]
            want = as_array(tensor["datatype"], tensor["data"])
            assert datatype == tensor["datatype"], f"{name}: {datatype}"
            assert got.shape == want.shape, f"{name}: {got.shape} vs {want.shape}"
            if np.issubdtype(want.dtype, np.floating):
                assert np.allclose(got, want, rtol=1e-5, atol=1e-5), f"{name}: {got} vs {want}"
            else:
                assert np.array_equal(got, want), f"{name}: {got} vs {want}"
        for binary_inputs in [set(tensors), half]:
            answer = await call(client, url, model, tensors, binary_inputs, True, outputs)
            calls += 1
            for name, (datatype, want) in reference.items():
                got_type, got = answer[name]
                assert (got_type, got.dtype, got.shape) == (datatype, want.dtype, want.shape), (
                    f"{name}: {got_type} {got.dtype} {got.shape} vs {datatype} {want.dtype} {want.shape}"
                )
                assert got.tobytes() == want.tobytes(), f"{name}: {got} vs {want}"
        calls += 1
    print(f"{model}: {len(fixture['cases'])} cases, {calls} calls")


async def errors_mode(client, url, model):
    metadata = httpx.get(f"{url}/v2/models/{model}").json()
    spec = metadata["inputs"][0]
    wide = np.ones((2, spec["shape"][1] + 1), dtype=to_np_dtype(spec["datatype"]))
    tensor = InferInput(spec["name"], list(wide.shape), spec["datatype"])
    tensor.set_data_from_numpy(wide, binary_data=True)
    try:
        await client.infer(url, InferRequest(model, [tensor]), model_name=model)
    except httpx.HTTPStatusError as error:
        assert error.response.status_code == 400, error
        assert f"does not fit the model's [-1, {spec['shape'][1]}]" in str(error), str(error)
        print(f"{model}: {error}")
        return
    raise AssertionError("no error for a tensor of the wrong shape")


async def main():
    url, mode, arg = sys.argv[1:4]
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
    await {"tensors": tensors_mode, "errors": errors_mode}[mode](client, url, arg)


if __name__ == "__main__":
    asyncio.run(main())
