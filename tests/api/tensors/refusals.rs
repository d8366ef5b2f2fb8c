//! Hostile tensors: values a model refuses (tract panics on an index out of range), shapes whose
//! arithmetic overflows, and empty symbolic dimensions answer a 400 naming what is wrong, and the
//! server (the batching threads included) answers the next request as before.

use serde_json::{json, Value};

use super::{case, DIR};
use crate::common::{assert_close_to, post, post_to, Server};

/// `tiny_bert` served with `extra` arguments, and its fixture.
async fn serve_bert(extra: &[&str]) -> (Server, Value) {
    let mut args = vec!["--model-dir", DIR, "--model-file", "tiny_bert.onnx"];
    args.extend_from_slice(extra);
    let server = Server::start(&args, &[]);
    server.wait_ready(std::time::Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(crate::common::repo_path(&format!("{DIR}/tiny_bert.json")));
    (
        server,
        serde_json::from_str(&text.expect("the fixture")).expect("JSON"),
    )
}

/// The body of `ids` with a full mask, padded with spaces past the inline size (16 KiB) when
/// `large`, so that it runs on a blocking thread rather than on the request's task.
fn body(ids: &Value, large: bool) -> String {
    let mask: Vec<Vec<i64>> = ids
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| vec![1; row.as_array().expect("a row").len()])
        .collect();
    let text = json!({ "input_data": { "input_ids": ids, "attention_mask": mask } }).to_string();
    if large {
        format!("{text}{}", " ".repeat(20_000))
    } else {
        text
    }
}

async fn refused_then_answered(extra: &[&str]) {
    let (server, fixture) = serve_bert(extra).await;
    let good = case(&fixture, "b1_t3");
    let good_body = body(&good["inputs"]["input_ids"]["data"], false);
    let expected = &good["outputs"]["logits"]["data"];
    let too_long: Vec<i64> = (0..40).map(|i| 1 + i % 40).collect();
    for large in [false, true] {
        // An id outside the vocabulary of 50, and a sequence longer than the 32 positions.
        for ids in [json!([[1, 999_999, 2]]), json!([too_long])] {
            let answer = post(&server, body(&ids, large)).await;
            assert_eq!(answer.status, 400, "{ids} (large: {large}): {}", answer.body);
            let message = answer.message();
            assert!(message.contains("refused these input values"), "{message}");
            assert!(!message.contains("999999"), "no values in the answer: {message}");
            let next = post(&server, good_body.clone()).await;
            assert_eq!(next.status, 200, "{}", next.body);
            assert_close_to(&next.json(), expected);
        }
    }
    let logs = server.logs();
    assert!(logs.contains("the model run panicked"), "{logs}");
    // The panic is logged once, in the JSON log: not also by Rust's default hook on stderr.
    assert!(
        logs.lines().all(|line| line.starts_with('{')),
        "a line outside the JSON log: {logs}"
    );
}

#[tokio::test]
async fn values_the_model_refuses_answer_400_and_the_next_request_is_answered() {
    refused_then_answered(&[]).await;
}

#[tokio::test]
async fn with_dynamic_batching_the_batching_threads_survive_a_refusal() {
    refused_then_answered(&["--batch-max-rows", "8"]).await;
}

#[tokio::test]
async fn empty_symbolic_dimensions_are_400_naming_the_input_and_the_dimension() {
    let (server, _) = serve_bert(&[]).await;
    let answer = post(
        &server,
        json!({ "input_data": { "input_ids": [[]], "attention_mask": [[]] } }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.message();
    assert!(
        message.contains("\"input_ids\"") && message.contains("dimension 1"),
        "{message}"
    );
    let v2 = json!({ "inputs": [
        { "name": "input_ids", "datatype": "INT64", "shape": [1, 0], "data": [] },
        { "name": "attention_mask", "datatype": "INT64", "shape": [1, 0], "data": [] },
    ] });
    let answer = post_to(&server, "/v2/models/tiny_bert/infer", v2.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = answer.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("\"input_ids\"") && error.contains("dimension 1 is 0"),
        "{error}"
    );
}

#[tokio::test]
async fn v2_shapes_whose_value_count_overflows_are_400_naming_the_input() {
    let (server, _) = serve_bert(&[]).await;
    let huge = json!({ "inputs": [
        { "name": "input_ids", "datatype": "INT64", "shape": [4, 4_611_686_018_427_387_904_u64], "data": [] },
        { "name": "attention_mask", "datatype": "INT64", "shape": [4, 4_611_686_018_427_387_904_u64], "data": [] },
    ] });
    let answer = post_to(&server, "/v2/models/tiny_bert/infer", huge.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("\\\"input_ids\\\""), "{}", answer.body);

    // The bundled tabular model: 10 float64 values per row.
    let tabular = Server::start(&[], &[]);
    tabular.wait_ready(std::time::Duration::from_secs(20)).await;
    let rows = u64::MAX / 10 + 1;
    let request =
        json!({ "inputs": [{ "name": "input", "datatype": "FP64", "shape": [rows, 10], "data": [] }] });
    let answer = post_to(
        &tabular,
        "/v2/models/sklearn_regression_model/infer",
        request.to_string(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("\\\"input\\\""), "{}", answer.body);
}
