//! The exporters, each behind a wrapper that counts what it sent and what it could not, and
//! logs failures at most once a minute (a collector that is down must not flood the log).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
    Resource,
};

use crate::telemetry::{ErrorChain, Metrics};

/// One failure line per exporter per this interval, with the count since the previous one.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// An exporter that records each batch's outcome in the metrics. Its `Debug` leaves the inner
/// exporter out: the Application Insights exporter's shows the instrumentation key.
pub struct Counted<E> {
    inner: E,
    name: &'static str,
    metrics: Arc<Metrics>,
    failures: FailureLog,
}

impl<E: std::fmt::Debug> std::fmt::Debug for Counted<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counted")
            .field("exporter", &self.name)
            .finish_non_exhaustive()
    }
}

impl<E> Counted<E> {
    pub fn new(inner: E, name: &'static str, metrics: Arc<Metrics>) -> Self {
        Counted {
            inner,
            name,
            metrics,
            failures: FailureLog::default(),
        }
    }
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => self.metrics.telemetry_export(self.name, "exported", spans),
            Err(error) => {
                self.metrics.telemetry_export(self.name, "failed", spans);
                self.failures.record(self.name, error);
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// When the last failure line was written, and the failures since.
#[derive(Debug)]
struct FailureLog {
    started: Instant,
    /// Milliseconds after `started` of the last line, plus one (0: never).
    last_line: AtomicU64,
    since_last_line: AtomicU64,
}

impl Default for FailureLog {
    fn default() -> Self {
        FailureLog {
            started: Instant::now(),
            last_line: AtomicU64::new(0),
            since_last_line: AtomicU64::new(0),
        }
    }
}

impl FailureLog {
    fn record(&self, exporter: &'static str, error: &(dyn std::error::Error + 'static)) {
        let failures = self.since_last_line.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let last = self.last_line.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= FAILURE_LOG_INTERVAL.as_millis() as u64;
        if due
            && self
                .last_line
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.since_last_line.store(0, Ordering::Relaxed);
            tracing::warn!(
                exporter,
                failures,
                error = %ErrorChain(error),
                "telemetry export failed; spans dropped (counted in aml_scorer_telemetry_spans_total)"
            );
        }
    }
}
