//! Fuzzing the HTTP layer of the real binary: random byte streams, and valid requests (plain,
//! keep-alive, chunked, `Expect: 100-continue`, V2) with bytes flipped, inserted, deleted or cut,
//! each sent on its own connection, which is then half-closed. Every answer the server gives is
//! a 1xx, 2xx or 4xx (never a 5xx), every connection ends without a hang, and the server keeps
//! answering. `PROPTEST_CASES` runs more than the default 3,000.

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpStream},
    time::Duration,
};

use proptest::prelude::*;

use crate::common::*;

const REQUESTS: &[&[u8]] = &[
    b"GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /score HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"data\": [[1,2,3,4,5,6,7,8,9,10]]}      ",
    b"POST /score?method=predict HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"data\": [[1,2,3\r\n17\r\n,4,5,6,7,8,9,10]]}     \r\n0\r\n\r\n",
    b"POST /score HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 34\r\n\r\n{\"data\": [[1,2,3,4,5,6,7,8,9,10]]}",
    b"POST /v2/models/sklearn_regression_model/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 10], \"datatype\": \"FP64\", \"data\": [1,2,3,4,5,6,7,8,9,10]}]}",
    b"GET /score?data=[[1,2,3,4,5,6,7,8,9,10]] HTTP/1.1\r\nHost: a\r\n\r\nGET /v2 HTTP/1.1\r\nHost: a\r\n\r\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..40))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn mutate(request: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = request.to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Flip(at, byte) if !bytes.is_empty() => bytes[at % len] = *byte,
            Mutation::Insert(at, more) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, more.iter().copied());
            }
            Mutation::Delete(at, n) if !bytes.is_empty() => {
                let at = at % len;
                bytes.drain(at..(at + n).min(bytes.len()));
            }
            Mutation::Cut(at) => bytes.truncate(at % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0..REQUESTS.len(), prop::collection::vec(mutation(), 1..6))
            .prop_map(|(i, mutations)| mutate(REQUESTS[i], &mutations)),
        prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// Sends `bytes`, half-closes, and reads everything the server says until it closes.
fn exchange(server: &Server, bytes: &[u8]) -> Vec<u8> {
    let mut connection = TcpStream::connect(server.addr).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may close early (a malformed head): what it wrote is still readable.
    let _ = connection.write_all(bytes);
    let _ = connection.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match connection.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!(
                "no end after 10 s for {:?}: {error}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }
    answer
}

/// The status of every response in `answer` (responses start at the start or after a body).
fn statuses(answer: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(answer);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn random_and_mutated_byte_streams_get_4xx_or_success_never_5xx_or_a_hang() {
    let server = Server::start(
        &[],
        &[
            ("AML_SCORER_BODY_TIMEOUT_MS", "2000"),
            ("AML_SCORER_HEAD_TIMEOUT_MS", "2000"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let server = &server;
    tokio::task::block_in_place(|| {
        proptest!(config, |(bytes in stream())| {
            let answer = exchange(server, &bytes);
            for status in statuses(&answer) {
                prop_assert!(status < 500, "{status} for {:?}: {}", String::from_utf8_lossy(&bytes), String::from_utf8_lossy(&answer));
            }
        });
    });
    // Every valid request, unmutated, is answered with success.
    for request in REQUESTS {
        let answer = exchange(server, request);
        let got = statuses(&answer);
        assert!(
            !got.is_empty() && got.iter().all(|s| *s < 300),
            "{got:?}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert!(server
        .logs()
        .lines()
        .all(|line| !line.contains("\"level\":\"ERROR\"")));
}
