//! The access log over the real server: errors and slow requests get their own lines with the
//! request id, successes a summary line, `AML_SCORER_ACCESS_LOG=all` and debug a line per request,
//! and a flood of bad requests is capped, slow ones among them or not.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

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
    let summary = summary_line(&server);
    assert_eq!(summary["client_errors"], 1000, "{summary}");
    assert_eq!(summary["lines_left_out"].as_u64().unwrap() as usize + lines, 1000);
}

/// A request held half-sent until the server answers it 408 at the body timeout: an error
/// that started more than a second before its line is written.
fn stalled_request(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: stalled\r\nContent-Length: 1000\r\n\r\n{\"data\": [[")
        .expect("the head is sent");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn slow_errors_finishing_among_a_flood_of_fast_ones_do_not_lift_the_cap() {
    // Arrange: slow errors (408 after 1.1 s) finishing every 50 ms while fast errors flood in.
    // A cap counted by the second a request started would open a fresh window at each slow one.
    const SLOW: usize = 20;
    let mut server = Server::start(&[], &[("AML_SCORER_BODY_TIMEOUT_MS", "1100")]);
    server.wait_ready(Duration::from_secs(20)).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = std::time::Instant::now();
    let addr = server.addr;
    let slow: Vec<_> = (0..SLOW)
        .map(|index| {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50 * index as u64));
                stalled_request(addr)
            })
        })
        .collect();
    let fast: Vec<_> = (0..8)
        .map(|_| {
            let (url, done) = (server.url("/score"), done.clone());
            tokio::spawn(async move {
                let client = client();
                let mut sent = 0usize;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = client.post(&url).body("{not json").send().await.unwrap();
                    assert_eq!(response.status(), 400);
                    sent += 1;
                }
                sent
            })
        })
        .collect();

    // Act
    let slow_answers = tokio::task::spawn_blocking(move || {
        slow.into_iter()
            .map(|thread| thread.join().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for sender in fast {
        sent += sender.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64().ceil() as usize;
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());

    // Assert: at most 100 lines in each second the flood touched, the rest counted.
    for answer in &slow_answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    let cap = 100 * (seconds + 1);
    assert!(
        sent > 2 * cap,
        "only {sent} fast requests in {seconds} s: too few to test a cap of {cap}"
    );
    let lines = access_lines(&server).len();
    assert!(
        lines <= cap,
        "{lines} lines in {seconds} s ({sent} fast and {SLOW} slow errors)"
    );
    let summary = summary_line(&server);
    assert_eq!(summary["client_errors"], sent + SLOW, "{summary}");
    assert_eq!(
        summary["lines_left_out"].as_u64().unwrap() as usize + lines,
        sent + SLOW
    );
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
