//! Model data collection for Azure ML model monitoring, as `azureml-ai-monitoring` does it for
//! a `score.py`: sampled requests' inputs (`model_inputs`) and answered outputs
//! (`model_outputs`) go as JSON records to the collector sidecar the platform runs beside the
//! container, joined by the request id. On the request path: one random draw, a look at the
//! queue's room, a copy of the values and a non-blocking enqueue; the JSON is written and sent
//! by one sender task, and a full queue or a sidecar that is down drops payloads (counted,
//! logged at most once a minute).

mod drops;
mod http;
mod records;
mod sender;
mod settings;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use std::time::Duration;

use tokio::sync::mpsc;

pub use records::Capture;
pub use settings::{
    model_version, parse_bool, read_config_file, CollectSettings, Collection, ConfigFileError, Percent,
};

use crate::model::{Answered, Batch, Collect, Draw, Enqueue, ModelSpec, Predictions, Predictor};
use crate::telemetry::Metrics;
use drops::{DropReason, Drops, Pending, Queued, Reserved};
use sender::Sender;

/// Copied values queued or being delivered, at most: a burst of large requests drops payloads
/// rather than holding their tensors twice. Room is taken before the copy is made and given back
/// once the payload is delivered or dropped.
const MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;

/// The running collector: the sampling rates and the queue. Scorers hold it as their `Collect`
/// sink.
pub struct Collector {
    settings: CollectSettings,
    queue: Arc<Queue>,
    sender: std::sync::Mutex<Option<sender::Running>>,
}

/// The queue's sending end and its bounds.
struct Queue {
    sending: mpsc::Sender<Queued>,
    /// Bytes of the captures copied and not yet delivered or dropped (bounded by
    /// `MAX_QUEUED_BYTES`).
    queued_bytes: Arc<AtomicUsize>,
    /// Enqueued and not yet delivered or dropped.
    pending: Arc<Pending>,
    drops: Arc<Drops>,
    metrics: Arc<Metrics>,
}

impl Collector {
    /// Starts the sender task, when collection is on (`None` otherwise). Logs one line either
    /// way, saying where payloads go and at which rates.
    pub fn start(settings: CollectSettings, metrics: Arc<Metrics>) -> Option<Arc<Collector>> {
        if !settings.enabled() {
            tracing::info!(enabled = false, "model data collection off");
            return None;
        }
        let rate = |collection| settings.rate(collection).map(|rate| rate.to_string());
        tracing::info!(
            enabled = true,
            sidecar = format!("{}:{}", settings.host, settings.port),
            model_inputs = rate(Collection::Inputs),
            model_outputs = rate(Collection::Outputs),
            queue_capacity = settings.queue_capacity.get(),
            local_capture = settings.local_capture,
            model_version = settings.model_version,
            "model data collection on"
        );
        let (sending, received) = mpsc::channel(settings.queue_capacity.get());
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let pending = Arc::new(Pending::default());
        let drops = Arc::new(Drops::new(metrics.clone()));
        let sender = Sender::new(&settings, pending.clone(), drops.clone(), metrics.clone());
        let running = sender.start(received);
        Some(Arc::new(Collector {
            settings,
            queue: Arc::new(Queue {
                sending,
                queued_bytes,
                pending,
                drops,
                metrics,
            }),
            sender: std::sync::Mutex::new(Some(running)),
        }))
    }

    /// Stops taking payloads and sends what is queued, for at most `bound`; what is left then
    /// is dropped (counted as `shutdown`).
    pub async fn flush(&self, bound: Duration) {
        let running = self
            .sender
            .lock()
            .expect("no panics while holding the lock")
            .take();
        if let Some(running) = running {
            running.finish(bound).await;
        }
    }
}

impl Queue {
    /// Whether the queue has `places` free (at most its capacity), looked at first: a sidecar
    /// slower than the requests keeps the queue full, and those requests are turned away here,
    /// before anything is computed or copied for them. Not counted: the caller counts what it
    /// drops.
    fn has_room(&self, places: usize) -> bool {
        self.sending.capacity() >= places.min(self.sending.max_capacity())
    }

