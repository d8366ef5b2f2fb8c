//! The cap on access-log lines of their own: at most 100 a second, counted by the second each is
//! written in, whatever mix of fast and slow errors floods in; the summary counts the rest.

use std::time::Duration;

use super::{access_lines, ready_server, summary_line};
use crate::common::*;

#[tokio::test]
async fn a_flood_of_bad_requests_gets_at_most_100_lines_a_second_and_the_summary_counts_the_rest() {
    let mut server = ready_server().await;
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
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let lines = access_lines(&server);
    let fullest = fullest_second(&lines);
    assert!(fullest <= 100, "{fullest} lines in one second");
    let summary = summary_line(&server);
    assert_eq!(summary["client_errors"], 1000, "{summary}");
    assert_eq!(
        summary["lines_left_out"].as_u64().unwrap() as usize + lines.len(),
        1000
    );
}

/// The microseconds since midnight UTC a line's `timestamp` (RFC 3339, UTC) gives.
fn micros_of_day(line: &serde_json::Value) -> i64 {
    let timestamp = line["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no timestamp: {line}"));
    let time = timestamp
        .split_once('T')
        .and_then(|(_, time)| time.strip_suffix('Z'))
        .unwrap_or_else(|| panic!("not an RFC 3339 UTC time: {timestamp}"));
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let field = |text: &str| text.parse::<i64>().unwrap_or_else(|_| panic!("{timestamp}"));
    let seconds = clock.split(':').fold(0, |sum, part| sum * 60 + field(part));
    let micros = field(&format!("{fraction:0<6}")[..6]);
    seconds * 1_000_000 + micros
}

/// The most lines any one second held. The cap counts whole seconds from the server's own start,
/// which the log does not show; so each line's time is tried as the start of the seconds, and
/// the start that fits the cap best is kept. Trying the lines' times is as good as trying every
/// start: moving a start forward to the next line's time moves no line to another second.
fn fullest_second(lines: &[serde_json::Value]) -> usize {
    const DAY: i64 = 86_400_000_000;
    let mut times: Vec<i64> = lines.iter().map(micros_of_day).collect();
    // A run across midnight UTC: the lines after it count on from the day before.
    if times.iter().max().unwrap_or(&0) - times.iter().min().unwrap_or(&0) > DAY / 2 {
        times.iter_mut().filter(|t| **t < DAY / 2).for_each(|t| *t += DAY);
    }
    let fullest_from = |start: i64| {
        let mut per_second = std::collections::HashMap::new();
        for t in &times {
            *per_second.entry((t - start).div_euclid(1_000_000)).or_insert(0) += 1;
        }
        per_second.into_values().max().unwrap_or(0)
    };
    times.iter().map(|&start| fullest_from(start)).min().unwrap_or(0)
}

#[test]
fn the_fullest_second_is_counted_from_the_best_start_and_across_midnight() {
    let at = |time: &str| serde_json::json!({ "timestamp": format!("2030-01-01T{time}Z") });
    // Pairs of lines at 23:59:59.9, 00:00:00.2 and 00:00:00.5, within 0.6 s: any start of a
    // second leaves two of the pairs in one second, and the best start (00:00:00.5) no more.
    let lines = [
        at("23:59:59.900000"),
        at("23:59:59.9"),
        at("00:00:00.200000"),
        at("00:00:00.2"),
        at("00:00:00.500000"),
        at("00:00:00.5"),
    ];
    assert_eq!(fullest_second(&lines), 4);
}

/// A request held half-sent until the server answers it 408 at the body timeout: an error
/// that started more than a second before its line is written. The answer, and whether the
/// server then closed the connection (rather than the read timing out).
fn stalled_request(addr: std::net::SocketAddr) -> (String, bool) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
    stream
        .write_all(b"POST /score HTTP/1.1\r\nHost: stalled\r\nContent-Length: 1000\r\n\r\n{\"data\": [[")
        .expect("the head is sent");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let closed = stream.read_to_end(&mut answer).is_ok();
    (String::from_utf8_lossy(&answer).into_owned(), closed)
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
    let elapsed = started.elapsed();
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());

    // Assert: every slow error answered 408 and closed, within the flood's planned 2.1 s (the
    // last starts at 0.95 s, its timeout 1.1 s later), so the flood lasted as designed: a 408
    // left open would hold the flood until the 5 s read timeout.
    for (answer, closed) in &slow_answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(closed, "the connection stayed open after its 408");
    }
    assert!(elapsed <= Duration::from_secs(4), "the flood took {elapsed:?}");
    // At most 100 lines in any one second, out of more errors than the cap lets through.
    let lines = access_lines(&server);
    let fullest = fullest_second(&lines);
    assert!(
        fullest <= 100,
        "{fullest} lines in one second ({sent} fast and {SLOW} slow errors in {elapsed:?})"
    );
    assert!(
        sent > 2 * 100 * 4,
        "only {sent} fast requests in {elapsed:?}: too few to fill every second's cap"
    );
    let summary = summary_line(&server);
    assert_eq!(summary["client_errors"], sent + SLOW, "{summary}");
    assert_eq!(
        summary["lines_left_out"].as_u64().unwrap() as usize + lines.len(),
        sent + SLOW
    );
}
