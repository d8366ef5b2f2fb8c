"""Drives aml-scorer's KServe V2 REST routes with Triton's own client, `tritonclient.http`, as
users call it: inputs in the binary tensor extension (its default), as JSON and mixed; outputs in
binary (its default when a call names none) and as JSON; gzip and deflate bodies both ways.

    triton_http.py HOST:PORT tensors FIXTURE.json   every case of a tests/fixtures/tensors fixture
    triton_http.py HOST:PORT tabular FIXTURE.json   the rows of a tests/fixtures/tabular fixture
    triton_http.py HOST:PORT large MODEL            20,000 random rows, compressed both ways
    triton_http.py HOST:PORT errors MODEL           refusals surface as InferenceServerException

Every way of sending a case must answer exactly what the all-JSON call answers, and that within
1e-5 of onnxruntime's answer in the fixture. Exits non-zero with the reason on a mismatch.
"""

import itertools
import json
import sys

import numpy as np
import tritonclient.http as http
from tritonclient.utils import InferenceServerException, triton_to_np_dtype

COMPRESSIONS = [None, "gzip", "deflate"]


def as_array(datatype, data):
    if datatype == "BYTES":
        return np.array([s.encode() for s in np.array(data).ravel()], dtype=np.object_).reshape(
            np.shape(data)
        )
    return np.array(data, dtype=triton_to_np_dtype(datatype))


def comparable(array):
    """Strings as str whichever way they came (JSON gives str, binary gives bytes)."""
    if array.dtype == np.object_:
        return np.vectorize(lambda s: s.decode() if isinstance(s, bytes) else s, otypes=[object])(array)
    return array


def call(client, model, tensors, binary_inputs, binary_outputs, outputs, request_compression=None, response_compression=None):
    """One inference: `tensors` is {name: (datatype, array)}; `binary_inputs` the names sent in
    binary; `binary_outputs` None for no output named (tritonclient then asks for all in binary),
    else whether the named outputs come in binary."""
    inputs = []
    for name, (datatype, array) in tensors.items():
        tensor = http.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=name in binary_inputs)
        inputs.append(tensor)
    requested = None
    if binary_outputs is not None:
        requested = [http.InferRequestedOutput(name, binary_data=binary_outputs) for name in outputs]
    result = client.infer(
        model,
        inputs,
        outputs=requested,
        request_compression_algorithm=request_compression,
        response_compression_algorithm=response_compression,
    )
    answer = {}
    for name in outputs:
        output = result.get_output(name)
        assert output is not None, f"no output {name}: {result.get_response()}"
        in_binary = "binary_data_size" in output.get("parameters", {})
        assert in_binary == (binary_outputs is not False), f"{name} binary={in_binary}: {output}"
        answer[name] = (output["datatype"], comparable(result.as_numpy(name)))
    return answer


def check_every_way(client, model, tensors, expected):
    """Every way of sending `tensors` answers the all-JSON answer exactly, and that is onnxruntime's."""
    outputs = list(expected)
    reference = call(client, model, tensors, set(), False, outputs)
    for name, (datatype, want) in expected.items():
        got_type, got = reference[name]
        assert got_type == datatype, f"{name}: {got_type} vs {datatype}"
        assert got.shape == want.shape, f"{name}: shape {got.shape} vs {want.shape}"
        if got.dtype == np.object_ or got.dtype == np.bool_ or np.issubdtype(got.dtype, np.integer):
            assert np.array_equal(got, comparable(want)), f"{name}: {got} vs {want}"
        else:
            assert np.allclose(got, want, rtol=1e-5, atol=1e-5), f"{name}: {got} vs {want}"
    names = list(tensors)
    ways = [set(names), {n for i, n in enumerate(names) if i % 2 == 0}, set()]
    calls = 0
    for binary_inputs, binary_outputs in itertools.product(ways, [None, True, False]):
        for request_compression, response_compression in [(None, None), ("gzip", "gzip"), ("deflate", "deflate"), ("gzip", None), (None, "deflate")]:
            answer = call(client, model, tensors, binary_inputs, binary_outputs, outputs, request_compression, response_compression)
            calls += 1
            for name, (datatype, want) in reference.items():
                got_type, got = answer[name]
                context = f"{name} with inputs {sorted(binary_inputs)} in binary, outputs binary={binary_outputs}, compression {request_compression}/{response_compression}"
                assert got_type == datatype, f"{context}: {got_type} vs {datatype}"
                assert got.dtype == want.dtype, f"{context}: {got.dtype} vs {want.dtype}"
                assert got.shape == want.shape, f"{context}: {got.shape} vs {want.shape}"
                # Bit for bit: the same floats, whichever way they travelled.
                assert got.tobytes() == want.tobytes() if got.dtype != np.object_ else np.array_equal(got, want), (
                    f"{context}: {got} vs {want}"
                )
    return calls


