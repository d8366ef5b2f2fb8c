//! What handlers share: the model once loaded, readiness, limits, and the bound on model runs.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, OnceLock,
};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::model::Predictor;
use crate::telemetry::Metrics;

/// Whether the server may score: the model is set once `init` loaded it, `ready` once every
/// `init` step is done, `stopping` once shutdown began.
#[derive(Default)]
pub struct Readiness {
    predictor: OnceLock<Arc<dyn Predictor>>,
    ready: AtomicBool,
    stopping: AtomicBool,
}

impl Readiness {
    /// Keeps the loaded model (the first one wins; `init` sets it once).
    pub fn set_predictor(&self, predictor: Arc<dyn Predictor>) {
        let _ = self.predictor.set(predictor);
    }

    /// Marks `init` done: readiness answers 200 and scoring starts.
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Marks shutdown: readiness answers 503 so the load balancer stops sending traffic.
    pub fn mark_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// True when readiness should answer 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.stopping.load(Ordering::Acquire)
    }

    /// The model, once `init` is done. Requests already admitted during shutdown still score.
    pub fn predictor(&self) -> Option<&Arc<dyn Predictor>> {
        if self.ready.load(Ordering::Acquire) {
            self.predictor.get()
        } else {
            None
        }
    }
}

/// Shared state of every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub readiness: Arc<Readiness>,
    /// Bounds concurrent model runs to the cores available: further requests wait for a permit
    /// (within their scoring timeout) instead of piling threads onto the CPU.
    pub model_slots: Arc<Semaphore>,
    pub scoring_timeout: Duration,
    pub max_body_bytes: usize,
    pub metrics: Arc<Metrics>,
    /// The model's name in KServe V2 routes.
    pub model_name: Arc<str>,
}

impl AppState {
    /// `batching`: with dynamic batching the batcher bounds the model's threads, and every
    /// waiting request must be able to join a batch, so the slots are not the bound then.
    pub fn new(scoring_timeout: Duration, max_body_bytes: usize, model_name: &str, batching: bool) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let slots = if batching { 4096 } else { cores };
        AppState {
            readiness: Arc::new(Readiness::default()),
            model_slots: Arc::new(Semaphore::new(slots)),
            scoring_timeout,
            max_body_bytes,
            metrics: Arc::new(Metrics::default()),
            model_name: Arc::from(model_name),
        }
    }
}
