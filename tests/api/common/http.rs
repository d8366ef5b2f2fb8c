//! Talking to the server: a plain client, `POST /score` answers, the reference model's
//! predictions, and a request held half-sent.

use std::{net::SocketAddr, time::Duration};

use super::{repo_path, Server};

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain client builds")
}

/// A `POST /score` answer: status, body text, headers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.body))
            .to_owned()
    }
}

/// The body of `GET path`.
pub async fn get_text(server: &Server, path: &str) -> String {
    client()
        .get(server.url(path))
        .send()
        .await
        .expect("the server answers")
        .text()
        .await
        .expect("the answer has a body")
}

pub async fn post(server: &Server, body: impl Into<reqwest::Body>) -> Answer {
    post_to(server, "/score", body).await
}

/// A POST to `path` (with its query string).
pub async fn post_to(server: &Server, path: &str, body: impl Into<reqwest::Body>) -> Answer {
    let response = client()
        .post(server.url(path))
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("the answer has a body");
    Answer {
        status,
        body,
        headers,
    }
}

/// The reference model of `shared/reference/README.md`: `y = X . coef + intercept`.
pub const COEF: [f64; 10] = [
    0.3034995490660758,
    -237.63931533353468,
    510.5306054362256,
    327.7369804093469,
    -814.1317093725376,
    492.8145879837301,
    102.84845219167944,
    184.60648905984073,
    743.5196167505414,
    76.09517221662335,
];
pub const INTERCEPT: f64 = 152.76430691633442;
pub const SAMPLE_PREDICTIONS: [f64; 2] = [11055.977245525679, 4503.079536107787];

pub fn reference_prediction(row: &[f64]) -> f64 {
    row.iter().zip(COEF).map(|(x, c)| x * c).sum::<f64>() + INTERCEPT
}

pub fn assert_close(actual: f64, expected: f64, relative: f64) {
    let error = ((actual - expected) / expected).abs();
    assert!(
        error <= relative,
        "{actual} vs {expected}: relative error {error:e} > {relative:e}"
    );
}

/// Asserts the answer is the sample request's published predictions within 1e-9 relative.
pub fn assert_sample_predictions(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let values: Vec<f64> = serde_json::from_str(&answer.body).expect("a JSON array of numbers");
    assert_eq!(values.len(), 2);
    for (actual, expected) in values.iter().zip(SAMPLE_PREDICTIONS) {
        assert_close(*actual, expected, 1e-9);
    }
}

pub fn sample_request() -> String {
    std::fs::read_to_string(repo_path("sample-request.json"))
        .expect("sample-request.json is at the top level")
}

/// A `POST /score` of the sample request of which only the first half of the body has been
/// sent: the request is in flight until `finish` sends the rest and reads the answer.
pub struct HalfSentRequest {
    stream: std::net::TcpStream,
    tail: String,
}

impl HalfSentRequest {
    pub fn start(addr: SocketAddr) -> Self {
        use std::io::Write;
        let body = sample_request();
        let (head, tail) = body.split_at(body.len() / 2);
        let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
        write!(
            stream,
            "POST /score HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{head}",
            body.len()
        )
        .expect("the head is sent");
        stream.flush().expect("the head is flushed");
        HalfSentRequest {
            stream,
            tail: tail.to_owned(),
        }
    }

    /// Sends the rest of the body and returns the whole raw answer.
    pub fn finish(mut self) -> String {
        use std::io::{Read, Write};
        self.stream
            .write_all(self.tail.as_bytes())
            .expect("the tail is sent");
        let mut answer = String::new();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        self.stream
            .read_to_string(&mut answer)
            .expect("the answer is read");
        answer
    }
}
