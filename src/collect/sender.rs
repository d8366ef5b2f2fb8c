//! The sender task: takes captures off the queue, writes their records and posts them to the
//! sidecar (`POST http://{host}:{port}/modeldata/log` with the library's headers), retrying
//! with backoff; or, with local capture, writes them as log lines. What is not delivered is
//! counted in `drops`.

use std::sync::{atomic::Ordering, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::drops::{DropReason, Drops, Pending, Queued};
use super::{Capture, CollectSettings, Collection};
use crate::telemetry::{Metrics, SERVER_VERSION};

/// Payloads being posted at once, at most.
const MAX_IN_FLIGHT: usize = 4;
/// Tries per payload: the first and two retries.
const ATTEMPTS: u32 = 3;
/// The first retry's wait; each next one doubles it (with jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// One attempt, connection included, at most: the sidecar is on the same host.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Captures holding more than this are written on a blocking thread, not the executor's.
const LARGE_CAPTURE_BYTES: usize = 256 * 1024;
/// The target of local-capture lines.
const CAPTURE_LOG_TARGET: &str = "aml_scorer::collect";

/// What the sender task needs.
pub struct Sender {
    client: reqwest::Client,
    url: String,
    local: bool,
    model_version: Option<HeaderValue>,
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
        // The sidecar is local: no proxy. Building fails only without a TLS backend, which this
        // plain-HTTP client does not use; a default client is then as good.
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .unwrap_or_default();
        Sender {
            client,
            url: settings.log_url(),
            local: settings.local_capture,
            model_version: settings
                .model_version
                .as_deref()
                .and_then(|version| HeaderValue::from_str(version).ok()),
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
            task: tokio::spawn(Arc::new(self).run(received, closing)),
        }
    }

    /// Delivers every capture until the queue is closed and empty, `MAX_IN_FLIGHT` at a time:
    /// one payload per request and collection makes many small posts, and one at a time would
    /// cap them at one per round trip.
    async fn run(self: Arc<Self>, mut received: mpsc::Receiver<Queued>, closing: CancellationToken) {
        let mut sending = tokio::task::JoinSet::new();
        let mut closed = false;
        loop {
            // A full set takes nothing from the queue: it fills, and drops at its door.
            while sending.len() >= MAX_IN_FLIGHT {
                sending.join_next().await;
            }
            let next = if closed {
                received.recv().await
            } else {
                tokio::select! {
                    next = received.recv() => next,
                    () = closing.cancelled() => {
                        // Take nothing new; what is queued is still sent.
                        received.close();
                        closed = true;
                        continue;
                    }
                }
            };
            let Some(Queued { capture, reserved }) = next else {
                break;
            };
            self.metrics.data_collection_queued(-1);
            let sender = self.clone();
            sending.spawn(async move {
                let collection = capture.collection;
                sender.deliver(capture).await;
                sender.pending.done(collection);
                // The capture and its JSON are gone only now: their room too.
                drop(reserved);
            });
        }
        while sending.join_next().await.is_some() {}
    }

    async fn deliver(&self, capture: Capture) {
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
        let headers = self.headers(&capture);
        let body = Bytes::from(body);
        let mut reason = DropReason::Unreachable;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let backoff = FIRST_BACKOFF * 2u32.pow(attempt - 1);
                tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64())).await;
            }
            let sent = self
                .client
                .post(&self.url)
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => {
                    self.metrics.data_collection_sent(collection.name());
                    return;
                }
                Ok(answer) => {
                    reason = DropReason::Rejected;
                    let status = answer.status();
                    let retried = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
                    if !retried {
                        break;
                    }
                }
                Err(_) => reason = DropReason::Unreachable,
            }
        }
        self.drops.count(collection, reason, 1);
    }

    /// The library's headers; a new `trace-id` per payload.
    fn headers(&self, capture: &Capture) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(8);
        let mut set = |name: &'static str, value: HeaderValue| {
            headers.insert(HeaderName::from_static(name), value);
        };
        set("trace-id", text(&uuid::Uuid::new_v4().to_string()));
        set("ce-time", HeaderValue::from(capture.time));
        set(
            "ce-type",
            text(&format!("azureml.inference.{}", capture.collection.name())),
        );
        set(
            "ce-collect-data-type",
            HeaderValue::from_static("pandas.core.frame.DataFrame"),
        );
        set("ce-agent", HeaderValue::from_static(SERVER_VERSION));
        if !capture.request_id.is_empty() {
            if let Ok(id) = HeaderValue::from_str(&capture.request_id) {
                set("ce-x-request-id", id);
            }
        }
        if let Some(version) = &self.model_version {
            set("ce-model-version", version.clone());
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers
    }
}

/// A header value from text we made (ASCII).
fn text(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("a UUID and a collection name are visible ASCII")
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
