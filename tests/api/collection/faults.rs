//! The sidecar's faults: down, answering 500, slow enough to fill the queue; and the shutdown's
//! flush. Scoring never waits for any of them.

use std::time::Instant;

use super::sidecar::Answer as Sidecar500;
use super::*;

const ROW: &str = r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#;

/// Polls `/metrics` until the line starting with `prefix` reaches `value`.
async fn wait_for_metric(server: &Server, prefix: &str, value: f64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while metric(server, prefix).await < value {
        assert!(
            Instant::now() < deadline,
            "{prefix} < {value} after {timeout:?}:\n{}",
            get_text(server, "/metrics").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_that_is_down_drops_payloads_counted_and_logged_once_while_scoring_goes_on() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let env = [
        ("AZUREML_MDC_ENABLED", "true"),
        ("AZUREML_MDC_HOST", "127.0.0.1"),
        ("AZUREML_MDC_PORT", &closed.port().to_string()),
    ];
    let server = Server::start(&[], &env);
    server.wait_ready(Duration::from_secs(20)).await;
    for _ in 0..3 {
        assert_eq!(post(&server, ROW).await.status, 200);
    }
    let dropped =
        r#"aml_scorer_data_collection_dropped_total{collection="model_outputs",reason="unreachable"}"#;
    wait_for_metric(&server, dropped, 3.0, Duration::from_secs(20)).await;
    let logs = server.logs();
    assert_eq!(
        logs.matches("model data collection dropped payloads").count(),
        1,
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_with_the_same_payload_and_then_delivered() {
    let sidecar = Sidecar::start().await;
    sidecar.script([Sidecar500::Status(500)]);
    let server = serve(
        &sidecar,
        &[
            ("AZUREML_MDC_ENABLED", "true"),
            ("AZUREML_MDC_SAMPLE_RATE", "100"),
        ],
    )
    .await;
    post(&server, ROW).await;
    let received = sidecar.wait_for(3, Duration::from_secs(10)).await;
    // Payloads go out side by side: the refused one is whichever arrived first.
    let first = received
        .iter()
        .find(|r| r.status == 500)
        .expect("one payload was refused");
    let retry = received
        .iter()
        .find(|r| r.status == 200 && r.header("trace-id") == first.header("trace-id"))
        .unwrap_or_else(|| panic!("the refused payload is sent again: {received:#?}"));
    assert_eq!(first.body, retry.body);
    wait_for_metric(
        &server,
        r#"aml_scorer_data_collection_sent_total{collection="model_inputs"}"#,
        1.0,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_answering_500_every_time_gets_three_tries_then_the_payload_is_dropped() {
    let sidecar = Sidecar::start().await;
    sidecar.always(Sidecar500::Status(500));
    let server = serve(&sidecar, &ON).await;
    assert_eq!(post(&server, ROW).await.status, 200);
    let dropped = r#"aml_scorer_data_collection_dropped_total{collection="model_inputs",reason="rejected"}"#;
    wait_for_metric(&server, dropped, 1.0, Duration::from_secs(10)).await;
    let inputs = by_collection(&sidecar.received(), "model_inputs").len();
    assert_eq!(inputs, 3, "{:#?}", sidecar.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sidecar_fills_the_queue_which_drops_without_slowing_scoring() {
    let sidecar = Sidecar::start().await;
    sidecar.always(Sidecar500::Late(Duration::from_secs(3)));
    let env = [
        ("AZUREML_MDC_ENABLED", "true"),
        ("AZUREML_MDC_QUEUE_CAPACITY", "2"),
    ];
    let server = serve(&sidecar, &env).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        assert_eq!(post(&server, ROW).await.status, 200);
        slowest = slowest.max(started.elapsed());
    }
    // Each payload takes the sidecar 3 s: a request that waited for one would show it.
    assert!(slowest < Duration::from_millis(1500), "{slowest:?}");
    let full = r#"aml_scorer_data_collection_dropped_total{collection="model_outputs",reason="queue_full"}"#;
    assert!(
        metric(&server, full).await >= 1.0,
        "{}",
        get_text(&server, "/metrics").await
    );
    assert!(metric(&server, "aml_scorer_data_collection_queue_depth").await <= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_what_is_queued_before_the_process_exits() {
    let sidecar = Sidecar::start().await;
    sidecar.always(Sidecar500::Late(Duration::from_millis(200)));
    let mut server = serve(&sidecar, &ON).await;
    for n in 0..3 {
        post_as(&server, "/score", ROW, Some(&format!("s{n}"))).await;
    }
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits");
    assert!(status.success(), "{status:?}");
    // 6 payloads, 200 ms each, one at a time: only a flush at shutdown sends them all.
    assert_eq!(sidecar.received().len(), 6, "{:#?}", sidecar.received());
}
