//! The KServe V2 transports real clients use over HTTP (SPEC 11): the binary tensor extension
//! (inputs after the JSON header, outputs asked for in binary, mixed with JSON), gzip and deflate
//! bodies both ways on V2 and `/score`, and Triton's and KServe's own Python clients driving it.

use std::io::{Read, Write};
use std::time::Duration;

use flate2::{
    read::GzDecoder, read::ZlibDecoder, write::DeflateEncoder, write::GzEncoder, write::ZlibEncoder,
};
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

#[tokio::test]
async fn framing_errors_are_400s_that_name_the_input_and_the_server_keeps_answering() {
    let (server, _) = serve_fixture(TABULAR, "columns_regressor").await;
    let path = "/v2/models/columns_regressor/infer";
    let strings = |values: &[&str]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|s| [&(s.len() as u32).to_le_bytes()[..], s.as_bytes()].concat())
            .collect()
    };
    let age = le(&[39.0f32, 52.0], f32::to_le_bytes);
    let hours = le(&[40i64, 45], i64::to_le_bytes);
    let workclass = strings(&["Private", "State-gov"]);
    let inputs = |sizes: [usize; 3]| {
        json!({ "inputs": [
            { "name": "age", "datatype": "FP32", "shape": [2, 1], "parameters": { "binary_data_size": sizes[0] } },
            { "name": "hours", "datatype": "INT64", "shape": [2], "parameters": { "binary_data_size": sizes[1] } },
            { "name": "workclass", "datatype": "BYTES", "shape": [2, 1], "parameters": { "binary_data_size": sizes[2] } },
            { "name": "member", "datatype": "BOOL", "shape": [2, 1], "data": [true, false] },
        ]})
    };
    let binary = [&age[..], &hours, &workclass].concat();
    let good = inputs([8, 16, workclass.len()]);
    let cases: Vec<(Vec<u8>, String, &str)> = vec![
        {
            let (body, _) = framed(&good, &binary);
            (
                body,
                "12 rows".to_owned(),
                "Inference-Header-Content-Length must be the JSON header's length in bytes",
            )
        },
        {
            let (body, _) = framed(&good, &binary);
            let past = (body.len() + 1).to_string();
            (body, past, "past the end of the")
        },
        {
            // The sizes add up to the body, but `hours` takes one byte of `workclass`.
            let (body, length) = framed(&inputs([8, 17, workclass.len() - 1]), &binary);
            (
                body,
                length,
                "input \"hours\" of shape [2]: the tensor holds 17 bytes",
            )
        },
        {
            let (body, length) = framed(&inputs([8, 16, workclass.len() + 1]), &binary);
            (
                body,
                length,
                "input \"workclass\" has binary_data_size 25 at byte 24 of the binary data, past its end",
            )
        },
        {
            // "Private" claims 8 bytes: past its own tensor, though the body goes on.
            let mut bad = workclass.clone();
            bad[0] = 30;
            let (body, length) = framed(&good, &[&age[..], &hours, &bad].concat());
            (
                body,
                length,
                "input \"workclass\" of shape [2, 1]: the tensor has BYTES value 0 of length 30, past the",
            )
        },
    ];
    for (body, length, expected) in cases {
        let answer = send(
            &server,
            path,
            &[("inference-header-content-length", &length)],
            body,
        )
        .await;
        assert_eq!(answer.status, 400, "{}", answer.text());
        let (json, _) = answer.framed();
        let error = json["error"].as_str().unwrap();
        assert!(
            error.starts_with(expected) || error.contains(expected),
            "{error}\nexpected: {expected}"
        );
    }
    let (body, length) = framed(&good, &binary);
    let answer = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let plain = json!({ "data": [
        { "age": 39.0, "hours": 40, "workclass": "Private", "member": true },
        { "age": 52.0, "hours": 45, "workclass": "State-gov", "member": false },
    ]});
    let scored = post(&server, plain.to_string()).await;
    assert_eq!(answer.framed().0["outputs"][0]["data"], scored.json());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_and_deflate_bodies_score_as_plain_ones_and_other_codings_are_415() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let sample = sample_request().into_bytes();
    for (coding, body) in [
        ("gzip", gzip(&sample)),
        ("deflate", zlib(&sample)),
        // Some clients send raw deflate under the same name.
        ("deflate", raw_deflate(&sample)),
    ] {
        let answer = send(&server, "/score", &[("content-encoding", coding)], body).await;
        let text = answer.text();
        let answer = Answer {
            status: answer.status,
            body: text,
            headers: answer.headers,
        };
        assert_sample_predictions(&answer);
    }
    let v2 = json!({ "inputs": [{ "name": "input", "shape": [1, 10], "datatype": "FP64", "parameters": { "binary_data_size": 80 } }] });
    let row = le(
        &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        f64::to_le_bytes,
    );
    let (body, length) = framed(&v2, &row);
    let path = "/v2/models/sklearn_regression_model/infer";
    let answer = send(
        &server,
        path,
        &[
            ("content-encoding", "gzip"),
            ("inference-header-content-length", &length),
        ],
        gzip(&body),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let expected = reference_prediction(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
    assert_close(
        answer.framed().0["outputs"][0]["data"][0].as_f64().unwrap(),
        expected,
        1e-9,
    );

    let brotli = send(&server, "/score", &[("content-encoding", "br")], sample.clone()).await;
    assert_eq!(brotli.status, 415, "{}", brotli.text());
    assert_eq!(
        brotli.framed().0["message"],
        "Content-Encoding \"br\" is not supported; send the body as it is, or in gzip or deflate"
    );
    let brotli = send(&server, path, &[("content-encoding", "br")], body).await;
    assert_eq!(brotli.status, 415, "{}", brotli.text());
    assert!(
        brotli.framed().0["error"].as_str().unwrap().contains("\"br\""),
        "{}",
        brotli.text()
    );
    let mut broken = gzip(&sample);
    broken.truncate(broken.len() / 2);
    let broken = send(&server, "/score", &[("content-encoding", "gzip")], broken).await;
    assert_eq!(broken.status, 400, "{}", broken.text());
    assert!(broken.text().contains("not valid gzip data"), "{}", broken.text());
    assert_sample_predictions(&post(&server, sample_request()).await);
}

#[tokio::test]
async fn answers_over_1_kib_are_compressed_as_accepted_and_all_vary_by_accept_encoding() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let rows: Vec<Vec<f64>> = (0..200)
        .map(|r| (0..10).map(|c| f64::from(r * 10 + c) / 7.0).collect())
        .collect();
    let body = json!({ "data": rows }).to_string().into_bytes();
    let plain = send(&server, "/score", &[], body.clone()).await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.len() > 1024, "{}", plain.body.len());
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("br;q=1, deflate;q=0.5, gzip;q=0.1", "deflate"),
    ] {
        let answer = send(&server, "/score", &[("accept-encoding", accept)], body.clone()).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-encoding"), Some(coding), "{accept}");
        assert_eq!(answer.header("vary"), Some("accept-encoding"));
        let mut inflated = Vec::new();
        match coding {
            "gzip" => GzDecoder::new(&answer.body[..]).read_to_end(&mut inflated),
            _ => ZlibDecoder::new(&answer.body[..]).read_to_end(&mut inflated),
        }
        .unwrap();
        assert_eq!(inflated, plain.body, "{accept}");
        assert!(
            answer.body.len() < plain.body.len(),
            "{} of {}",
            answer.body.len(),
            plain.body.len()
        );
    }
    // The sample's answer is under the threshold: sent as it is.
    let small = send(
        &server,
        "/score",
        &[("accept-encoding", "gzip")],
        sample_request().into_bytes(),
    )
    .await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.header("vary"), Some("accept-encoding"));
}

