use axum::http::HeaderValue;
use proptest::prelude::*;
use serde_json::{json, Value};
use tract_onnx::prelude::f16;

use super::super::InferCodec;
use super::*;
use crate::model::{Batch, Codec, ElementType, ModelSpec, PredictError, Predictions, Predictor};

mod generated;

/// A model that is only its spec: the codec decodes against it, nothing runs.
struct SpecOnly(ModelSpec);

impl Predictor for SpecOnly {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn predict(&self, _: Batch) -> Result<Predictions, PredictError> {
        Err(PredictError::engine("decoding tests run no model"))
    }
}

fn decode(body: &[u8], header_length: Option<usize>, spec: &ModelSpec) -> Result<Batch, ApiError> {
    let mut codec = InferCodec {
        model_name: "m".to_owned(),
        header_length,
        id: None,
        outputs: Vec::new(),
    };
    codec.decode(body, &SpecOnly(spec.clone()))
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(HEADER_LENGTH, HeaderValue::from_str(value).unwrap());
    }
    headers
}

#[test]
fn the_header_length_is_one_decimal_byte_count() {
    assert_eq!(header_length(&headers(&[])).unwrap(), None);
    assert_eq!(header_length(&headers(&["120"])).unwrap(), Some(120));
    assert_eq!(header_length(&headers(&[" 7 "])).unwrap(), Some(7));
    for wrong in ["abc", "-1", "+5", "", "1e3", "99999999999999999999999"] {
        let error = header_length(&headers(&[wrong])).unwrap_err();
        assert_eq!(error.status(), 400);
        let message = error.to_string();
        assert!(
            message.starts_with("Inference-Header-Content-Length must be"),
            "{message}"
        );
    }
    let twice = header_length(&headers(&["1", "2"])).unwrap_err().to_string();
    assert!(twice.contains("more than once"), "{twice}");
}

#[test]
fn a_header_length_past_the_body_is_refused() {
    assert_eq!(split(b"{}xy", Some(2)).unwrap(), (&b"{}"[..], &b"xy"[..]));
    assert_eq!(split(b"{}", None).unwrap(), (&b"{}"[..], &b""[..]));
    let error = split(b"{}", Some(3)).unwrap_err().to_string();
    assert_eq!(
        error,
        "Inference-Header-Content-Length is 3, past the end of the 2-byte body"
    );
}

/// A two-input model: `a` FP32 `[N, 2]`, `s` BYTES `[N, 1]`.
fn two_inputs() -> ModelSpec {
    let mut spec = ModelSpec::matrix(2, ElementType::F32);
    spec.inputs[0].name = "a".to_owned();
    spec.inputs
        .push(TensorSpec::matrix("s", ElementType::String, 1, false));
    spec
}

/// A request of `inputs` as JSON, then `binary` after it; its header length.
fn framed(inputs: Value, binary: &[u8]) -> (Vec<u8>, usize) {
    let mut body = json!({ "inputs": inputs }).to_string().into_bytes();
    let length = body.len();
    body.extend_from_slice(binary);
    (body, length)
}

