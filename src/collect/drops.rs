//! What was not delivered: drops counted by collection and reason, logged at most once a
//! minute; the payloads still pending, which the shutdown's flush counts when it runs out of
//! time; and the room each takes in the byte bound until it is gone.

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex,
};
use std::time::{Duration, Instant};

use super::{Capture, Collection};
use crate::telemetry::Metrics;

/// Drop lines at most this often.
const DROP_LOG_EVERY: Duration = Duration::from_secs(60);

/// Why a payload was not delivered (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue was full (payloads or bytes).
    QueueFull,
    /// The payload alone is larger than the queue's byte bound.
    TooLarge,
    /// The sidecar could not be reached (or did not answer in time) on every try.
    Unreachable,
    /// The sidecar answered an error status on every try, or one not worth retrying.
    Rejected,
    /// Still queued when the shutdown's flush ran out of time.
    Shutdown,
}

impl DropReason {
    fn label(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::TooLarge => "too_large",
            DropReason::Unreachable => "unreachable",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// Counts drops and logs them, at most once a minute.
pub struct Drops {
    metrics: Arc<Metrics>,
    /// Drops since the last line.
    unlogged: AtomicU64,
    last_line: Mutex<Option<Instant>>,
}

impl Drops {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Drops {
            metrics,
            unlogged: AtomicU64::new(0),
            last_line: Mutex::new(None),
        }
    }

    pub fn count(&self, collection: Collection, reason: DropReason, count: u64) {
        self.metrics
            .data_collection_dropped(collection.name(), reason.label(), count);
        self.unlogged.fetch_add(count, Ordering::AcqRel);
        // `try_lock`: the request path never waits here; a line skipped now is written later.
        let Ok(mut last) = self.last_line.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < DROP_LOG_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let dropped = self.unlogged.swap(0, Ordering::AcqRel);
        tracing::warn!(
            dropped,
            collection = collection.name(),
            reason = reason.label(),
            "model data collection dropped payloads (counted by reason in \
             aml_scorer_data_collection_dropped_total; at most one such line a minute)"
        );
    }
}

/// Payloads enqueued and not yet delivered or dropped, per collection.
#[derive(Default)]
pub struct Pending([AtomicU64; 2]);

impl Pending {
    pub fn slot(&self, collection: Collection) -> &AtomicU64 {
        &self.0[collection as usize]
    }

    pub fn add(&self, collection: Collection) {
        self.slot(collection).fetch_add(1, Ordering::AcqRel);
    }

    pub fn done(&self, collection: Collection) {
        self.slot(collection).fetch_sub(1, Ordering::AcqRel);
    }
}

/// A capture in the queue, with the room it takes in the byte bound.
pub struct Queued {
    pub capture: Capture,
    pub reserved: Reserved,
}

/// Room taken in the byte bound for one capture, given back when dropped: once the payload is
/// delivered or dropped, however that happens (a full queue, an answer that failed, the flush's
/// abort).
pub struct Reserved {
    queued_bytes: Arc<AtomicUsize>,
    bytes: usize,
}

impl Reserved {
    /// Room the caller has already added to `queued_bytes`.
    pub fn new(queued_bytes: Arc<AtomicUsize>, bytes: usize) -> Self {
        Reserved { queued_bytes, bytes }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.queued_bytes.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}
