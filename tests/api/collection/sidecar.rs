//! A stand-in for Azure ML's collector sidecar on 127.0.0.1 port 0: it records every request
//! (path, headers, the JSON body decoded) and answers as a test scripts it: 200, an error
//! status, or late.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    Router,
};
use serde_json::Value;

/// How the sidecar answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// 200 after this long.
    Late(Duration),
}

/// One request the sidecar received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    /// How it was answered.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .expect("a text header")
    }

    /// `model_inputs` or `model_outputs`, from `ce-type`.
    pub fn collection(&self) -> &str {
        self.header("ce-type")
            .strip_prefix("azureml.inference.")
            .expect("ce-type is azureml.inference.<collection>")
    }
}

#[derive(Default)]
struct Script {
    next: VecDeque<Answer>,
    /// After the scripted answers.
    otherwise: Option<Answer>,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
}

pub struct Sidecar {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Sidecar {
    /// A sidecar answering 200 to everything, unless scripted otherwise.
    pub async fn start() -> Sidecar {
        let shared = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(receive).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the sidecar serves");
        });
        Sidecar { addr, shared, task }
    }

    /// Answers the next requests with `answers`, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().unwrap().next.extend(answers);
    }

    /// Answers every request after the scripted ones with `answer`.
    pub fn always(&self, answer: Answer) {
        self.shared.script.lock().unwrap().otherwise = Some(answer);
    }

    /// The settings that point the server at this sidecar.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZUREML_MDC_HOST", self.addr.ip().to_string()),
            ("AZUREML_MDC_PORT", self.addr.port().to_string()),
        ]
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (panics after `timeout`), then returns them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the sidecar got {} of {count} payloads in {timeout:?}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = {
        let mut script = shared.script.lock().unwrap();
        script.next.pop_front().or(script.otherwise)
    };
    let status = match answer {
        Some(Answer::Late(wait)) => {
            tokio::time::sleep(wait).await;
            200
        }
        Some(Answer::Status(status)) => status,
        None => 200,
    };
    // A body that is not JSON is kept as text, which no test expects.
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|e| Value::String(format!("not JSON ({e}): {}", String::from_utf8_lossy(&body))));
    shared.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        status,
    });
    StatusCode::from_u16(status).unwrap()
}
