//! Request telemetry to an OTLP/HTTP receiver, decoded with the `opentelemetry-proto` package
//! (`tests/clients/otlp_decode.py`), beside Application Insights: both exporters on at once.

use std::time::Duration;

use serde_json::Value;

use super::stand_in::StandIn;
use crate::common::*;

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

/// The spans in every export the receiver got, decoded by the OpenTelemetry protobuf types.
fn decoded_spans(stand_in: &StandIn, dir: &std::path::Path) -> Vec<Value> {
    let mut files = Vec::new();
    for (i, received) in stand_in
        .received()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .enumerate()
    {
        assert_eq!(received.headers["content-type"], "application/x-protobuf");
        let file = dir.join(format!("export-{i}.pb"));
        std::fs::write(&file, &received.body).unwrap();
        files.push(file.to_string_lossy().into_owned());
    }
    assert!(!files.is_empty(), "no OTLP export received");
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    serde_json::from_str(&run_client("otlp_decode.py", &args)).unwrap()
}

// Multi-threaded: the stand-in must keep serving while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_an_otlp_server_span_in_the_callers_trace_beside_app_insights() {
    let otlp = StandIn::start().await;
    let app_insights = StandIn::start_tls().await;
    let ca_file = app_insights.ca_file.as_ref().unwrap().display().to_string();
    let mut server = Server::start(
        &["--ca-file", &ca_file],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{}", otlp.addr)),
            ("OTEL_SERVICE_NAME", "scorer-under-test"),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                &format!(
                    "InstrumentationKey=k;IngestionEndpoint=http://{}/",
                    app_insights.addr
                ),
            ),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let answer = client()
        .post(server.url("/v2/models/sklearn_regression_model/infer"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .header("x-request-id", "otlp-1")
        .body(r#"{"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64", "data": [1,2,3,4,5,6,7,8,9,10]}]}"#)
        .send()
        .await
        .unwrap();
    let traceparent = answer.headers()["traceparent"].to_str().unwrap().to_owned();
    let status = answer.status().as_u16();
    let missing = post(&server, "{").await;
    assert_eq!(missing.status, 400);
    otlp.wait_until(Duration::from_secs(20), |r| !r.is_empty()).await;
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)).unwrap().success());

    let dir = tempfile::tempdir().unwrap();
    let spans = decoded_spans(&otlp, dir.path());
    let infer = spans
        .iter()
        .find(|s| s["attributes"]["request_id"] == "otlp-1")
        .unwrap_or_else(|| panic!("no span with the request id in {spans:#?}"));
    assert_eq!(infer["trace_id"], CALLER_TRACE);
    assert_eq!(infer["parent_span_id"], CALLER_SPAN);
    assert_eq!(
        traceparent,
        format!("00-{CALLER_TRACE}-{}-01", infer["span_id"].as_str().unwrap())
    );
    assert_eq!(infer["kind"], "SPAN_KIND_SERVER");
    assert_eq!(infer["name"], "POST /v2/models/{name}/infer");
    assert_eq!(infer["attributes"]["http.route"], "/v2/models/{name}/infer");
    assert_eq!(
        infer["attributes"]["url.path"],
        "/v2/models/sklearn_regression_model/infer"
    );
    assert_eq!(
        infer["attributes"]["http.response.status_code"],
        i64::from(status)
    );
    assert_eq!(infer["status"], "STATUS_CODE_UNSET");
    assert!(infer["duration_ns"].as_u64().unwrap() > 0);
    assert_eq!(infer["resource"]["service.name"], "scorer-under-test");
    // A 4xx is the caller's error: recorded, not a failed span.
    let bad = spans
        .iter()
        .find(|s| s["attributes"]["http.response.status_code"] == 400)
        .expect("the 400's span");
    assert_eq!(bad["status"], "STATUS_CODE_UNSET");
    assert_ne!(bad["trace_id"], CALLER_TRACE);
    // Both exporters were on: Application Insights got the same requests.
    assert!(
        !app_insights.received().is_empty(),
        "Application Insights got nothing"
    );
    let logs = server.logs();
    assert!(logs.contains("request telemetry to OTLP/HTTP"), "{logs}");
    assert!(
        logs.contains(&format!("http://{}/v1/traces", otlp.addr)),
        "{logs}"
    );
}

#[test]
fn grpc_otlp_is_refused_at_start_naming_the_setting() {
    let Err((logs, status)) = Server::try_start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    ) else {
        panic!("the server started with OTLP over gRPC");
    };
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(logs.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_is_counted_and_logged_while_scoring_goes_on() {
    // A port nothing listens on: every export is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = Server::start(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{closed}"))],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    for _ in 0..20 {
        let answer = post(&server, sample_request()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.headers.contains_key("traceparent"));
    }
    assert!(
        server.wait_for_log("telemetry export failed", Duration::from_secs(15)),
        "{}",
        server.logs()
    );
    let metrics = get_text(&server, "/metrics").await;
    let failed: u64 = metrics
        .lines()
        .find(|l| l.starts_with(r#"aml_scorer_telemetry_spans_total{exporter="otlp",outcome="failed"}"#))
        .unwrap_or_else(|| panic!("no failed count in\n{metrics}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        failed >= 20,
        "{failed} spans counted as failed, 21 were sent or queued\n{metrics}"
    );
    let answer = post(&server, sample_request()).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn without_an_exporter_there_is_no_span_and_no_traceparent() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let answer = client()
        .post(server.url("/score"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .body(sample_request())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(!answer.headers().contains_key("traceparent"));
    assert!(
        server.logs().contains("request telemetry off"),
        "{}",
        server.logs()
    );
}

#[test]
fn an_otlp_setting_the_exporter_cannot_use_stops_the_start() {
    // The exporter reads this one itself, once the port is bound; compression is not built in
    // (spans are small and the collector is usually beside the server).
    let mut server = Server::start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ],
    );
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server stops");
    let logs = server.logs();
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(logs.contains("cannot start request telemetry"), "{logs}");
}