    /// Takes room for a copy of `bytes` before it is made; `None` (the drop counted) when there
    /// is none: a payload larger than the whole bound is `too_large`, one that does not fit
    /// beside those in flight `queue_full`.
    fn reserve(&self, collection: Collection, bytes: usize) -> Option<Reserved> {
        if bytes > MAX_QUEUED_BYTES {
            self.drops.count(collection, DropReason::TooLarge, 1);
            return None;
        }
        if self.queued_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes > MAX_QUEUED_BYTES {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.drops.count(collection, DropReason::QueueFull, 1);
            return None;
        }
        Some(Reserved::new(self.queued_bytes.clone(), bytes))
    }

    /// Enqueues `capture` without waiting; a full queue drops it (and its room with it).
    fn enqueue(&self, capture: Capture, reserved: Reserved) {
        let collection = capture.collection;
        // Counted before the send: the sender may take it out at once.
        self.metrics.data_collection_queued(1);
        self.pending.add(collection);
        if self.sending.try_send(Queued { capture, reserved }).is_err() {
            self.pending.done(collection);
            self.metrics.data_collection_queued(-1);
            self.drops.count(collection, DropReason::QueueFull, 1);
        }
    }
}

impl Collect for Collector {
    fn draw(&self) -> Draw {
        // One draw for both collections: with equal rates a request is collected whole or not
        // at all, so its inputs and outputs always join.
        let draw = fastrand::f64();
        let takes = |collection| {
            self.settings
                .rate(collection)
                .is_some_and(|rate| rate.takes(draw))
        };
        let sampled = Draw {
            inputs: takes(Collection::Inputs),
            outputs: takes(Collection::Outputs),
        };
        // A queue without a place for each of the request's payloads turns it away whole here
        // (counted), so that it is scored as if nothing were collected and what is collected
        // under overload still joins. (A request turned away that then fails to parse is
        // counted too: under overload the count may hold a few payloads that never existed.)
        let places = usize::from(sampled.inputs) + usize::from(sampled.outputs);
        if places == 0 || self.queue.has_room(places) {
            return sampled;
        }
        for (collection, taken) in [
            (Collection::Inputs, sampled.inputs),
            (Collection::Outputs, sampled.outputs),
        ] {
            if taken {
                self.queue.drops.count(collection, DropReason::QueueFull, 1);
            }
        }
        Draw::default()
    }

    fn inputs(
        &self,
        request_id: &Arc<str>,
        batch: &Batch,
        spec: &ModelSpec,
        features: &dyn Fn() -> Option<Vec<String>>,
        outputs_follow: bool,
    ) {
        // The outputs' place is left to them: taking it would break the pair.
        if !self.queue.has_room(1 + usize::from(outputs_follow)) {
            return self
                .queue
                .drops
                .count(Collection::Inputs, DropReason::QueueFull, 1);
        }
        let bytes = Capture::input_bytes(request_id, batch);
        if let Some(reserved) = self.queue.reserve(Collection::Inputs, bytes) {
            let capture = Capture::inputs(request_id.clone(), batch, spec, features());
            self.queue.enqueue(capture, reserved);
        }
    }

    fn outputs(
        &self,
        request_id: &Arc<str>,
        predictions: &Predictions,
        answered: &dyn Fn() -> Answered,
        model: &dyn Predictor,
    ) -> Option<Enqueue> {
        if !self.queue.has_room(1) {
            self.queue
                .drops
                .count(Collection::Outputs, DropReason::QueueFull, 1);
            return None;
        }
        let answered = &answered();
        let bytes = Capture::output_bytes(request_id, predictions, answered);
        let reserved = self.queue.reserve(Collection::Outputs, bytes)?;
        // An answer that fails drops the call, and the room with it.
        let capture = Capture::outputs(
            request_id.clone(),
            predictions,
            answered,
            model.spec(),
            model.class_labels(),
        );
        let queue = self.queue.clone();
        Some(Box::new(move || queue.enqueue(capture, reserved)))
    }
}

#[cfg(test)]
mod tests;
