//! The observability and protocol routes over the real server: `/swagger.json`, `/metrics` after
//! traffic, the access log, and the KServe V2 routes written from the protocol's specification.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

async fn ready_server() -> Server {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

async fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

async fn infer(server: &Server, model: &str, body: Value) -> (u16, Value) {
    let url = server.url(&format!("/v2/models/{model}/infer"));
    let response = client().post(url).body(body.to_string()).send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

const MODEL: &str = "sklearn_regression_model";

#[tokio::test]
async fn swagger_json_describes_score_with_the_real_width_in_both_versions() {
    let server = ready_server().await;
    let (status, v2) = get_json(&server, "/swagger.json").await;
    assert_eq!(status, 200);
    assert_eq!(v2["swagger"], "2.0");
    assert_eq!(
        v2["paths"]["/score"]["post"]["parameters"][0]["schema"]["properties"]["data"]["items"]["minItems"],
        10
    );
    let (_, v3) = get_json(&server, "/swagger.json?version=3").await;
    assert!(v3["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn metrics_count_requests_rows_and_init_steps() {
    let server = ready_server().await;
    for _ in 0..3 {
        assert_sample_predictions(&post(&server, sample_request()).await);
    }
    assert_eq!(post(&server, "{").await.status, 400);

    let text = get_text(&server, "/metrics").await;

    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}\n{text}"))
            .to_owned()
    };
    let value = |prefix: &str| line(prefix).rsplit(' ').next().unwrap().parse::<f64>().unwrap();
    assert_eq!(
        value(r#"aml_scorer_http_requests_total{route="/score",method="POST",status="200"}"#),
        3.0
    );
    assert_eq!(
        value(r#"aml_scorer_http_requests_total{route="/score",method="POST",status="400"}"#),
        1.0
    );
    assert_eq!(value("aml_scorer_rows_scored_total"), 6.0);
    assert_eq!(value("aml_scorer_model_run_duration_seconds_count"), 3.0);
    assert_eq!(
        value(r#"aml_scorer_http_request_duration_seconds_count{route="/score"}"#),
        4.0
    );
    assert_eq!(value(r#"aml_scorer_batch_rows_bucket{le="4.0"}"#), 3.0);
    assert!(value(r#"aml_scorer_init_step_duration_seconds{step="model"}"#) > 0.0);
    assert!(value("aml_scorer_model_load_duration_seconds") > 0.0);
    // The scrape itself is in flight while it renders.
    assert_eq!(value("aml_scorer_http_requests_in_flight"), 1.0);
}

/// The JSON access-log lines (`"message": "request"`) so far.
fn access_lines(server: &Server) -> Vec<Value> {
    server
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect()
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
    let summary: Value = server
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "requests summary")
        .unwrap_or_else(|| panic!("no summary: {}", server.logs()));
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
async fn a_flood_of_bad_requests_gets_at_most_100_lines_a_second_and_the_summary_counts_the_rest() {
    let mut server = ready_server().await;
    let started = std::time::Instant::now();
    let senders = (0..8).map(|_| {
        let url = server.url("/score");
        tokio::spawn(async move {
            let client = client();
            for _ in 0..125 {
                let response = client.post(&url).body("{not json").send().await.unwrap();
                assert_eq!(response.status(), 400);
            }
        })
    });
    for sender in senders.collect::<Vec<_>>() {
        sender.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64().ceil() as usize;
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let lines = access_lines(&server).len();
    assert!(lines <= 100 * (seconds + 1), "{lines} lines in {seconds} s");
    let summary: Value = server
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "requests summary")
        .unwrap();
    assert_eq!(summary["client_errors"], 1000, "{summary}");
    assert_eq!(summary["lines_left_out"].as_u64().unwrap() as usize + lines, 1000);
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

#[tokio::test]
async fn v2_health_and_metadata_follow_the_protocol() {
    let server = ready_server().await;
    assert_eq!(get_json(&server, "/v2").await.1["name"], "aml-scorer");
    assert_eq!(
        get_json(&server, "/v2/health/live").await,
        (200, json!({ "live": true }))
    );
    assert_eq!(
        get_json(&server, "/v2/health/ready").await,
        (200, json!({ "ready": true }))
    );
    let (status, ready) = get_json(&server, &format!("/v2/models/{MODEL}/ready")).await;
    assert_eq!((status, &ready["ready"]), (200, &json!(true)));

    let (status, meta) = get_json(&server, &format!("/v2/models/{MODEL}")).await;

    assert_eq!(status, 200);
    assert_eq!(meta["name"], MODEL);
    assert_eq!(
        meta["inputs"][0],
        json!({ "name": "input", "datatype": "FP64", "shape": [-1, 10] })
    );
    assert_eq!(
        meta["outputs"][0],
        json!({ "name": "variable", "datatype": "FP64", "shape": [-1, 1] })
    );
}

#[tokio::test]
async fn v2_infer_accepts_flat_and_nested_data() {
    let server = ready_server().await;
    let flat: Vec<i32> = (1..=10).chain((1..=10).rev()).collect();
    let nested = json!([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]);
    for data in [json!(flat), nested] {
        let request = json!({ "id": "42", "inputs": [{ "name": "input", "shape": [2, 10], "datatype": "FP64", "data": data }] });

        let (status, answer) = infer(&server, MODEL, request).await;

        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["model_name"], MODEL);
        assert_eq!(answer["id"], "42");
        let output = &answer["outputs"][0];
        assert_eq!(
            (&output["name"], &output["datatype"], &output["shape"]),
            (&json!("variable"), &json!("FP64"), &json!([2, 1]))
        );
        for (value, expected) in output["data"].as_array().unwrap().iter().zip(SAMPLE_PREDICTIONS) {
            assert_close(value.as_f64().unwrap(), expected, 1e-9);
        }
    }
}

#[tokio::test]
async fn v2_bad_requests_get_the_protocol_errors() {
    let server = ready_server().await;
    let input = |name: &str, shape: Value, datatype: &str, data: Value| json!({ "inputs": [{ "name": name, "shape": shape, "datatype": datatype, "data": data }] });
    let row: Vec<i32> = (1..=10).collect();
    let cases = [
        (
            "nope",
            input("input", json!([1, 10]), "FP64", json!(row)),
            404,
            "no model named",
        ),
        (
            MODEL,
            input("input", json!([1, 9]), "FP64", json!(row)),
            400,
            "shape",
        ),
        (
            MODEL,
            input("input", json!([2, 10]), "FP64", json!(row)),
            400,
            "needs 20 values",
        ),
        (
            MODEL,
            input("input", json!([1, 10]), "FP32", json!(row)),
            400,
            "datatype FP32",
        ),
        (
            MODEL,
            input("other", json!([1, 10]), "FP64", json!(row)),
            400,
            "unknown input",
        ),
        (
            MODEL,
            input("input", json!([1, 10]), "FP64", json!(vec!["a"; 10])),
            400,
            "non-number",
        ),
        (MODEL, json!({ "inputs": "x" }), 400, "not valid JSON"),
    ];
    for (model, body, status, part) in cases {
        let (actual, answer) = infer(&server, model, body).await;
        assert_eq!(actual, status, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(part), "{answer}");
    }
    let (status, answer) = get_json(&server, "/v2/models/nope").await;
    assert_eq!(status, 404);
    assert!(answer["error"].is_string());
}
