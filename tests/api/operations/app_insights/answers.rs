//! Answers attached to request telemetry (`APP_INSIGHTS_LOG_RESPONSE_ENABLED`): a gzipped answer
//! as it was before compression, only scoring answers, a 5xx as an exception that shutdown
//! flushes, and the key in no log line, at debug either.

use std::{io::Read, time::Duration};

use super::super::stand_in::StandIn;
use super::{ca_file, connection_string, envelopes, requests, KEY};
use crate::common::*;

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
