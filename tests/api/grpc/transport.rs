//! The gRPC transport's bounds: the message limit, `--grpc-port off` and its validation, the
//! connection cap shared with HTTP, and draining a call in flight on SIGTERM (over a raw HTTP/2
//! client, which can hold a call half-sent).

use std::time::{Duration, Instant};

use aml_scorer::grpc::messages::{
    model_infer_request::InferInputTensor, ModelInferRequest, ModelInferResponse,
};
use bytes::Bytes;
use prost::Message;
use serde_json::{json, Value};

use super::{infer, TRITON};
use crate::common::*;

const MODEL: &str = "sklearn_regression_model";

/// `rows` rows of the sample model's input, as a V2 JSON request.
fn rows(rows: usize) -> Value {
    let data: Vec<f64> = (0..rows * 10).map(|i| (i % 10) as f64).collect();
    json!({ "inputs": [{ "name": "input", "datatype": "FP64", "shape": [rows, 10], "data": data }] })
}

#[tokio::test]
async fn a_message_over_the_body_limit_is_resource_exhausted_and_the_server_keeps_serving() {
    let server = Server::start(&["--max-body-bytes", "4096"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    // 100 rows of 10 FP64: 8000 bytes of raw contents.
    let over = infer(TRITON, &server, MODEL, &rows(100));
    let fits = infer(TRITON, &server, MODEL, &rows(2));

    assert_eq!(over["error"]["code"], "StatusCode.RESOURCE_EXHAUSTED", "{over}");
    assert_eq!(
        over["error"]["message"],
        "the request body is larger than the limit of 4096 bytes (AML_SCORER_MAX_BODY_BYTES)"
    );
    assert_eq!(fits["outputs"][0]["shape"], json!([2, 1]), "{fits}");
    assert!(
        server
            .logs()
            .contains(r#""route":"grpc:ModelInfer","status":413"#),
        "{}",
        server.logs()
    );
}

#[tokio::test]
async fn a_message_larger_than_the_in_flight_budget_is_resource_exhausted() {
    let server = Server::start(&["--max-inflight-bytes", "10000"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    // 8000 bytes of raw contents, charged twice over (the message and its tensors), as REST
    // charges a body.
    let over = infer(TRITON, &server, MODEL, &rows(100));
    let fits = infer(TRITON, &server, MODEL, &rows(2));

    assert_eq!(over["error"]["code"], "StatusCode.RESOURCE_EXHAUSTED", "{over}");
    let message = over["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("whole in-flight memory budget of 10000 bytes"),
        "{message}"
    );
    assert_eq!(fits["outputs"][0]["shape"], json!([2, 1]), "{fits}");
    assert!(
        server
            .logs()
            .contains(r#""route":"grpc:ModelInfer","status":413"#),
        "{}",
        server.logs()
    );
}

#[tokio::test]
async fn the_budget_is_charged_as_a_message_arrives_not_once_it_is_whole() {
    let server = Server::start(&["--max-inflight-bytes", "10000"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let (response, mut body) = start_call(server.grpc_addr()).await;

    // A message declaring 100 rows, all but its last byte sent: already over the budget.
    let frame = frame_of(&rows_request(100));
    body.send_data(Bytes::copy_from_slice(&frame[..frame.len() - 1]), false)
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("refused before the message is whole")
        .unwrap();

    let status = answer
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        status.as_deref(),
        Some("8"),
        "RESOURCE_EXHAUSTED: {:?}",
        answer.headers()
    );
}

#[tokio::test]
async fn grpc_off_binds_no_port_and_a_bad_port_stops_the_process_naming_the_setting() {
    let server = Server::start(&["--grpc-port", "off"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let logs = server.logs();
    assert!(logs.contains("gRPC off"), "{logs}");
    assert!(!logs.contains("listening for gRPC"), "{logs}");

    let (logs, status) = Server::try_start(&[], &[("AML_SCORER_GRPC_PORT", "http")])
        .err()
        .expect("a bad gRPC port stops the process");
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(
        logs.contains("AML_SCORER_GRPC_PORT") || logs.contains("--grpc-port"),
        "{logs}"
    );
    assert!(logs.contains("neither a port"), "{logs}");
}

#[tokio::test]
async fn the_connection_cap_is_shared_by_the_http_and_grpc_listeners() {
    let server = Server::start(&["--max-connections", "2"], &[]);
    // Ready by its log line: a readiness request's connection would hold a place for a while.
    assert!(
        server.wait_for_log(r#""message":"ready""#, Duration::from_secs(20)),
        "{}",
        server.logs()
    );
    // Two idle keep-alive HTTP connections hold both places (for the idle timeout, 75 s).
    let first = held_connection(&server);
    let second = held_connection(&server);

    let started = Instant::now();
    let refused = super::call(TRITON, &server, &["infer", MODEL, &rows(2).to_string(), "2"]);
    let waited = started.elapsed();
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let served = infer(TRITON, &server, MODEL, &rows(2));
    drop(second);

    assert_eq!(
        refused["error"]["code"], "StatusCode.DEADLINE_EXCEEDED",
        "{refused}"
    );
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert_eq!(served["outputs"][0]["shape"], json!([2, 1]), "{served}");
}

/// An HTTP connection that has been answered once and stays open: it holds a place.
fn held_connection(server: &Server) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = [0; 1024];
    let read = stream
        .read(&mut answer)
        .expect("the server answers on a held connection");
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
    stream
}

/// A `ModelInfer` of `rows` as a gRPC frame: flag, length, message.
fn rows_request(rows: usize) -> ModelInferRequest {
    let raw: Vec<u8> = (0..rows * 10)
        .flat_map(|i| ((i % 10) as f64).to_le_bytes())
        .collect();
    ModelInferRequest {
        model_name: MODEL.to_owned(),
        inputs: vec![InferInputTensor {
            name: "input".to_owned(),
            datatype: "FP64".to_owned(),
            shape: vec![rows as i64, 10],
            ..Default::default()
        }],
        raw_input_contents: vec![Bytes::from(raw)],
        ..Default::default()
    }
}

fn frame_of(request: &ModelInferRequest) -> Vec<u8> {
    let message = request.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    frame
}

/// A `ModelInfer` call opened over a raw HTTP/2 connection, its message still to send.
async fn start_call(addr: std::net::SocketAddr) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    start_call_with(addr, &[]).await
}

async fn start_call_with(
    addr: std::net::SocketAddr,
    metadata: &[(&str, &str)],
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let path = format!("http://{addr}/inference.GRPCInferenceService/ModelInfer");
    let mut request = axum::http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in metadata {
        request = request.header(*name, *value);
    }
    client.send_request(request.body(()).unwrap(), false).unwrap()
}

#[tokio::test]
async fn request_ids_follow_the_http_rules_and_the_answer_carries_them() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let addr = server.grpc_addr();

    let (response, mut body) = start_call_with(addr, &[("x-request-id", "call-42")]).await;
    body.send_data(Bytes::from(frame_of(&rows_request(2))), true)
        .unwrap();
    let answer = response.await.unwrap();
    let long = "x".repeat(101);
    let (response, mut body) = start_call_with(addr, &[("x-request-id", &long)]).await;
    body.send_data(Bytes::from(frame_of(&rows_request(2))), true)
        .unwrap();
    let refused = response.await.unwrap();

    let headers = answer.headers();
    assert_eq!(headers["x-request-id"], "call-42");
    assert_eq!(headers["x-ms-client-request-id"], "call-42");
    assert!(headers.contains_key("x-ms-run-fn-exec-ms"), "{headers:?}");
    assert!(headers["x-ms-server-version"]
        .to_str()
        .unwrap()
        .starts_with("aml-scorer/"));
    assert_eq!(
        refused.headers()["grpc-status"],
        "3",
        "INVALID_ARGUMENT: {:?}",
        refused.headers()
    );
    let message = percent_encoding::percent_decode_str(refused.headers()["grpc-message"].to_str().unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    assert_eq!(message, "header x-request-id is longer than 100 characters");
}

#[tokio::test]
async fn sigterm_lets_a_grpc_call_in_flight_finish_then_exits_0() {
    let mut server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let addr = server.grpc_addr();
    let (response, mut body) = start_call(addr).await;
    // The sample request's two rows.
    let sample: Value = serde_json::from_str(&sample_request()).unwrap();
    let mut request = rows_request(2);
    let raw: Vec<u8> = sample["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .flat_map(|x| x.as_f64().unwrap().to_le_bytes())
        .collect();
    request.raw_input_contents = vec![Bytes::from(raw)];
    let frame = frame_of(&request);
    let (head, tail) = frame.split_at(frame.len() / 2);
    body.send_data(Bytes::copy_from_slice(head), false).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.terminate();
    assert!(
        server.wait_for_log("stopping", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    body.send_data(Bytes::copy_from_slice(tail), true).unwrap();
    let (parts, mut answer) = response.await.unwrap().into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = answer.data().await {
        let chunk = chunk.unwrap();
        let _ = answer.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let trailers = answer.trailers().await.unwrap().unwrap_or_default();

    assert_eq!(parts.status, 200);
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.to_str().unwrap()),
        Some("0"),
        "{trailers:?}"
    );
    let answer = ModelInferResponse::decode(&bytes[5..]).unwrap();
    let values: Vec<f64> = answer.raw_output_contents[0]
        .chunks(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_close_to(&json!(values), &json!([11055.977245525679, 4503.079536107787]));
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits after draining");
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(addr).is_err());
}
