//! The KServe V2 transports real clients use over HTTP (SPEC 11): the binary tensor extension
//! (inputs after the JSON header, outputs asked for in binary, mixed with JSON), gzip and deflate
//! bodies both ways on V2 and `/score`, and Triton's and KServe's own Python clients driving it.

mod clients;
mod compression;
mod framing;

use serde_json::{json, Value};
use tract_onnx::prelude::f16;

use crate::common::*;

const TENSORS: &str = "tests/fixtures/tensors";
const TABULAR: &str = "tests/fixtures/tabular";

/// A client that shows answers as sent: no automatic decompression.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .no_deflate()
        .build()
        .expect("a plain client builds")
}

/// An answer's status, headers and body bytes.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The JSON header of a framed answer (the whole body otherwise) and the bytes after it.
    fn framed(&self) -> (Value, &[u8]) {
        let length = self
            .header("inference-header-content-length")
            .map_or(self.body.len(), |l| l.parse().unwrap());
        let json =
            serde_json::from_slice(&self.body[..length]).unwrap_or_else(|e| panic!("{e}: {}", self.text()));
        (json, &self.body[length..])
    }
}

async fn send(server: &Server, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Raw {
    let mut request = raw_client().post(server.url(path)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("the answer has a body").to_vec(),
    }
}

/// A binary request: `header` as JSON, then `binary`; the value of its length header.
fn framed(header: &Value, binary: &[u8]) -> (Vec<u8>, String) {
    let mut body = header.to_string().into_bytes();
    let length = body.len().to_string();
    body.extend_from_slice(binary);
    (body, length)
}

fn le<T: Copy, const N: usize>(values: &[T], to_le: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_le(v)).collect()
}

fn flat(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        leaf => vec![leaf.clone()],
    }
}

/// The fp64_int32_bool case `n3` as raw bytes: `d` FP64, `i` INT32, `flag` BOOL.
fn n3_raw(case: &Value) -> [(Vec<u8>, Vec<Value>); 3] {
    let values = |name: &str| flat(&case["inputs"][name]["data"]);
    let d: Vec<f64> = values("d").iter().map(|v| v.as_f64().unwrap()).collect();
    let i: Vec<i32> = values("i").iter().map(|v| v.as_i64().unwrap() as i32).collect();
    let flag: Vec<u8> = values("flag")
        .iter()
        .map(|v| u8::from(v.as_bool().unwrap()))
        .collect();
    [
        (le(&d, f64::to_le_bytes), values("d")),
        (le(&i, i32::to_le_bytes), values("i")),
        (flag, values("flag")),
    ]
}

fn fixture_case<'a>(fixture: &'a Value, name: &str) -> &'a Value {
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .expect("the fixture has the case")
}

