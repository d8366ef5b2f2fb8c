//! Request telemetry to an Application Insights ingestion stand-in: the connection string's
//! `IngestionEndpoint` is honoured, the gzipped envelopes carry the request's fields and the
//! caller's trace id, 5xx answers become exceptions, shutdown flushes, and the key is never
//! logged.

use std::{io::Read, time::Duration};

use serde_json::Value;

use super::stand_in::StandIn;
use crate::common::*;

/// A key that must never reach the log.
const KEY: &str = "5ec12e7-0000-4000-8000-00000000d00d";
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The stand-in's connection string, as an `http` endpoint (the exporter sends over https all
/// the same), and its CA.
fn connection_string(stand_in: &StandIn) -> String {
    format!(
        "InstrumentationKey={KEY};IngestionEndpoint=http://{}/",
        stand_in.addr
    )
}

fn ca_file(stand_in: &StandIn) -> String {
    stand_in
        .ca_file
        .as_ref()
        .expect("an https stand-in")
        .display()
        .to_string()
}

/// Every envelope posted to `/v2/track` so far (gzipped JSON arrays).
fn envelopes(stand_in: &StandIn) -> Vec<Value> {
    let mut all = Vec::new();
    for received in stand_in.received() {
        assert_eq!(received.path, "/v2/track");
        assert_eq!(received.headers["content-encoding"], "gzip");
        let mut json = String::new();
        flate2::read::GzDecoder::new(&received.body[..])
            .read_to_string(&mut json)
            .unwrap();
        let batch: Vec<Value> = serde_json::from_str(&json).unwrap();
        all.extend(batch);
    }
    all
}

fn requests(envelopes: &[Value]) -> Vec<&Value> {
    envelopes
        .iter()
        .filter(|e| e["name"] == "Microsoft.ApplicationInsights.Request")
        .collect()
}

