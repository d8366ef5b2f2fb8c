//! What was not delivered: drops counted by collection and reason, logged at most once a
//! minute; the payloads still pending, which the shutdown's flush counts when it runs out of
//! time; and the room each takes in the byte bound until it is gone.

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex,
};
use std::time::{Duration, Instant};

use super::{Capture, Collection};
use prometheus_client::metrics::counter::Counter;

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
    const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::TooLarge,
        DropReason::Unreachable,
        DropReason::Rejected,
        DropReason::Shutdown,
    ];

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

/// Counts drops and logs them, at most once a minute. A drop costs the request path an atomic
/// add on a counter looked up at start; only the first drop after a line looks at the clock,
/// and the sender task writes the lines for the drops after it.
pub struct Drops {
    /// By collection, then reason (`DropReason::ALL`'s order).
    counters: [[Counter; 5]; 2],
    /// Drops since the last line.
    unlogged: AtomicU64,
    /// The first of them (collection and reason), for the line.
    first: Mutex<Option<(Collection, DropReason)>>,
    last_line: Mutex<Option<Instant>>,
}

impl Drops {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        let counters = Collection::ALL.map(|collection| {
            DropReason::ALL
                .map(|reason| metrics.data_collection_dropped_counter(collection.name(), reason.label()))
        });
        Drops {
            counters,
            unlogged: AtomicU64::new(0),
            first: Mutex::new(None),
            last_line: Mutex::new(None),
        }
    }

    pub fn count(&self, collection: Collection, reason: DropReason, count: u64) {
        self.counters[collection as usize][reason as usize].inc_by(count);
        if self.unlogged.fetch_add(count, Ordering::AcqRel) == 0 {
            // `try_lock`: the request path never waits here; the sender task logs it later.
            if let Ok(mut first) = self.first.try_lock() {
                *first = Some((collection, reason));
            }
            self.log_unlogged();
        }
    }

    /// Writes a line for the drops not logged yet, unless one was written in the last minute.
    pub fn log_unlogged(&self) {
        if self.unlogged.load(Ordering::Acquire) == 0 {
            return;
        }
        let Ok(mut last) = self.last_line.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < DROP_LOG_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        // The first drop is taken before the count: one that lands between the two is then in
        // this line's count and sets `first` for the next line. Never waits (the request path
        // may be here).
        let first = self.first.try_lock().ok().and_then(|mut first| first.take());
        let dropped = self.unlogged.swap(0, Ordering::AcqRel);
        let (collection, reason) = first.map_or(("", ""), |(c, r)| (c.name(), r.label()));
        tracing::warn!(
            dropped,
            collection,
            reason,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_indexed_in_the_order_of_all() {
        // `count` indexes the counters by the enums' values: they must be their places in ALL.
        assert!(Collection::ALL.iter().enumerate().all(|(i, c)| *c as usize == i));
        assert!(DropReason::ALL.iter().enumerate().all(|(i, r)| *r as usize == i));
    }
}
