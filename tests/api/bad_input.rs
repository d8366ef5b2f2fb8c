//! Every kind of bad input gets a 4xx JSON message that says what and where, and the server
//! keeps serving correct answers afterwards.

use std::time::Duration;

use crate::common::*;

async fn ready_server(args: &[&str]) -> Server {
    let server = Server::start(args, &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

async fn assert_rejected(server: &Server, body: impl Into<reqwest::Body>, status: u16, message_part: &str) {
    let answer = post(server, body).await;
    assert_eq!(answer.status, status, "{}", answer.body);
    let message = answer.message();
    assert!(
        message.contains(message_part),
        "{message:?} should contain {message_part:?}"
    );
    // The server is still there and still right.
    assert_sample_predictions(&post(server, sample_request()).await);
}

const ROW: &str = "1,2,3,4,5,6,7,8,9,10";

#[tokio::test]
async fn each_malformed_body_gets_400_with_what_is_wrong() {
    let server = ready_server(&[]).await;
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the request body is empty"),
        ("hello".into(), "not valid JSON"),
        (format!(r#"{{"data": [[{ROW}]"#), "not valid JSON"),
        (
            format!("[[{ROW}]]"),
            "must be a JSON object with a \"data\" field, found an array",
        ),
        ("42".into(), "found a number"),
        (r#"{"rows": []}"#.into(), "no \"data\" field"),
        (
            r#"{"data": {"a": 1}}"#.into(),
            "\"data\" must be an array of rows, found an object",
        ),
        (r#"{"data": "1,2"}"#.into(), "found a string"),
        (r#"{"data": []}"#.into(), "\"data\" is empty"),
        (
            r#"{"data": [[1,2,3,4,5,6,7,8,9]]}"#.into(),
            "row 0 has 9 values, the model takes 10",
        ),
        (
            format!(r#"{{"data": [[{ROW}], [{ROW}], [{ROW}], [{ROW},11]]}}"#),
            "row 3 has 11 values, the model takes 10",
        ),
        (format!(r#"{{"data": [[{ROW}], [1,2]]}}"#), "row 1 has 2 values"),
        (
            format!(r#"{{"data": [[{ROW}], 5]}}"#),
            "data[1] is a number, but data[0] is a row",
        ),
        (
            r#"{"data": [[1,2,3,4,"5",6,7,8,9,10]]}"#.into(),
            "data[0][4] is not a number (found a string)",
        ),
        (
            format!(r#"{{"data": [[{ROW}], [1,2,3,4,null,6,7,8,9,10]]}}"#),
            "data[1][4] is not a number (found null)",
        ),
        (
            r#"{"data": [[1,2,3,4,5,6,7,8,9,true]]}"#.into(),
            "data[0][9] is not a number (found a boolean)",
        ),
        (
            r#"{"data": [[1,2,[3],4,5,6,7,8,9,10]]}"#.into(),
            "data[0][2] is not a number (found an array)",
        ),
        (
            r#"{"data": [[1,2,3,4,5,6,7,8,9,1e999]]}"#.into(),
            "data[0][9]: number out of range",
        ),
    ];
    for (body, message_part) in cases {
        assert_rejected(&server, body, 400, message_part).await;
    }
}

#[tokio::test]
async fn a_number_too_large_for_float32_is_400() {
    let server = ready_server(&[
        "--model-dir",
        "tests/fixtures",
        "--model-file",
        "linear_f32_4x3.onnx",
    ])
    .await;

    let answer = post(&server, r#"{"data": [[1, 2, 3e39, 4]]}"#).await;

    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.message().contains(
        "data[0][2] = 3000000000000000000000000000000000000000 does not fit the model's input type float32"
    ));
}

#[tokio::test]
async fn invalid_utf8_is_400() {
    let server = ready_server(&[]).await;
    assert_rejected(
        &server,
        b"{\"data\": [[1,2,3,4,5,6,7,8,9,\xff]]}".to_vec(),
        400,
        "not valid UTF-8",
    )
    .await;
}

#[tokio::test]
async fn deeply_nested_arrays_are_400_without_a_crash() {
    let server = ready_server(&[]).await;
    let depth = 1_000_000;
    let body = format!(r#"{{"data": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert_rejected(&server, body, 400, "data[0][0] is not a number (found an array)").await;
    let elsewhere = format!(r#"{{"x": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert_rejected(&server, elsewhere, 400, "no \"data\" field").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let server = ready_server(&["--max-body-bytes", "1000"]).await;
    let body = format!(r#"{{"data": [{}]}}"#, vec![format!("[{ROW}]"); 100].join(","));
    assert_rejected(&server, body, 413, "larger than the limit of 1000 bytes").await;
}

#[tokio::test]
async fn a_20_mb_request_under_the_default_limit_is_answered_correctly() {
    let server = ready_server(&[]).await;
    let mut rng = fastrand::Rng::with_seed(20);
    let rows: Vec<Vec<f64>> = (0..115_000)
        .map(|_| (0..10).map(|_| rng.f64() * 1e4).collect())
        .collect();
    let body = serde_json::json!({ "data": rows }).to_string();
    assert!(body.len() >= 20_000_000, "{} bytes", body.len());

    let answer = post(&server, body).await;

    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.body[..answer.body.len().min(300)]
    );
    let predictions: Vec<f64> = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(predictions.len(), rows.len());
    for (row, prediction) in rows.iter().zip(predictions).step_by(997) {
        assert_close(prediction, reference_prediction(row), 1e-9);
    }
}

#[tokio::test]
async fn any_content_type_is_read_as_json() {
    let server = ready_server(&[]).await;
    let response = client()
        .post(server.url("/score"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(sample_request())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
