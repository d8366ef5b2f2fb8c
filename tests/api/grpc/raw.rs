//! The gRPC transport over a raw HTTP/2 client, which can hold a call half-sent and read every
//! header: the budget charged as a message arrives, request ids, and draining a call in flight on
//! SIGTERM.

use std::time::Duration;

use aml_scorer::grpc::messages::{
    model_infer_request::InferInputTensor, ModelInferRequest, ModelInferResponse,
};
use bytes::Bytes;
use prost::Message;
use serde_json::{json, Value};

use crate::common::*;

const MODEL: &str = "sklearn_regression_model";

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
async fn a_message_of_empty_entries_is_refused_as_counted_not_decoded() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let (response, mut body) = start_call(server.grpc_addr()).await;

    // 1 MB of `2a 00`, an empty `inputs` entry each: about 150 MB once decoded.
    let message = [0x2a, 0x00].repeat(500_000);
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    body.send_data(Bytes::from(frame), true).unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("refused quickly")
        .unwrap();

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
    assert_eq!(
        message,
        "the ModelInferRequest has 500000 inputs entries, more than the 64 this model accepts"
    );
}

#[tokio::test]
async fn a_long_client_name_is_cut_short_in_grpc_message() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let long = "n".repeat(1 << 20);
    let mut other_model = rows_request(1);
    other_model.model_name = long.clone();
    let mut other_output = rows_request(1);
    other_output.outputs = vec![
        aml_scorer::grpc::messages::model_infer_request::InferRequestedOutputTensor {
            name: long.clone(),
            ..Default::default()
        },
    ];
    let mut other_input = rows_request(1);
    other_input.inputs[0].name = long;

    for (request, code) in [(other_model, "5"), (other_output, "3"), (other_input, "3")] {
        let (response, mut body) = start_call(server.grpc_addr()).await;
        body.send_data(Bytes::from(frame_of(&request)), true).unwrap();
        let refused = response.await.unwrap();

        assert_eq!(refused.headers()["grpc-status"], code, "{:?}", refused.headers());
        let message =
            percent_encoding::percent_decode_str(refused.headers()["grpc-message"].to_str().unwrap())
                .decode_utf8()
                .unwrap()
                .into_owned();
        assert!(message.len() < 200, "{message}");
        assert!(
            message.contains(&format!("\"{}\"...", "n".repeat(40))),
            "{message}"
        );
    }
}

/// A `ModelInfer` of `rows` as a gRPC frame: flag, length, message.
pub(super) fn rows_request(rows: usize) -> ModelInferRequest {
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

pub(super) fn frame_of(request: &ModelInferRequest) -> Vec<u8> {
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

pub(super) async fn start_call_with(
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
