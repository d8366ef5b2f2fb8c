"""Drives aml-scorer's KServe V2 REST inference with the KServe SDK's REST client
(`kserve.InferenceRESTClient`, protocol v2), as users call it: JSON inputs (its default), binary
inputs, outputs asked for in binary, and its httpx transport asking for gzip answers.

    kserve_rest.py http://HOST:PORT tensors FIXTURE.json   every case of a tests/fixtures/tensors fixture
    kserve_rest.py http://HOST:PORT tabular FIXTURE.json   the rows of a tests/fixtures/tabular fixture
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


def comparable(array):
    """Strings as str whichever way they came (JSON gives str, binary gives bytes)."""
    if array.dtype == np.object_:
        return np.vectorize(lambda s: s.decode() if isinstance(s, bytes) else s, otypes=[object])(array)
    return array


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
    return {output.name: (output.datatype, comparable(output.as_numpy())) for output in response.outputs}


async def check_every_way(client, url, model, tensors, expected):
    """JSON and binary inputs, JSON and binary outputs: the same answer, and onnxruntime's."""
    outputs = list(expected)
    # The SDK refuses FP16 as JSON: those inputs go in binary whatever the call.
    half = {n for n, (datatype, _) in tensors.items() if datatype == "FP16"}
    reference = await call(client, url, model, tensors, half, False, outputs)
    for name, (datatype, want) in expected.items():
        got_type, got = reference[name]
        assert got_type == datatype, f"{name}: {got_type} vs {datatype}"
        assert got.shape == want.shape, f"{name}: {got.shape} vs {want.shape}"
        if np.issubdtype(want.dtype, np.floating):
            assert np.allclose(got, want, rtol=1e-5, atol=1e-5), f"{name}: {got} vs {want}"
        else:
            assert np.array_equal(got, want), f"{name}: {got} vs {want}"
    for binary_inputs in [set(tensors), half]:
        answer = await call(client, url, model, tensors, binary_inputs, True, outputs)
        for name, (datatype, want) in reference.items():
            got_type, got = answer[name]
            assert (got_type, got.dtype, got.shape) == (datatype, want.dtype, want.shape), (
                f"{name}: {got_type} {got.dtype} {got.shape} vs {datatype} {want.dtype} {want.shape}"
            )
            if got.dtype == np.object_:
                assert np.array_equal(got, want), f"{name}: {got} vs {want}"
            else:
                assert got.tobytes() == want.tobytes(), f"{name}: {got} vs {want}"
    return 3


async def tensors_mode(client, url, fixture_path):
    fixture = json.load(open(fixture_path))
    model = fixture["model"].rsplit("/", 1)[-1].removesuffix(".onnx")
    calls = 0
    for case in fixture["cases"]:
        tensors = {n: (t["datatype"], as_array(t["datatype"], t["data"])) for n, t in case["inputs"].items()}
        expected = {n: (t["datatype"], as_array(t["datatype"], t["data"])) for n, t in case["outputs"].items()}
        calls += await check_every_way(client, url, model, tensors, expected)
    print(f"{model}: {len(fixture['cases'])} cases, {calls} calls")


async def tabular_mode(client, url, fixture_path):
    """One input per column (FP32, INT64, BYTES, BOOL), or one matrix; every output."""
    fixture = json.load(open(fixture_path))
    model = fixture_path.rsplit("/", 1)[-1].removesuffix(".json")
    metadata = httpx.get(f"{url}/v2/models/{model}").json()
    rows = fixture["rows"]
    tensors = {}
    for index, spec in enumerate(metadata["inputs"]):
        data = rows if len(metadata["inputs"]) == 1 else [[row[index]] for row in rows]
        array = as_array(spec["datatype"], data)
        if spec["datatype"] == "BYTES":
            array = np.vectorize(str.encode, otypes=[object])(array)
        tensors[spec["name"]] = (spec["datatype"], array.reshape(-1) if len(spec["shape"]) == 1 else array)
    expected = {}
    for spec in metadata["outputs"]:
        shape = [len(rows)] + spec["shape"][1:]
        expected[spec["name"]] = (spec["datatype"], as_array(spec["datatype"], fixture["outputs"][spec["name"]]).reshape(shape))
    calls = await check_every_way(client, url, model, tensors, expected)
    print(f"{model}: {len(rows)} rows, {calls} calls")


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
    await {"tensors": tensors_mode, "tabular": tabular_mode, "errors": errors_mode}[mode](client, url, arg)


if __name__ == "__main__":
    asyncio.run(main())
