//! Slow and numerous clients against the real binary: a request head that never completes, an
//! idle keep-alive connection, a body that stalls, and more connections than the cap.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use crate::common::*;

/// Reads until the server closes the connection (or `within` passes); returns what it sent and
/// how long it took.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(within)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) => panic!("the connection is still open after {within:?} ({error})"),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

#[tokio::test]
async fn a_request_head_that_never_completes_gets_408_once_its_request_line_is_in() {
    let server = Server::start(
        &[],
        &[
            ("AML_SCORER_HEAD_TIMEOUT_MS", "400"),
            ("AZUREML_LOG_LEVEL", "debug"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: slow\r\nContent-Le")
        .unwrap();
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("AML_SCORER_HEAD_TIMEOUT_MS"), "{answer}");
    assert!(after >= Duration::from_millis(300), "closed after {after:?}");

    // Without a whole request line there is nothing to answer: the connection closes.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"POST /sco").unwrap();
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert_eq!(answer, "");
    assert!(after >= Duration::from_millis(300), "closed after {after:?}");

    // A connection that sends nothing at all is closed too.
    let mut silent = TcpStream::connect(server.addr).unwrap();
    let (answer, _) = read_until_closed(&mut silent, Duration::from_secs(5));
    assert_eq!(answer, "");
    assert!(server.wait_for_log("request head timed out", Duration::from_secs(2)));

    // The server still answers.
    let live = client().get(server.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout_not_the_head_timeout() {
    let server = Server::start(
        &[],
        &[
            ("AML_SCORER_HEAD_TIMEOUT_MS", "5000"),
            ("AML_SCORER_IDLE_TIMEOUT_MS", "400"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: idle\r\n\r\n")
        .unwrap();
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(4));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(after >= Duration::from_millis(300), "closed after {after:?}");

    // A slow head is not cut at the (short) idle timeout.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"GET /health/live HTTP/1.1\r\n").unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    stream
        .write_all(b"Host: slow\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(4));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn past_the_connection_cap_the_server_waits_to_accept_rather_than_failing() {
    let server = Server::start(&[], &[("AML_SCORER_MAX_CONNECTIONS", "3")]);
    server.wait_ready(Duration::from_secs(20)).await;
    // wait_ready's own connection may still be open: let it close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The fourth connection is held in the kernel's backlog: connected, but not answered.
    let mut waiting = TcpStream::connect(server.addr).unwrap();
    waiting
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: fourth\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buffer = [0u8; 64];
    assert!(waiting.read(&mut buffer).is_err(), "answered past the cap");

    // One held connection closes: the fourth is accepted and answered.
    held.pop();
    let (answer, _) = read_until_closed(&mut waiting, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server
        .logs()
        .lines()
        .all(|line| !line.contains("\"level\":\"ERROR\"")));
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_naming_the_setting_at_the_body_timeout() {
    let server = Server::start(&[], &[("AML_SCORER_BODY_TIMEOUT_MS", "400")]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000\r\n\r\n{\"data\": [[")
        .unwrap();
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("AML_SCORER_BODY_TIMEOUT_MS"), "{answer}");
    assert!(after >= Duration::from_millis(300), "answered after {after:?}");
    // Its access-log line says why, whatever the access-log setting.
    assert!(server.wait_for_log(r#""status":408"#, Duration::from_secs(2)));
    assert!(server.logs().contains("(AML_SCORER_BODY_TIMEOUT_MS)"));
}

#[tokio::test]
async fn a_body_slower_than_the_minimum_rate_gets_408_naming_the_setting() {
    let server = Server::start(&[], &[("AML_SCORER_MIN_BODY_RATE", "1000")]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: slow\r\nContent-Length: 100000\r\n\r\n{\"data\": [[")
        .unwrap();
    // Well within the 60 s body timeout, but under 1000 bytes/s once the 5 s grace is over.
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("AML_SCORER_MIN_BODY_RATE"), "{answer}");
    assert!(after >= Duration::from_secs(4), "answered after {after:?}");
    assert!(server.wait_for_log(r#""status":408"#, Duration::from_secs(2)));
    assert!(server.logs().contains("(AML_SCORER_MIN_BODY_RATE)"));
}

/// A request head for a `/score` body of `length` bytes.
fn score_head(length: usize) -> String {
    format!("POST /score HTTP/1.1\r\nHost: big\r\nContent-Length: {length}\r\n\r\n")
}

/// The sample request padded with spaces to `length` bytes (still valid JSON).
fn padded_sample(length: usize) -> String {
    let body = sample_request();
    format!("{body}{}", " ".repeat(length - body.len()))
}

#[tokio::test]
async fn the_in_flight_memory_budget_answers_429_when_full_and_413_for_a_request_larger_than_it() {
    let server = Server::start(&[], &[("AML_SCORER_MAX_INFLIGHT_BYTES", "1000000")]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert!(server.wait_for_log("in-flight memory budget", Duration::from_secs(2)));
    let body = 300_000;

    // Larger than the whole budget (body and decoded tensors): 413 from the head alone.
    let mut huge = TcpStream::connect(server.addr).unwrap();
    huge.write_all(score_head(600_000).as_bytes()).unwrap();
    let (answer, _) = read_until_closed(&mut huge, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("AML_SCORER_MAX_INFLIGHT_BYTES"), "{answer}");
    assert!(answer.contains("AML_SCORER_MAX_BODY_BYTES"), "{answer}");

    // One body in flight holds 600 kB of the 1 MB; a second one waits 1 s, then gets 429.
    let mut holding = TcpStream::connect(server.addr).unwrap();
    holding.write_all(score_head(body).as_bytes()).unwrap();
    let held_body = padded_sample(body);
    holding.write_all(&held_body.as_bytes()[..10]).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let busy = post(&server, padded_sample(body)).await;
    assert_eq!(busy.status, 429, "{}", busy.body);
    assert!(
        busy.message().contains("AML_SCORER_MAX_INFLIGHT_BYTES"),
        "{}",
        busy.body
    );
    assert_eq!(busy.headers["retry-after"], "1");
    assert!(started.elapsed() >= Duration::from_millis(900));

    // The held body finishes: its room comes back, and the next request is scored.
    holding.write_all(&held_body.as_bytes()[10..]).unwrap();
    holding.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut status = [0u8; 12];
    holding.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    let scored = post(&server, padded_sample(body)).await;
    assert_eq!(scored.status, 200, "{}", scored.body);
}