/// The peak resident memory of process `pid` so far, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test]
async fn a_zip_bomb_is_a_413_after_at_most_the_body_limit_is_inflated() {
    let limit = 1 << 20;
    let server = Server::start(&["--max-body-bytes", &limit.to_string()], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    // 256 MiB of JSON whitespace in about 250 KB of gzip: a few KB per MiB.
    let bomb = {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..256 {
            encoder.write_all(&spaces).unwrap();
        }
        encoder.finish().unwrap()
    };
    assert!(bomb.len() < limit / 2, "{}", bomb.len());
    let before = peak_rss(server.pid());
    for path in ["/score", "/v2/models/sklearn_regression_model/infer"] {
        let answer = send(&server, path, &[("content-encoding", "gzip")], bomb.clone()).await;
        assert_eq!(answer.status, 413, "{path}: {}", answer.text());
        assert!(
            answer.text().contains("limit of 1048576 bytes"),
            "{}",
            answer.text()
        );
    }
    let grown = peak_rss(server.pid()).saturating_sub(before);
    assert!(grown < 32 << 20, "the peak memory grew by {grown} bytes");
    assert_sample_predictions(&post(&server, sample_request()).await);
}

/// Runs `tests/clients/<script>` against `server` with `args` after its URL.
fn python_client(script: &str, url: String, args: &[&str]) -> String {
    let mut all = vec![url.as_str()];
    all.extend_from_slice(args);
    run_client(script, &all)
}

#[tokio::test]
async fn tritonclient_answers_every_datatype_alike_in_binary_json_mixed_and_compressed() {
    for name in [
        "fp16_uint8",
        "fp64_int32_bool",
        "int8_int16",
        "bool_rank0",
        "tiny_bert",
    ] {
        let (server, _) = serve_fixture(TENSORS, name).await;
        let fixture = repo_path(&format!("{TENSORS}/{name}.json"));
        let out = python_client(
            "triton_http.py",
            server.addr.to_string(),
            &["tensors", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: 2 cases")), "{out}");
    }
}

#[tokio::test]
async fn tritonclient_sends_strings_and_several_inputs_and_reads_several_outputs() {
    for name in ["string_classifier", "columns_regressor"] {
        let (server, _) = serve_fixture(TABULAR, name).await;
        let fixture = repo_path(&format!("{TABULAR}/{name}.json"));
        let out = python_client(
            "triton_http.py",
            server.addr.to_string(),
            &["tabular", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: ")), "{out}");
    }
}

#[tokio::test]
async fn tritonclient_gets_our_messages_as_exceptions_and_large_answers_in_every_coding() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let model = "sklearn_regression_model";
    python_client("triton_http.py", server.addr.to_string(), &["errors", model]);
    python_client("triton_http.py", server.addr.to_string(), &["large", model]);
}

#[tokio::test]
async fn the_kserve_rest_client_sends_and_reads_binary_tensors() {
    for name in ["fp16_uint8", "fp64_int32_bool"] {
        let (server, _) = serve_fixture(TENSORS, name).await;
        let fixture = repo_path(&format!("{TENSORS}/{name}.json"));
        let out = python_client(
            "kserve_rest.py",
            server.url(""),
            &["tensors", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: 2 cases")), "{out}");
    }
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    python_client(
        "kserve_rest.py",
        server.url(""),
        &["errors", "sklearn_regression_model"],
    );
}

/// The ```python blocks of `doc`, each with what it prints: the comment after its `print(...)`,
/// on the same line or on the `# ` lines under it.
fn python_examples(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_path(doc)).unwrap();
    let mut examples = Vec::new();
    for block in text.split("```python\n").skip(1) {
        let block = block.split("```").next().unwrap();
        let mut code = Vec::new();
        let mut printed = Vec::new();
        for line in block.lines() {
            match line.strip_prefix("# ") {
                Some(output) => printed.push(output.to_owned()),
                None => {
                    // A comment after a `print(...)` on its line is what it prints.
                    if let Some((_, output)) = line.split_once(")  ").filter(|_| line.starts_with("print(")) {
                        printed.push(output.trim_start().trim_start_matches("# ").to_owned());
                    }
                    code.push(line.to_owned());
                }
            }
        }
        examples.push((code.join("\n"), printed.join("\n")));
    }
    examples
}

#[tokio::test]
async fn the_documented_tritonclient_calls_print_what_their_comments_say() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    for doc in ["README.md", "docs/http.md"] {
        let examples = python_examples(doc);
        assert!(!examples.is_empty(), "{doc} shows a tritonclient call");
        for (code, printed) in examples {
            let code = code.replace("localhost:5001", &server.addr.to_string());
            let output = std::process::Command::new(repo_path("target/yaml-venv/bin/python"))
                .args(["-c", &code])
                .output()
                .expect("the test venv's Python runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{doc}:\n{code}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(stdout.trim(), printed, "{doc}:\n{code}");
        }
    }
}
