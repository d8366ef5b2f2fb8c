//! Prometheus metrics: every name is a constant here, described once, and recorded through the
//! methods of `Metrics` (requests once, in the API's middleware; model runs in the scoring path;
//! `init` steps by `init`).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

pub const HTTP_REQUESTS: &str = "aml_scorer_http_requests";
pub const HTTP_REQUEST_DURATION: &str = "aml_scorer_http_request_duration_seconds";
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "aml_scorer_http_requests_in_flight";
pub const MODEL_RUN_DURATION: &str = "aml_scorer_model_run_duration_seconds";
pub const ROWS_SCORED: &str = "aml_scorer_rows_scored";
pub const BATCH_ROWS: &str = "aml_scorer_batch_rows";
pub const INIT_STEP_DURATION: &str = "aml_scorer_init_step_duration_seconds";
pub const MODEL_LOAD_DURATION: &str = "aml_scorer_model_load_duration_seconds";
pub const TELEMETRY_SPANS: &str = "aml_scorer_telemetry_spans";
pub const DATA_COLLECTION_SENT: &str = "aml_scorer_data_collection_sent";
pub const DATA_COLLECTION_DROPPED: &str = "aml_scorer_data_collection_dropped";
pub const DATA_COLLECTION_QUEUE_DEPTH: &str = "aml_scorer_data_collection_queue_depth";
pub const DATA_COLLECTION_ENCODE_DURATION: &str = "aml_scorer_data_collection_encode_duration_seconds";

/// Latency buckets from 50 us to 10 s: scoring a small batch takes microseconds.
const LATENCY_BUCKETS: [f64; 16] = [
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExportLabels {
    exporter: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CollectionLabels {
    collection: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    collection: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: String,
}

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    model_run: Histogram,
    rows: Counter,
    batch_rows: Histogram,
    init_steps: Family<StepLabels, Gauge<f64, AtomicU64>>,
    model_load: Gauge<f64, AtomicU64>,
    telemetry_spans: Family<ExportLabels, Counter>,
    collection_sent: Family<CollectionLabels, Counter>,
    collection_dropped: Family<DropLabels, Counter>,
    collection_queue: Gauge,
    collection_encode: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let latency = || Histogram::new(LATENCY_BUCKETS);
        let metrics = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency),
            in_flight: Gauge::default(),
            model_run: latency(),
            rows: Counter::default(),
            batch_rows: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                1.0, 4.0, 10,
            )),
            init_steps: Family::default(),
            model_load: Gauge::default(),
            telemetry_spans: Family::default(),
            collection_sent: Family::default(),
            collection_dropped: Family::default(),
            collection_queue: Gauge::default(),
            collection_encode: latency(),
        };
        metrics.described()
    }
}