#[test]
fn mixed_json_and_binary_inputs_decode_as_their_json_form() {
    let spec = two_inputs();
    let floats: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let (body, length) = framed(
        json!([
            { "name": "a", "shape": [1, 2], "datatype": "FP32", "parameters": { "binary_data_size": 8 } },
            { "name": "s", "shape": [1, 1], "datatype": "BYTES", "data": ["x"] },
        ]),
        &floats,
    );
    let binary = decode(&body, Some(length), &spec).unwrap();
    let (json_body, _) = framed(
        json!([
            { "name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1.5, -2] },
            { "name": "s", "shape": [1, 1], "datatype": "BYTES", "data": ["x"] },
        ]),
        &[],
    );
    let json = decode(&json_body, None, &spec).unwrap();
    assert_eq!(binary.inputs, json.inputs);
    assert_eq!(binary.rows, 1);
}

#[test]
fn sizes_that_do_not_add_up_name_the_input() {
    let spec = two_inputs();
    let input = |name: &str, datatype: &str, size: u64| {
        json!({ "name": name, "shape": [1, if name == "a" { 2 } else { 1 }], "datatype": datatype,
                "parameters": { "binary_data_size": size } })
    };
    let string = [1, 0, 0, 0, b'z'];
    let cases: Vec<(Value, Vec<u8>, &str)> = vec![
        (
            json!([input("a", "FP32", 8), input("s", "BYTES", 9)]),
            [&[0u8; 8][..], &string].concat(),
            "input \"s\" has binary_data_size 9 at byte 8 of the binary data, past its end: the body has 13 bytes",
        ),
        (
            json!([input("a", "FP32", 8), input("s", "BYTES", 5)]),
            [&[0u8; 8][..], &string, b"extra"].concat(),
            "the body has 18 bytes after the JSON header (Inference-Header-Content-Length), and the inputs' binary_data_size add up to 13",
        ),
        (
            json!([input("a", "FP32", 4), input("s", "BYTES", 9)]),
            [&[0u8; 8][..], &string].concat(),
            "input \"a\" of shape [1, 2]: the tensor holds 4 bytes of data; 2 float32 values take 8",
        ),
        (
            // A BYTES length past its own tensor, though the body goes on.
            json!([input("s", "BYTES", 5), input("a", "FP32", 8)]),
            [&[6, 0, 0, 0, b'z'][..], &[0u8; 8]].concat(),
            "input \"s\" of shape [1, 1]: the tensor has BYTES value 0 of length 6, past the 1 bytes left",
        ),
    ];
    for (inputs, binary, expected) in cases {
        let (body, length) = framed(inputs, &binary);
        let error = decode(&body, Some(length), &spec).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            error.to_string().starts_with(expected),
            "{error}\nexpected: {expected}"
        );
    }
}

#[test]
fn an_input_has_data_or_a_binary_size_not_both_nor_neither() {
    let spec = two_inputs();
    let both = json!([{ "name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1, 2],
                        "parameters": { "binary_data_size": 8 } }]);
    let neither = json!([{ "name": "a", "shape": [1, 2], "datatype": "FP32" }]);
    for (inputs, expected) in [
        (both, "input \"a\" has both data and parameters.binary_data_size"),
        (
            neither,
            "input \"a\" has neither data nor parameters.binary_data_size",
        ),
    ] {
        let (body, length) = framed(inputs, &[0; 8]);
        let error = decode(&body, Some(length), &spec).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}");
    }
    // Without the header, the whole body is JSON: a binary size points past it.
    let binary = json!([{ "name": "a", "shape": [1, 2], "datatype": "FP32", "parameters": { "binary_data_size": 8 } }]);
    let (body, _) = framed(binary, &[]);
    let error = decode(&body, None, &spec).unwrap_err().to_string();
    assert!(error.contains("past its end: the body has 0 bytes"), "{error}");
}

#[test]
fn binary_outputs_follow_the_json_header_in_their_order() {
    let spec = TensorSpec::matrix("half", ElementType::F16, 2, false);
    let half = Output {
        per_row: 2,
        values: Values::F16(vec![f16::from_bits(0x2e66), f16::NAN]),
        shape: vec![2],
    };
    let json_spec = TensorSpec::matrix("count", ElementType::I64, 1, false);
    let count = Output {
        per_row: 1,
        values: Values::I64(vec![7]),
        shape: vec![1],
    };
    let outputs = [
        AnswerTensor::Binary(binary_output(&spec, &half, 1, true)),
        AnswerTensor::Json(super::super::tensor::output_tensor(&json_spec, &count, 1, true).unwrap()),
    ];
    let framed = frame(&json!({ "outputs": &outputs }), &outputs);
    let length = framed.header_length.expect("a binary output frames the answer");
    let header: Value = serde_json::from_slice(&framed.body[..length]).unwrap();
    assert_eq!(
        header["outputs"][0],
        json!({ "name": "half", "datatype": "FP16", "shape": [1, 2], "parameters": { "binary_data_size": 4 } })
    );
    assert_eq!(header["outputs"][1]["data"], json!([7]));
    // Real FP16 bits (0x2e66 is 0.0999755859375, 0.1 in FP16), NaN included.
    assert_eq!(&framed.body[length..], &[0x66, 0x2e, 0x00, 0x7e]);
    let json_only = frame(&json!({}), &outputs[1..]);
    assert_eq!(json_only.header_length, None);
}