def tensors_mode(client, fixture_path):
    fixture = json.load(open(fixture_path))
    model = fixture["model"].rsplit("/", 1)[-1].removesuffix(".onnx")
    calls = 0
    for case in fixture["cases"]:
        tensors = {n: (t["datatype"], as_array(t["datatype"], t["data"])) for n, t in case["inputs"].items()}
        expected = {n: (t["datatype"], as_array(t["datatype"], t["data"])) for n, t in case["outputs"].items()}
        calls += check_every_way(client, model, tensors, expected)
    print(f"{model}: {len(fixture['cases'])} cases, {calls} calls")


def tabular_mode(client, fixture_path):
    fixture = json.load(open(fixture_path))
    model = fixture_path.rsplit("/", 1)[-1].removesuffix(".json")
    metadata = client.get_model_metadata(model)
    rows = fixture["rows"]
    tensors = {}
    for index, spec in enumerate(metadata["inputs"]):
        if len(metadata["inputs"]) == 1:
            data = rows
        else:
            data = [[row[index]] for row in rows]
        array = as_array(spec["datatype"], data)
        if len(spec["shape"]) == 1:
            array = array.reshape(-1)
        tensors[spec["name"]] = (spec["datatype"], array)
    expected = {}
    for spec in metadata["outputs"]:
        data = fixture["outputs"][spec["name"]]
        shape = [len(rows)] + [d for d in spec["shape"][1:]]
        expected[spec["name"]] = (spec["datatype"], as_array(spec["datatype"], data).reshape(shape))
    calls = check_every_way(client, model, tensors, expected)
    print(f"{model}: {len(rows)} rows, {calls} calls")


def large_mode(client, model):
    """Answers over the compression threshold, in every coding, equal the plain JSON answer."""
    metadata = client.get_model_metadata(model)
    spec = metadata["inputs"][0]
    rows = np.random.default_rng(7).normal(size=(20_000, spec["shape"][1]))
    tensors = {spec["name"]: (spec["datatype"], rows.astype(triton_to_np_dtype(spec["datatype"])))}
    outputs = [o["name"] for o in metadata["outputs"]]
    reference = call(client, model, tensors, set(), False, outputs)
    for compression in COMPRESSIONS:
        for binary in [set(tensors), set()]:
            answer = call(client, model, tensors, binary, None, outputs, compression, compression)
            for name, (_, want) in reference.items():
                assert answer[name][1].tobytes() == want.tobytes(), f"{name} with {compression}, binary {binary}"
    print(f"{model}: {len(rows)} rows in every coding")


def expect_error(status, needle, action):
    try:
        action()
    except InferenceServerException as error:
        assert error.status() == str(status), f"status {error.status()}: {error}"
        assert needle in error.message(), f"{needle!r} not in {error.message()!r}"
        return
    raise AssertionError(f"no error; expected {status} {needle!r}")


def errors_mode(client, model):
    metadata = client.get_model_metadata(model)
    spec = metadata["inputs"][0]
    width = spec["shape"][1]
    dtype = triton_to_np_dtype(spec["datatype"])
    good = np.ones((2, width), dtype=dtype)

    def tensor(array, name=spec["name"], shape=None, cut=0):
        """`array` in binary; `shape` claimed instead of its own, `cut` bytes left off the body."""
        tensor = http.InferInput(name, shape or list(array.shape), spec["datatype"])
        tensor._raw_data = array.tobytes()
        tensor._parameters["binary_data_size"] = len(tensor._raw_data)
        tensor._raw_data = tensor._raw_data[: len(tensor._raw_data) - cut]
        return tensor

    def infer(*inputs, **options):
        return lambda: client.infer(model, list(inputs), **options)

    wide = np.ones((2, width + 1), dtype=dtype)
    expect_error(400, f"does not fit the model's [-1, {width}]", infer(tensor(wide)))
    expect_error(400, 'unknown input "nope"', infer(tensor(good, name="nope")))
    # The header says 2 rows of bytes; the body stops 3 bytes short of them.
    expect_error(400, "past its end", infer(tensor(good, cut=3)))
    expect_error(400, "past its end", infer(tensor(good, cut=3), request_compression_algorithm="gzip"))
    # The shape claims 3 rows, the bytes hold 2.
    expect_error(400, f"the tensor holds {good.nbytes} bytes of data", infer(tensor(good, shape=[3, width])))
    expect_error(404, "no model named", lambda: client.infer("nope", [tensor(good)]))
    # The server still answers after every refusal.
    answer = infer(tensor(good))()
    assert answer.as_numpy(metadata["outputs"][0]["name"]).shape[0] == 2
    print(f"{model}: errors surfaced as InferenceServerException with the server's message")


def main():
    url, mode, arg = sys.argv[1:4]
    client = http.InferenceServerClient(url=url)
    assert client.is_server_live() and client.is_server_ready()
    {"tensors": tensors_mode, "tabular": tabular_mode, "large": large_mode, "errors": errors_mode}[mode](client, arg)


if __name__ == "__main__":
    main()
