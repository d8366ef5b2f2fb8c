//! The gRPC transport's bounds through tritonclient: the message limit, the in-flight budget,
//! `--grpc-port off` and its validation, the connection cap shared with HTTP; what needs a call
//! held half-sent or raw metadata is in `raw.rs`.

use std::time::{Duration, Instant};

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

/// tritonclient's answer to `request` sent compressed with `algorithm`.
fn infer_compressed(server: &Server, request: &Value, algorithm: &str) -> Value {
    super::call(
        TRITON,
        server,
        &["infer", MODEL, &request.to_string(), "-", algorithm],
    )
}

#[tokio::test]
async fn gzip_and_deflate_calls_answer_as_the_uncompressed_one() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    let plain = infer(TRITON, &server, MODEL, &rows(50));
    assert_eq!(plain["outputs"][0]["shape"], json!([50, 1]), "{plain}");
    for algorithm in ["gzip", "deflate"] {
        let compressed = infer_compressed(&server, &rows(50), algorithm);
        assert_eq!(compressed, plain, "{algorithm}");
    }
}

#[tokio::test]
async fn a_compressed_message_inflating_past_the_body_limit_is_resource_exhausted() {
    let server = Server::start(&["--max-body-bytes", "4096"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    // 8000 bytes of raw contents, repeating: a few hundred bytes gzipped, under the limit.
    let over = infer_compressed(&server, &rows(100), "gzip");
    let fits = infer_compressed(&server, &rows(2), "gzip");

    assert_eq!(over["error"]["code"], "StatusCode.RESOURCE_EXHAUSTED", "{over}");
    assert_eq!(
        over["error"]["message"],
        "the request body is larger than the limit of 4096 bytes (AML_SCORER_MAX_BODY_BYTES)"
    );
    assert_eq!(fits["outputs"][0]["shape"], json!([2, 1]), "{fits}");
}

#[tokio::test]
async fn a_compressed_message_is_charged_its_inflated_size() {
    let server = Server::start(&["--max-inflight-bytes", "10000"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    // A few hundred bytes gzipped, 8000 inflated: charged twice over, as uncompressed.
    let over = infer_compressed(&server, &rows(100), "gzip");
    let fits = infer_compressed(&server, &rows(2), "gzip");

    assert_eq!(over["error"]["code"], "StatusCode.RESOURCE_EXHAUSTED", "{over}");
    let message = over["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("whole in-flight memory budget of 10000 bytes"),
        "{message}"
    );
    assert_eq!(fits["outputs"][0]["shape"], json!([2, 1]), "{fits}");
}
