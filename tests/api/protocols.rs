//! The observability and protocol routes over the real server: `/swagger.json`, `/metrics` after
//! traffic, and the KServe V2 routes written from the protocol's specification.

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
async fn v2_errors_show_a_long_client_name_cut_short() {
    let server = ready_server().await;
    let long = "n".repeat(1 << 20);
    let row: Vec<i32> = (1..=10).collect();
    let cases = [
        json!({ "inputs": [{ "name": long, "shape": [1, 10], "datatype": "FP64", "data": row }] }),
        json!({ "inputs": [{ "name": "input", "shape": [1, 10], "datatype": long, "data": row }] }),
        json!({
            "inputs": [{ "name": "input", "shape": [1, 10], "datatype": "FP64", "data": row }],
            "outputs": [{ "name": long }],
        }),
    ];
    for body in cases {
        let (status, answer) = infer(&server, MODEL, body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.len() < 200, "{message}");
        assert!(
            message.contains(&format!("\"{}\"...", "n".repeat(40))),
            "{message}"
        );
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
            "datatype \"FP32\"",
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

/// A tensor's `data` is checked as JSON as it is read (not by a pass before): text that is not
/// JSON there, or around it, is a 400 saying so and where, and the server goes on.
#[tokio::test]
async fn v2_malformed_json_is_a_400_naming_the_place() {
    let server = ready_server().await;
    let url = format!("/v2/models/{MODEL}/infer");
    let row = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10";
    let body = |data: &str| {
        format!(
            r#"{{"inputs": [{{"name": "input", "shape": [1, 10], "datatype": "FP64", "data": {data}}}]}}"#
        )
    };
    let cases = [
        (
            body(&format!("[{row},]")),
            "input \"input\": data is not valid JSON at its byte",
        ),
        (body(&format!("[{row} 11]")), "expected `,` or `]`"),
        (body(&format!("[[{row}]")), "not valid JSON"),
        (body(&format!("[{row}, +1]")), "not valid JSON"),
        (
            body(&format!("[{row}]]")),
            "not valid JSON: expected `,` or `}` at line 1 column",
        ),
        (
            format!("{} x", body(&format!("[{row}]"))),
            "trailing characters at line 1 column",
        ),
        (
            body(&format!("[{row}")),
            "not valid JSON: expected `,` or `]` at line 1 column 107",
        ),
        (
            body(&format!("[{row}]"))[..100].to_owned(),
            "not valid JSON: EOF while parsing a value at line 1 column 100",
        ),
    ];
    for (body, part) in cases {
        let answer = post_to(&server, &url, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        let message = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(part), "{body}: {message}");
    }
    let answer = post_to(&server, &url, body(&format!("[{row}]"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
