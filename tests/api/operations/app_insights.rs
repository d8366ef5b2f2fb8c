//! Request telemetry to an Application Insights ingestion stand-in: the connection string's
//! `IngestionEndpoint` is honoured and the gzipped envelopes carry the request's fields and the
//! caller's trace id; attached answers, 5xx answers as exceptions, the flush at shutdown and the
//! key never logged are in `app_insights/answers.rs`.

use std::{io::Read, time::Duration};

use serde_json::Value;

use super::stand_in::StandIn;
use crate::common::*;

mod answers;

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
