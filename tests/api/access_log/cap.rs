//! The cap on access-log lines of their own: at most 100 a second, counted by the second each is
//! written in, whatever mix of fast and slow errors floods in; the summary counts the rest.

use std::time::Duration;

use super::{access_lines, ready_server, summary_line};
use crate::common::*;

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