/// `00-<trace>-<span>-<flags>` split in its parts.
fn parts(traceparent: &str) -> Vec<String> {
    let parts: Vec<String> = traceparent.split('-').map(str::to_owned).collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    parts
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_becomes_request_telemetry_in_the_callers_trace() {
    let stand_in = StandIn::start_tls().await;
    let server = Server::start(
        &["--ca-file", &ca_file(&stand_in)],
        &[(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            &connection_string(&stand_in),
        )],
    );
    server.wait_ready(Duration::from_secs(20)).await;

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let answer = client()
        .post(server.url("/score"))
        .header("traceparent", &traceparent)
        .header("x-request-id", "req-traced-1")
        .body(sample_request())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let ours = parts(answer.headers()["traceparent"].to_str().unwrap());
    assert_eq!(ours[1], CALLER_TRACE, "the answer continues the caller's trace");
    assert_ne!(ours[2], CALLER_SPAN, "with our own span");
    // Without a traceparent, a new trace.
    let untraced = client().get(server.url("/v2/health/ready")).send().await.unwrap();
    let new_trace = parts(untraced.headers()["traceparent"].to_str().unwrap());
    assert_ne!(new_trace[1], CALLER_TRACE);

    stand_in
        .wait_until(Duration::from_secs(20), |r| requests(&envelopes_of(r)).len() >= 2)
        .await;
    let envelopes = envelopes(&stand_in);
    let scored = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["name"] == "POST /score")
        .unwrap_or_else(|| panic!("no POST /score request in {envelopes:#?}"));
    assert_eq!(scored["iKey"], KEY);
    assert_eq!(scored["tags"]["ai.operation.id"], CALLER_TRACE);
    assert_eq!(scored["tags"]["ai.operation.parentId"], CALLER_SPAN);
    let data = &scored["data"]["baseData"];
    assert_eq!(data["id"], ours[2].as_str());
    assert_eq!(data["responseCode"], "200");
    assert_eq!(data["success"], true);
    assert_eq!(data["url"], "/score");
    assert_eq!(data["properties"]["request_id"], "req-traced-1");
    assert!(
        data["duration"].as_str().unwrap().starts_with("0.00:00:"),
        "{data}"
    );
    assert!(
        data["properties"].get("response").is_none(),
        "answers are not attached by default"
    );
    let ready = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["name"] == "GET /v2/health/ready")
        .expect("the readiness request too");
    assert_eq!(ready["tags"]["ai.operation.id"], new_trace[1].as_str());

    let logs = server.logs();
    assert!(!logs.contains(KEY), "the instrumentation key was logged:\n{logs}");
    assert!(
        logs.contains("request telemetry to Application Insights"),
        "{logs}"
    );
    assert!(
        logs.contains(&stand_in.addr.to_string()),
        "the start line says where it sends:\n{logs}"
    );
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_unsampled_traceparent_does_not_silence_the_requests_telemetry() {
    let stand_in = StandIn::start_tls().await;
    let server = Server::start(
        &["--ca-file", &ca_file(&stand_in)],
        &[(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            &connection_string(&stand_in),
        )],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let answer = client()
        .post(server.url("/score"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-00"))
        .header("x-request-id", "req-unsampled-1")
        .body(sample_request())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let ours = parts(answer.headers()["traceparent"].to_str().unwrap());
    assert_eq!(ours[1], CALLER_TRACE, "the answer continues the caller's trace");
    stand_in
        .wait_until(Duration::from_secs(20), |r| {
            requests(&envelopes_of(r))
                .iter()
                .any(|e| e["data"]["baseData"]["properties"]["request_id"] == "req-unsampled-1")
        })
        .await;
    let envelopes = envelopes(&stand_in);
    let scored = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["properties"]["request_id"] == "req-unsampled-1")
        .expect("the request was recorded");
    assert_eq!(scored["tags"]["ai.operation.id"], CALLER_TRACE);
    assert_eq!(scored["tags"]["ai.operation.parentId"], CALLER_SPAN);
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_answer_is_attached_as_it_was_before_compression() {
    let stand_in = StandIn::start_tls().await;
    let mut server = Server::start(
        &["--ca-file", &ca_file(&stand_in)],
        &[
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                &connection_string(&stand_in),
            ),
            ("APP_INSIGHTS_LOG_RESPONSE_ENABLED", "true"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    // An answer over the 1 KiB the server compresses from.
    let rows: Vec<String> = (0..200).map(|i| format!("[{i},2,3,4,5,6,7,8,9,10]")).collect();
    // Not `client()`: it would inflate the answer and drop its Content-Encoding.
    let raw = reqwest::Client::builder().no_proxy().no_gzip().build().unwrap();
    let answer = raw
        .post(server.url("/score"))
        .header("accept-encoding", "gzip")
        .header("x-request-id", "req-gzipped-1")
        .body(format!(r#"{{"data": [{}]}}"#, rows.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-encoding"], "gzip");
    let gzipped = answer.bytes().await.unwrap();
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut plain)
        .unwrap();
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)).unwrap().success());
    let envelopes = envelopes(&stand_in);
    let scored = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["properties"]["request_id"] == "req-gzipped-1")
        .unwrap_or_else(|| panic!("no request telemetry in {envelopes:#?}"));
    assert_eq!(
        scored["data"]["baseData"]["properties"]["response"],
        &plain[..plain.len().min(8192)]
    );
}

/// The envelopes in `received`, for `wait_until`.
fn envelopes_of(received: &[super::stand_in::Received]) -> Vec<Value> {
    received
        .iter()
        .flat_map(|r| {
            let mut json = String::new();
            flate2::read::GzDecoder::new(&r.body[..])
                .read_to_string(&mut json)
                .unwrap();
            serde_json::from_str::<Vec<Value>>(&json).unwrap()
        })
        .collect()
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_an_exception_answers_are_attached_on_request_and_shutdown_flushes() {
    let stand_in = StandIn::start_tls().await;
    let mut server = Server::start(
        &["--scoring-timeout-ms", "1", "--ca-file", &ca_file(&stand_in)],
        &[
            ("AML_APP_INSIGHTS_ENABLED", "true"),
            // A connection string in the key's variable is read as one (the ingestion endpoint
            // is the stand-in's).
            ("AML_APP_INSIGHTS_KEY", &connection_string(&stand_in)),
            ("APP_INSIGHTS_LOG_RESPONSE_ENABLED", "true"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let rows: Vec<String> = (0..200_000)
        .map(|i| format!("[{i},2,3,4,5,6,7,8,9,10]"))
        .collect();
    let timed_out = post(&server, format!(r#"{{"data": [{}]}}"#, rows.join(","))).await;
    assert_eq!(timed_out.status, 504, "{}", timed_out.body);
    let live = get_text(&server, "/health/live").await;
    // Stop at once: the spans are still queued (the batch waits 2 s), shutdown must send them.
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)).unwrap().success());

    let envelopes = envelopes(&stand_in);
    let failed = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["responseCode"] == "504")
        .unwrap_or_else(|| panic!("the 504 was not flushed at shutdown: {envelopes:#?}"));
    assert_eq!(failed["data"]["baseData"]["success"], false);
    // The exception is in the failed request's operation (readiness's 503s while `init` ran
    // are exceptions of their own).
    let exception = envelopes
        .iter()
        .filter(|e| e["name"] == "Microsoft.ApplicationInsights.Exception")
        .find(|e| e["tags"]["ai.operation.id"] == failed["tags"]["ai.operation.id"])
        .unwrap_or_else(|| panic!("no exception for the 504 in {envelopes:#?}"));
    let details = &exception["data"]["baseData"]["exceptions"][0];
    assert_eq!(details["typeName"], "HTTP 504");
    assert_eq!(details["message"], timed_out.message().as_str());
    // Only scoring answers are attached, and a 504 has none.
    assert!(failed["data"]["baseData"]["properties"].get("response").is_none());
    let probe = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["name"] == "GET /health/live")
        .expect("the liveness request");
    assert!(
        probe["data"]["baseData"]["properties"].get("response").is_none(),
        "{live}"
    );
    let logs = server.logs();
    assert!(!logs.contains(KEY), "the instrumentation key was logged:\n{logs}");
    assert!(
        logs.contains("AML_APP_INSIGHTS_KEY"),
        "the start line names the setting:\n{logs}"
    );
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_response_logging_on_a_scoring_answer_is_attached_and_no_log_level_shows_the_key() {
    let stand_in = StandIn::start_tls().await;
    let mut server = Server::start(
        &["--ca-file", &ca_file(&stand_in)],
        &[
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                &connection_string(&stand_in),
            ),
            ("APP_INSIGHTS_LOG_RESPONSE_ENABLED", "true"),
            // Every line the server and its libraries write, for the key check below.
            ("AZUREML_LOG_LEVEL", "debug"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let answer = post(&server, sample_request()).await;
    assert_eq!(answer.status, 200);
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)).unwrap().success());
    let envelopes = envelopes(&stand_in);
    let scored = requests(&envelopes)
        .into_iter()
        .find(|e| e["data"]["baseData"]["name"] == "POST /score")
        .unwrap_or_else(|| panic!("no POST /score request in {envelopes:#?}"));
    assert_eq!(
        scored["data"]["baseData"]["properties"]["response"],
        answer.body.as_str()
    );
    let logs = server.logs();
    assert!(
        !logs.contains(KEY),
        "the instrumentation key was logged at debug:\n{logs}"
    );
}
