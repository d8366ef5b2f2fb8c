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
async fn a_request_head_that_never_completes_is_cut_off_at_the_head_timeout() {
    let server = Server::start(&[], &[("AML_SCORER_HEAD_TIMEOUT_MS", "400")]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: slow\r\nContent-Le")
        .unwrap();
    let (_, after) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert!(after >= Duration::from_millis(300), "closed after {after:?}");

    // The server still answers.
    let live = client().get(server.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_head_timeout() {
    let server = Server::start(&[], &[("AML_SCORER_HEAD_TIMEOUT_MS", "400")]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: idle\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5));
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
    assert!(server.wait_for_log("the request body timed out", Duration::from_secs(2)));
}
