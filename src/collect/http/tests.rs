//! The sidecar client against a scripted listener: what it writes, keep-alive, a connection the
//! sidecar closed, answers it must not keep the connection after, and heads it refuses.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const HEADERS: &[u8] = b"ce-type: azureml.inference.model_inputs\r\n";
const SECOND: Duration = Duration::from_secs(1);

/// Reads one request (head and `content-length` body) from `stream`; `None` at its end.
async fn request(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(seen[..end].to_vec()).unwrap();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            while seen.len() < end + 4 + length {
                let mut chunk = [0; 4096];
                let read = stream.read(&mut chunk).await.unwrap();
                seen.extend_from_slice(&chunk[..read]);
            }
            return Some(String::from_utf8(seen).unwrap());
        }
        let mut chunk = [0; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => seen.extend_from_slice(&chunk[..read]),
        }
    }
}

/// A sidecar that answers each request on a connection with the next of `answers`, then closes
/// it; `(requests, connections)` seen so far through the returned handle.
async fn sidecar(
    answers: &'static [&'static str],
) -> (Client, tokio::task::JoinHandle<(Vec<String>, usize)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (mut requests, mut connections) = (Vec::new(), 0);
        let mut answers = answers.iter();
        while let Ok(Ok((mut stream, _))) = tokio::time::timeout(SECOND, listener.accept()).await {
            connections += 1;
            while let Some(request) = request(&mut stream).await {
                requests.push(request);
                match answers.next() {
                    Some(answer) => stream.write_all(answer.as_bytes()).await.unwrap(),
                    None => break,
                }
                if answers.as_slice().first() == Some(&"close") {
                    answers.next();
                    break;
                }
            }
        }
        (requests, connections)
    });
    (Client::new(authority, SECOND), task)
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";

#[tokio::test]
async fn posts_keep_one_connection_and_write_the_head_the_sidecar_reads() {
    let (mut client, sidecar) = sidecar(&[OK, OK]).await;
    for body in ["[1]", "[22]"] {
        let status = client
            .post("/modeldata/log", HEADERS, body.as_bytes(), SECOND)
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    drop(client);
    let (requests, connections) = sidecar.await.unwrap();
    assert_eq!(connections, 1);
    let authority = &requests[0][requests[0].find("host: ").unwrap() + 6..];
    assert!(authority.starts_with("127.0.0.1:"));
    assert!(requests[0].starts_with("POST /modeldata/log HTTP/1.1\r\nhost: 127.0.0.1:"));
    assert!(
        requests[0].ends_with("\r\nce-type: azureml.inference.model_inputs\r\ncontent-length: 3\r\n\r\n[1]")
    );
    assert!(requests[1].ends_with("content-length: 4\r\n\r\n[22]"));
}

#[tokio::test]
async fn a_connection_the_sidecar_closed_is_replaced_within_the_same_try() {
    let (mut client, sidecar) = sidecar(&[OK, "close", OK]).await;
    assert_eq!(client.post("/log", HEADERS, b"[1]", SECOND).await.unwrap(), 200);
    // The sidecar closed the kept connection after its answer.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(client.post("/log", HEADERS, b"[2]", SECOND).await.unwrap(), 200);
    drop(client);
    let (requests, connections) = sidecar.await.unwrap();
    assert_eq!((requests.len(), connections), (2, 2));
}

#[tokio::test]
async fn a_connection_closed_within_an_answer_head_is_not_sent_again() {
    // The sidecar may have taken the payload before it closed: sending it again would store it
    // twice. Only a connection closed before any answer is retried.
    let (mut client, sidecar) = sidecar(&[OK, "HTTP/1.1 20", "close", OK]).await;
    assert_eq!(client.post("/log", HEADERS, b"[1]", SECOND).await.unwrap(), 200);
    let error = client.post("/log", HEADERS, b"[2]", SECOND).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(client.post("/log", HEADERS, b"[3]", SECOND).await.unwrap(), 200);
    drop(client);
    let (requests, connections) = sidecar.await.unwrap();
    assert_eq!((requests.len(), connections), (3, 2));
}

#[test]
fn a_content_length_is_digits_and_given_once() {
    let head = |text: &str| Head::parse(text.as_bytes());
    assert!(head("HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\n").is_err());
    assert!(head("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n").is_err());
    assert!(head("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n").is_ok());
    // A 204 may say its length is 0: it has no body either way.
    assert_eq!(
        head("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .unwrap()
            .framing,
        Framing::Length(0)
    );
}

#[tokio::test]
async fn answers_without_a_length_or_asking_to_close_end_the_connection() {
    const CHUNKED: &str = "HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    const CLOSE: &str = "HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
    let (mut client, sidecar) = sidecar(&[CHUNKED, CLOSE, OK]).await;
    assert_eq!(client.post("/log", HEADERS, b"[1]", SECOND).await.unwrap(), 500);
    assert_eq!(client.post("/log", HEADERS, b"[2]", SECOND).await.unwrap(), 202);
    assert_eq!(client.post("/log", HEADERS, b"[3]", SECOND).await.unwrap(), 200);
    drop(client);
    assert_eq!(sidecar.await.unwrap().1, 3);
}

#[tokio::test]
async fn a_sidecar_that_does_not_answer_times_out_and_its_connection_goes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = Client::new(listener.local_addr().unwrap().to_string(), SECOND);
    let held = tokio::spawn(async move { listener.accept().await });
    let error = client
        .post("/log", HEADERS, b"[1]", Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert!(client.open.is_none());
    held.abort();
}

#[test]
fn heads_give_status_framing_and_keep_alive_and_garbage_is_refused() {
    let head = |text: &str| Head::parse(text.as_bytes());
    assert_eq!(
        head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n").unwrap(),
        Head {
            status: 200,
            framing: Framing::Length(12),
            keep_alive: true
        }
    );
    let old = head("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
    assert!(!old.keep_alive);
    let kept = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n").unwrap();
    assert!(kept.keep_alive);
    assert_eq!(
        head("HTTP/1.1 204 No Content\r\n\r\n").unwrap().framing,
        Framing::Length(0)
    );
    assert_eq!(head("HTTP/1.1 200 OK\r\n\r\n").unwrap().framing, Framing::Other);
    for garbage in [
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ] {
        assert_eq!(
            head(garbage).unwrap_err().kind(),
            io::ErrorKind::InvalidData,
            "{garbage}"
        );
    }
}