#[tokio::test]
async fn binary_and_mixed_requests_answer_the_json_answer_bit_for_bit() {
    let (server, fixture) = serve_fixture(TENSORS, "fp64_int32_bool").await;
    let path = "/v2/models/fp64_int32_bool/infer";
    let case = fixture_case(&fixture, "n3");
    let names = ["d", "i", "flag"];
    let raw = n3_raw(case);
    let input = |index: usize, binary: bool| {
        let name = names[index];
        let tensor = &case["inputs"][name];
        let mut input = json!({ "name": name, "datatype": tensor["datatype"], "shape": tensor["shape"] });
        if binary {
            input["parameters"] = json!({ "binary_data_size": raw[index].0.len() });
        } else {
            input["data"] = Value::Array(raw[index].1.clone());
        }
        input
    };
    let plain = json!({ "inputs": [input(0, false), input(1, false), input(2, false)] });
    let reference = send(&server, path, &[], plain.to_string().into_bytes()).await;
    assert_eq!(reference.status, 200, "{}", reference.text());
    let (reference, _) = reference.framed();

    // Every input in binary, every output in binary.
    let header = json!({ "inputs": [input(0, true), input(1, true), input(2, true)], "parameters": { "binary_data_output": true } });
    let (body, length) = framed(&header, &[&raw[0].0[..], &raw[1].0, &raw[2].0].concat());
    let answer = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/octet-stream"));
    let (json, mut bytes) = answer.framed();
    for (output, expected) in json["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(reference["outputs"].as_array().unwrap())
    {
        assert_eq!(output["name"], expected["name"]);
        assert_eq!(output["shape"], expected["shape"]);
        assert_eq!(output["datatype"], expected["datatype"]);
        assert!(output.get("data").is_none(), "{output}");
        let size = output["parameters"]["binary_data_size"].as_u64().unwrap() as usize;
        let (mine, rest) = bytes.split_at(size);
        bytes = rest;
        let mut expected = flat(&expected["data"]);
        if output["datatype"] == "FP16" {
            // JSON carries FP16 as the f32 it widens to, written as the shortest f32.
            expected = expected
                .iter()
                .map(|v| json!(v.as_f64().unwrap() as f32))
                .collect();
        }
        let decoded: Vec<Value> = match output["datatype"].as_str().unwrap() {
            "FP64" => mine
                .chunks(8)
                .map(|c| json!(f64::from_le_bytes(c.try_into().unwrap())))
                .collect(),
            // Real FP16 (JSON widens it to the f32 it equals exactly).
            "FP16" => mine
                .chunks(2)
                .map(|c| json!(f16::from_bits(u16::from_le_bytes(c.try_into().unwrap())).to_f32()))
                .collect(),
            "INT32" => mine
                .chunks(4)
                .map(|c| json!(i32::from_le_bytes(c.try_into().unwrap())))
                .collect(),
            "BOOL" => mine.iter().map(|&b| json!(b == 1)).collect(),
            other => panic!("unexpected datatype {other}"),
        };
        assert_eq!(decoded, expected, "{}", output["name"]);
    }
    assert!(bytes.is_empty(), "{} bytes past the outputs", bytes.len());

    // Mixed: `i` in binary between two JSON inputs; one output in binary, one as JSON.
    let header = json!({
        "inputs": [input(0, false), input(1, true), input(2, false)],
        "outputs": [{ "name": "half", "parameters": { "binary_data": true } }, { "name": "sum" }],
    });
    let (body, length) = framed(&header, &raw[1].0);
    let answer = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let (json, bytes) = answer.framed();
    assert_eq!(json["outputs"][0]["parameters"]["binary_data_size"], 12, "{json}");
    assert_eq!(bytes.len(), 12);
    assert_eq!(
        json["outputs"][1]["data"], reference["outputs"][0]["data"],
        "{json}"
    );
}

#[tokio::test]
async fn non_finite_answers_go_out_in_binary_where_json_cannot_carry_them() {
    let (server, _) = serve_fixture(TENSORS, "fp64_int32_bool").await;
    let path = "/v2/models/fp64_int32_bool/infer";
    let d = le(&[f64::INFINITY, f64::NAN], f64::to_le_bytes);
    let i = le(&[1i32, 2], i32::to_le_bytes);
    let inputs = json!([
        { "name": "d", "datatype": "FP64", "shape": [1, 2], "parameters": { "binary_data_size": 16 } },
        { "name": "i", "datatype": "INT32", "shape": [1, 2], "parameters": { "binary_data_size": 8 } },
        { "name": "flag", "datatype": "BOOL", "shape": [1, 2], "data": [true, true] },
    ]);
    let (body, length) = framed(
        &json!({ "inputs": inputs, "outputs": [{ "name": "sum" }] }),
        &[&d[..], &i].concat(),
    );
    let as_json = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(as_json.status, 400, "{}", as_json.text());
    assert!(as_json.text().contains("non-finite"), "{}", as_json.text());

    let header =
        json!({ "inputs": inputs, "outputs": [{ "name": "sum", "parameters": { "binary_data": true } }] });
    let (body, length) = framed(&header, &[&d[..], &i].concat());
    let answer = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let (_, bytes) = answer.framed();
    let sum: Vec<f64> = bytes
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(sum[0], f64::INFINITY);
    assert!(sum[1].is_nan(), "{sum:?}");
}
