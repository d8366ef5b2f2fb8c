//! The sender task: takes captures off the queue one at a time, writes their records and posts
//! them to the sidecar (`POST http://{host}:{port}/modeldata/log` with the library's headers)
//! on one keep-alive connection, retrying with backoff; or, with local capture, writes them as
//! log lines. What is not delivered is counted in `drops`. One payload at a time bounds what
//! collection takes of the scoring core: when the sidecar cannot keep up, the queue fills and
//! drops at its door, which costs a request a counter.

use std::sync::{atomic::Ordering, Arc};
use std::time::{Duration, Instant};

use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::drops::{DropReason, Drops, Pending, Queued};
use super::http::Client;
use super::{Capture, CollectSettings, Collection};
use crate::telemetry::{Metrics, SERVER_VERSION};

/// Where payloads are posted on the sidecar.
const LOG_PATH: &str = "/modeldata/log";
/// Tries per payload: the first and two retries.
const ATTEMPTS: u32 = 3;
/// The first retry's wait; each next one doubles it (with jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// One attempt, connection included, at most: the sidecar is on the same host.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Captures holding more than this are written on a blocking thread, not the executor's.
const LARGE_CAPTURE_BYTES: usize = 256 * 1024;
/// How often the task looks for drops not yet logged when nothing else wakes it.
const DROP_LOG_CHECK: Duration = Duration::from_secs(10);
/// The target of local-capture lines.
const CAPTURE_LOG_TARGET: &str = "aml_scorer::collect";

/// What the sender task needs.
pub struct Sender {
    client: Client,
    local: bool,
    /// The `ce-model-version` header line, when the model has a version that is header text.
    model_version: Option<String>,
    /// The header lines of the payload being sent.
    headers: Vec<u8>,
    pending: Arc<Pending>,
    drops: Arc<Drops>,
    metrics: Arc<Metrics>,
}

/// The running task, for the shutdown's flush.
pub struct Running {
    closing: CancellationToken,
    task: JoinHandle<()>,
    pending: Arc<Pending>,
    drops: Arc<Drops>,
    metrics: Arc<Metrics>,
}

impl Sender {
    pub fn new(
        settings: &CollectSettings,
        pending: Arc<Pending>,
        drops: Arc<Drops>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Sender {
            client: Client::new(settings.authority(), CONNECT_TIMEOUT),
            local: settings.local_capture,
            model_version: settings
                .model_version
                .as_deref()
                .filter(|version| !version.is_empty() && is_header_text(version))
                .map(|version| format!("ce-model-version: {version}\r\n")),
            headers: Vec::with_capacity(512),
            pending,
            drops,
            metrics,
        }
    }

    pub fn start(self, received: mpsc::Receiver<Queued>) -> Running {
        let closing = CancellationToken::new();
        Running {
            closing: closing.clone(),
            pending: self.pending.clone(),
            drops: self.drops.clone(),
            metrics: self.metrics.clone(),
            task: tokio::spawn(self.run(received, closing)),
        }
    }

    /// Delivers every capture until the queue is closed and empty.
    async fn run(mut self, mut received: mpsc::Receiver<Queued>, closing: CancellationToken) {
        let mut closed = false;
        let mut check = tokio::time::interval(DROP_LOG_CHECK);
        loop {
            let next = tokio::select! {
                next = received.recv() => next,
                () = closing.cancelled(), if !closed => {
                    // Take nothing new; what is queued is still sent.
                    received.close();
                    closed = true;
                    continue;
                }
                _ = check.tick() => {
                    self.drops.log_unlogged();
                    continue;
                }
            };
            let Some(Queued { capture, reserved }) = next else {
                break;
            };
            self.metrics.data_collection_queued(-1);
            let collection = capture.collection;
            self.deliver(capture).await;
            self.pending.done(collection);
            // The capture and its JSON are gone only now: their room too.
            drop(reserved);
            self.drops.log_unlogged();
        }
    }

