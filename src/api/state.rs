//! What handlers share: the scorer once `init` is done, readiness, limits and metrics.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, OnceLock,
};

use super::budget::{InflightBudget, INFLIGHT_WAIT};
use super::{ApiSettings, ScoreMethod};
use crate::model::Scorer;
use crate::telemetry::{Metrics, RequestTracing};

/// Whether the server may score: the scorer is set once every `init` step is done, `stopping`
/// once shutdown began.
#[derive(Default)]
pub struct Readiness {
    scorer: OnceLock<Arc<Scorer>>,
    stopping: AtomicBool,
}

impl Readiness {
    /// `init` is done: scoring starts and readiness answers 200. `init` runs once, so the first
    /// scorer is the only one.
    pub fn start_scoring(&self, scorer: Scorer) {
        let _ = self.scorer.set(Arc::new(scorer));
    }

    /// Marks shutdown: readiness answers 503 so the load balancer stops sending traffic.
    pub fn mark_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// True when readiness should answer 200.
    pub fn is_ready(&self) -> bool {
        self.scorer.get().is_some() && !self.stopping.load(Ordering::Acquire)
    }

    /// The scorer, once `init` is done. Requests admitted during shutdown still score.
    pub fn scorer(&self) -> Option<&Arc<Scorer>> {
        self.scorer.get()
    }
}

/// Shared state of every handler: one `Arc`, so that the clone each extractor takes is one
/// reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What `AppState` holds.
pub struct Shared {
    pub readiness: Arc<Readiness>,
    pub body: super::body::BodyLimits,
    /// Request bodies and decoded tensors in flight, at most.
    pub budget: Arc<InflightBudget>,
    pub metrics: Arc<Metrics>,
    /// The model's name in KServe V2 routes.
    pub model_name: Arc<str>,
    /// What `/score` answers when the request does not say.
    pub score_method: ScoreMethod,
    pub access: Arc<super::AccessLog>,
    /// Browser origins allowed to call (the router adds the CORS layer when set).
    pub cors: Option<super::CorsOrigins>,
    /// Request spans, when a telemetry exporter is on (`None`: no tracing work at all).
    pub request_tracing: Option<Arc<RequestTracing>>,
}

impl AppState {
    /// The state of a server not ready yet, serving the model named `model_name` once `init`
    /// hands over its scorer.
    pub fn new(settings: ApiSettings, model_name: &str, metrics: Arc<Metrics>) -> Self {
        AppState(Arc::new(Shared {
            readiness: Arc::new(Readiness::default()),
            budget: Arc::new(InflightBudget::new(
                settings.inflight.bytes,
                settings.body.max_bytes,
                INFLIGHT_WAIT,
            )),
            body: settings.body,
            metrics,
            model_name: Arc::from(model_name),
            score_method: settings.score_method,
            access: Arc::new(super::AccessLog::new(settings.access_log)),
            cors: settings.cors,
            request_tracing: None,
        }))
    }

    /// Request spans attach scoring answers (`APP_INSIGHTS_LOG_RESPONSE_ENABLED`).
    pub fn attaches_answers(&self) -> bool {
        self.request_tracing.as_ref().is_some_and(|t| t.log_response)
    }

    /// The same state with request spans. Called once, before the state is shared.
    pub fn with_request_tracing(mut self, request_tracing: Option<Arc<RequestTracing>>) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("request tracing is set before the state is shared")
            .request_tracing = request_tracing;
        self
    }
}
