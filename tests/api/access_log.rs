//! The access log over the real server: errors and slow requests get their own lines with the
//! request id, successes a summary line, `AML_SCORER_ACCESS_LOG=all` and debug a line per request,
//! and a flood of bad requests is capped (`cap`).

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

mod cap;

async fn ready_server() -> Server {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

const MODEL: &str = "sklearn_regression_model";

/// The JSON log lines with this message so far.
fn lines_with_message(server: &Server, message: &str) -> Vec<Value> {
    server
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message)
        .collect()
}

/// The access-log lines (`"message": "request"`) so far.
fn access_lines(server: &Server) -> Vec<Value> {
    lines_with_message(server, "request")
}

/// The first `requests summary` line.
fn summary_line(server: &Server) -> Value {
    let summaries = lines_with_message(server, "requests summary");
    summaries
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no summary line: {}", server.logs()))
}

async fn post_with_id(server: &Server, path: &str, id: &str, body: String) -> u16 {
    let response = client()
        .post(server.url(path))
        .header("x-request-id", id)
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn with_access_log_all_each_score_request_gets_one_line_with_its_request_id() {
    let server = Server::start(&[], &[("AML_SCORER_ACCESS_LOG", "all")]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert_eq!(
        post_with_id(&server, "/score", "trace-me-123", sample_request()).await,
        200
    );
    client().get(server.url("/health/ready")).send().await.unwrap();
    assert!(server.wait_for_log("trace-me-123", Duration::from_secs(5)));

    let access = access_lines(&server);
    assert_eq!(
        access.len(),
        1,
        "probes are not logged at info: {}",
        server.logs()
    );
    let line = &access[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["route"], "/score");
    assert_eq!(line["status"], 200);
    assert_eq!(line["rows"], 2);
    assert!(line["duration_ms"].as_f64().is_some());
    assert_eq!(line["request_id"], "trace-me-123", "{line}");
}

#[tokio::test]
async fn by_default_errors_get_a_line_with_their_cause_and_successes_a_summary() {
    let mut server = ready_server().await;
    for index in 0..5 {
        let id = format!("good-{index}");
        assert_eq!(post_with_id(&server, "/score", &id, sample_request()).await, 200);
    }
    let bad = r#"{"data": [[1, 2, 3]]}"#.to_owned();
    assert_eq!(post_with_id(&server, "/score", "bad-one", bad).await, 400);
    let unknown = format!("/v2/models/{MODEL}x/infer");
    assert_eq!(
        post_with_id(&server, &unknown, "lost-one", "{}".to_owned()).await,
        404
    );
    assert!(server.wait_for_log("lost-one", Duration::from_secs(5)));

    // Successes have no line of their own at info; each error has one, with its id and cause.
    let access = access_lines(&server);
    assert_eq!(access.len(), 2, "{}", server.logs());
    assert_eq!(access[0]["request_id"], "bad-one");
    assert_eq!(access[0]["status"], 400);
    assert_eq!(access[0]["level"], "INFO");
    assert!(
        access[0]["error"]
            .as_str()
            .unwrap()
            .contains("the model takes 10"),
        "{}",
        access[0]
    );
    assert_eq!(access[1]["request_id"], "lost-one");
    assert_eq!(access[1]["route"], "/v2/models/{name}/infer");
    assert!(access[1]["error"].as_str().unwrap().contains("no model named"));

    // The summary comes every AML_SCORER_LOG_SUMMARY_SECONDS and at shutdown: the 7 requests
    // (probes left out), 2 of them client errors, 10 rows.
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let summary = summary_line(&server);
    assert_eq!(summary["requests"], 7, "{summary}");
    assert_eq!(summary["client_errors"], 2, "{summary}");
    assert_eq!(summary["server_errors"], 0, "{summary}");
    assert_eq!(summary["rows"], 10, "{summary}");
    let (p50, p99, max) = (
        summary["p50_ms"].as_f64().unwrap(),
        summary["p99_ms"].as_f64().unwrap(),
        summary["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{summary}");
}

#[tokio::test]
async fn slow_requests_get_a_line_and_the_summary_comes_every_interval() {
    let server = Server::start(
        &[],
        &[
            ("AML_SCORER_SLOW_REQUEST_MS", "1"),
            ("AML_SCORER_LOG_SUMMARY_SECONDS", "1"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    // Ten thousand rows take longer than 1 ms.
    let rows = vec![vec![1.0; 10]; 10_000];
    let body = json!({ "data": rows }).to_string();
    assert_eq!(post_with_id(&server, "/score", "slow-one", body).await, 200);
    assert!(server.wait_for_log("requests summary", Duration::from_secs(5)));
    let access = access_lines(&server);
    assert_eq!(access.len(), 1, "{}", server.logs());
    assert_eq!(access[0]["request_id"], "slow-one");
    assert_eq!(access[0]["slow"], true);
    assert_eq!(access[0]["rows"], 10_000);
    assert!(server.logs().contains(r#""slow":1"#), "{}", server.logs());
}

#[tokio::test]
async fn at_debug_every_request_gets_a_line() {
    let server = Server::start(&[], &[("AZUREML_LOG_LEVEL", "debug")]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert_eq!(
        post_with_id(&server, "/score", "debug-me", sample_request()).await,
        200
    );
    assert!(server.wait_for_log("debug-me", Duration::from_secs(5)));
    let line = access_lines(&server)
        .into_iter()
        .find(|line| line["request_id"] == "debug-me")
        .unwrap();
    assert_eq!((&line["level"], &line["status"]), (&json!("DEBUG"), &json!(200)));
}