impl Metrics {
    fn described(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            HTTP_REQUESTS,
            "HTTP requests by route, method and status",
            self.requests.clone(),
        );
        r.register(
            HTTP_REQUEST_DURATION,
            "Whole-request latency by route",
            self.request_duration.clone(),
        );
        r.register(
            HTTP_REQUESTS_IN_FLIGHT,
            "Requests being served now",
            self.in_flight.clone(),
        );
        r.register(
            MODEL_RUN_DURATION,
            "Time each scoring request spent in the model (with dynamic batching, its wait for a batch included)",
            self.model_run.clone(),
        );
        r.register(ROWS_SCORED, "Rows scored", self.rows.clone());
        r.register(
            BATCH_ROWS,
            "Rows per model call (with dynamic batching, every request of the batch)",
            self.batch_rows.clone(),
        );
        r.register(
            INIT_STEP_DURATION,
            "Duration of each init step (model, identity, blob)",
            self.init_steps.clone(),
        );
        r.register(
            MODEL_LOAD_DURATION,
            "Time to load, optimise and warm up the model",
            self.model_load.clone(),
        );
        r.register(
            TELEMETRY_SPANS,
            "Request spans sent to each telemetry exporter, by outcome (exported, failed)",
            self.telemetry_spans.clone(),
        );
        r.register(
            DATA_COLLECTION_SENT,
            "Model data collection payloads delivered to the collector sidecar (or the log, with local capture), by collection",
            self.collection_sent.clone(),
        );
        r.register(
            DATA_COLLECTION_DROPPED,
            "Model data collection payloads dropped, by collection and reason (queue_full, too_large, unreachable, rejected, shutdown)",
            self.collection_dropped.clone(),
        );
        r.register(
            DATA_COLLECTION_QUEUE_DEPTH,
            "Model data collection payloads waiting to be sent",
            self.collection_queue.clone(),
        );
        r.register(
            DATA_COLLECTION_ENCODE_DURATION,
            "Time to write one collected payload's JSON records (in the sender task, off the request path)",
            self.collection_encode.clone(),
        );
        self
    }

    /// One finished request.
    /// Labels are `'static` (the router's paths, the standard methods): no allocation per request.
    pub fn observe_request(
        &self,
        route: &'static str,
        method: &'static str,
        status: u16,
        duration: Duration,
    ) {
        let labels = RequestLabels {
            route,
            method,
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration
            .get_or_create(&RouteLabels { route })
            .observe(duration.as_secs_f64());
    }

    /// One scoring request's model run over its `rows` rows.
    pub fn observe_model_run(&self, rows: usize, duration: Duration) {
        self.model_run.observe(duration.as_secs_f64());
        self.rows.inc_by(rows as u64);
    }

    /// One call of the model over `rows` rows: a request's own, or a dynamic batch's.
    pub fn observe_model_call(&self, rows: usize) {
        self.batch_rows.observe(rows as f64);
    }

    /// Counts a request in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Records how long an `init` step took.
    pub fn init_step(&self, step: &str, duration: Duration) {
        self.init_steps
            .get_or_create(&StepLabels {
                step: step.to_owned(),
            })
            .set(duration.as_secs_f64());
        if step == "model" {
            self.model_load.set(duration.as_secs_f64());
        }
    }

    /// A batch of `spans` request spans that `exporter` sent (`exported`) or could not send
    /// (`failed`).
    pub fn telemetry_export(&self, exporter: &'static str, outcome: &'static str, spans: usize) {
        self.telemetry_spans
            .get_or_create(&ExportLabels { exporter, outcome })
            .inc_by(spans as u64);
    }

    /// One model data collection payload delivered.
    pub fn data_collection_sent(&self, collection: &'static str) {
        self.collection_sent
            .get_or_create(&CollectionLabels { collection })
            .inc();
    }

    /// `count` model data collection payloads dropped for `reason`.
    pub fn data_collection_dropped(&self, collection: &'static str, reason: &'static str, count: u64) {
        self.collection_dropped
            .get_or_create(&DropLabels { collection, reason })
            .inc_by(count);
    }

    /// The counter of `collection` payloads dropped for `reason`, for a caller that counts often
    /// (a full queue drops on the request path) and so looks its labels up once.
    pub fn data_collection_dropped_counter(&self, collection: &'static str, reason: &'static str) -> Counter {
        self.collection_dropped
            .get_or_create(&DropLabels { collection, reason })
            .clone()
    }

    /// Payloads added to (or, negative, taken from) the data collection queue.
    pub fn data_collection_queued(&self, change: i64) {
        self.collection_queue.inc_by(change);
    }

    /// The data collection queue was dropped whole (at shutdown).
    pub fn data_collection_queue_cleared(&self) {
        self.collection_queue.set(0);
    }

    /// How long writing one payload's records took.
    pub fn data_collection_encoded(&self, duration: Duration) {
        self.collection_encode.observe(duration.as_secs_f64());
    }

    /// The Prometheus (OpenMetrics) text exposition.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Decrements the in-flight gauge on drop.
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