    async fn deliver(&mut self, capture: Capture) {
        let collection = capture.collection;
        let started = Instant::now();
        let (body, capture) = if capture.bytes() > LARGE_CAPTURE_BYTES {
            let written = tokio::task::spawn_blocking(move || (capture.to_json(), capture)).await;
            match written {
                Ok(written) => written,
                // Writing records does not panic; if it did, the payload is lost, not the task.
                Err(_) => return self.drops.count(collection, DropReason::Rejected, 1),
            }
        } else {
            (capture.to_json(), capture)
        };
        self.metrics.data_collection_encoded(started.elapsed());
        if self.local {
            tracing::info!(
                target: CAPTURE_LOG_TARGET,
                collection = collection.name(),
                request_id = %capture.request_id,
                payload = %String::from_utf8_lossy(&body),
                "collected"
            );
            self.metrics.data_collection_sent(collection.name());
            return;
        }
        // Written once: a retry sends the same `trace-id`.
        write_headers(&mut self.headers, &capture, self.model_version.as_deref());
        let mut reason = DropReason::Unreachable;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let backoff = FIRST_BACKOFF * 2u32.pow(attempt - 1);
                tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64())).await;
            }
            let posted = self
                .client
                .post(LOG_PATH, &self.headers, &body, ATTEMPT_TIMEOUT)
                .await;
            match posted {
                Ok(status) if (200..300).contains(&status) => {
                    self.metrics.data_collection_sent(collection.name());
                    return;
                }
                Ok(status) => {
                    reason = DropReason::Rejected;
                    let retried = status >= 500 || matches!(status, 408 | 429);
                    if !retried {
                        break;
                    }
                }
                Err(_) => reason = DropReason::Unreachable,
            }
        }
        self.drops.count(collection, reason, 1);
    }
}

/// The library's headers as lines, `host` and `content-length` aside; a new `trace-id` per
/// payload.
fn write_headers(out: &mut Vec<u8>, capture: &Capture, model_version: Option<&str>) {
    out.clear();
    out.extend_from_slice(b"content-type: application/json\r\ntrace-id: ");
    // A correlation id, not a secret: a fast random source is enough.
    let trace_id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    out.extend_from_slice(
        trace_id
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\nce-time: ");
    out.extend_from_slice(itoa::Buffer::new().format(capture.time).as_bytes());
    out.extend_from_slice(b"\r\nce-type: azureml.inference.");
    out.extend_from_slice(capture.collection.name().as_bytes());
    out.extend_from_slice(b"\r\nce-collect-data-type: pandas.core.frame.DataFrame\r\nce-agent: ");
    out.extend_from_slice(SERVER_VERSION.as_bytes());
    out.extend_from_slice(b"\r\n");
    // Ids come from a request's header or metadata; one that is not header text is left out.
    if !capture.request_id.is_empty() && is_header_text(&capture.request_id) {
        out.extend_from_slice(b"ce-x-request-id: ");
        out.extend_from_slice(capture.request_id.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(line) = model_version {
        out.extend_from_slice(line.as_bytes());
    }
}

/// Text a header value may hold as is (what `http::HeaderValue` takes): visible ASCII, spaces
/// and tabs inside; nothing that could end the line.
fn is_header_text(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: Option<&u8>| !matches!(b, Some(b' ' | b'\t'));
    edge(bytes.first())
        && edge(bytes.last())
        && bytes.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
}

impl Running {
    /// Closes the queue and waits for the task to send what is in it, at most `bound`; what is
    /// still pending then is dropped as `shutdown`.
    pub async fn finish(mut self, bound: Duration) {
        self.closing.cancel();
        if tokio::time::timeout(bound, &mut self.task).await.is_ok() {
            return;
        }
        self.task.abort();
        for collection in Collection::ALL {
            let left = self.pending.slot(collection).swap(0, Ordering::AcqRel);
            if left > 0 {
                self.drops.count(collection, DropReason::Shutdown, left);
            }
        }
        self.metrics.data_collection_queue_cleared();
    }
}

#[cfg(test)]
mod tests;
