//! Request telemetry with OpenTelemetry, only when an exporter is configured (Application
//! Insights, OTLP/HTTP, or both): a server span per request whose trace continues the caller's
//! `traceparent`, batched and exported off the request path by the SDK's own thread. Without
//! an exporter nothing here runs: no span, no thread.

mod export;
mod http;
mod settings;

use std::{sync::Arc, time::Duration};

use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::{Span as _, SpanKind, Status, Tracer as _},
    KeyValue,
};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, Span},
    Resource,
};

pub use settings::{AppInsights, AppInsightsError, TraceSettings};

use super::Metrics;

/// Spans waiting for export at most; past it new spans are dropped (never waited for).
const MAX_QUEUED_SPANS: usize = 4096;
/// How long shutdown waits for the last spans to be sent.
pub const FLUSH_BOUND: Duration = Duration::from_secs(5);
/// The longest scoring answer attached to a span with `APP_INSIGHTS_LOG_RESPONSE_ENABLED`
/// (Application Insights keeps 8192 characters of a property).
pub const MAX_ATTACHED_RESPONSE: usize = 8192;

/// The tracer of request spans, and the provider that batches and exports them.
pub struct RequestTracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
    /// Scoring answers are attached to their spans.
    pub log_response: bool,
}

impl RequestTracing {
    /// Starts the exporters `settings` turn on, each logging where it sends; `None` when none
    /// is on. Runs on the server's runtime, which the exporters send on.
    pub fn start(settings: &TraceSettings, metrics: &Arc<Metrics>) -> anyhow::Result<Option<Self>> {
        if !settings.is_on() {
            tracing::info!("request telemetry off (no APPLICATIONINSIGHTS_CONNECTION_STRING, AML_APP_INSIGHTS_ENABLED or OTEL_EXPORTER_OTLP_ENDPOINT)");
            return Ok(None);
        }
        let client = crate::azure::http_client(settings.ca_file.as_deref(), true)?;
        let client = http::RuntimeClient::new(client, tokio::runtime::Handle::current());
        let resource = Resource::builder_empty()
            .with_service_name(settings.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        // Every request is recorded: the default, ParentBased(AlwaysOn), would let a caller's
        // unsampled `traceparent` (`-00`) silence ours. The span still joins the caller's trace.
        let mut provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOn)
            .with_resource(resource);
        if let Some(target) = &settings.app_insights {
            let exporter = opentelemetry_application_insights::Exporter::new_from_connection_string(
                target.connection_string.secret(),
                client.clone(),
            )
            .map_err(|e| anyhow::anyhow!("{} cannot be used: {e}", target.chosen_by))?;
            provider = provider.with_span_processor(batching(export::Counted::new(
                exporter,
                "app_insights",
                metrics.clone(),
            )));
            tracing::info!(
                ingestion = %target.ingestion,
                set_by = target.chosen_by,
                log_response = settings.log_response,
                "request telemetry to Application Insights"
            );
        }
        if let Some(endpoint) = &settings.otlp {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint.as_str())
                .build()?;
            provider = provider.with_span_processor(batching(export::Counted::new(
                exporter,
                "otlp",
                metrics.clone(),
            )));
            tracing::info!(endpoint = %endpoint, log_response = settings.log_response, "request telemetry to OTLP/HTTP");
        }
        let provider = provider.build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "aml-scorer");
        Ok(Some(RequestTracing {
            provider,
            tracer,
            propagator: TraceContextPropagator::new(),
            log_response: settings.log_response,
        }))
    }

    /// A server span for a request, child of the caller's `traceparent` (and `tracestate`)
    /// when they are valid, else the root of a new trace.
    pub fn start_span(
        &self,
        incoming: &TraceHeaders<'_>,
        method: &'static str,
        route: &'static str,
        path: &str,
    ) -> RequestSpan {
        let parent = self.propagator.extract(incoming);
        let attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.route", route),
            KeyValue::new("url.path", path.to_owned()),
            KeyValue::new("url.scheme", "http"),
        ];
        let span = self
            .tracer
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        RequestSpan(span)
    }

    /// Sends the spans still queued, waiting at most `FLUSH_BOUND`. Blocks: run it off the
    /// runtime's workers, which the exporters need to send.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown_with_timeout(FLUSH_BOUND) {
            tracing::warn!(%error, bound_ms = FLUSH_BOUND.as_millis() as u64, "request telemetry not flushed in time");
        }
    }
}

/// A batching processor for one exporter: spans queue (bounded) and a thread of the SDK sends
/// them every few seconds or every 512.
fn batching(exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static) -> BatchSpanProcessor {
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUED_SPANS)
        .with_scheduled_delay(Duration::from_secs(2))
        .build();
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(config)
        .build()
}

/// The request's W3C trace context headers.
pub struct TraceHeaders<'a> {
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
}

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// One request's span, open until `finish`.
pub struct RequestSpan(Span);

/// How a request ended, as its span records it.
pub struct Outcome<'a> {
    pub status: u16,
    pub request_id: Option<&'a str>,
    /// What went wrong, for a 5xx: recorded as an exception.
    pub failure: Option<&'a str>,
    /// The answer, when attached (`APP_INSIGHTS_LOG_RESPONSE_ENABLED`), cut to
    /// `MAX_ATTACHED_RESPONSE` bytes.
    pub response: Option<&'a [u8]>,
}

impl RequestSpan {
    /// `traceparent` for the answer: the trace, with this span as the parent of what follows.
    pub fn traceparent(&self) -> String {
        let context = self.0.span_context();
        format!(
            "00-{}-{}-{:02x}",
            context.trace_id(),
            context.span_id(),
            context.trace_flags().to_u8()
        )
    }

    /// Records the outcome and ends the span (the batch processor takes it from here).
    pub fn finish(mut self, outcome: Outcome<'_>) {
        let span = &mut self.0;
        if !span.is_recording() {
            return;
        }
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(outcome.status),
        ));
        if let Some(id) = outcome.request_id {
            span.set_attribute(KeyValue::new("request_id", id.to_owned()));
        }
        if let Some(body) = outcome.response {
            let cut = &body[..body.len().min(MAX_ATTACHED_RESPONSE)];
            span.set_attribute(KeyValue::new(
                "response",
                String::from_utf8_lossy(cut).into_owned(),
            ));
        }
        // Server spans fail on 5xx only: a 4xx is the caller's error (OpenTelemetry's HTTP
        // conventions), and Application Insights marks `success` from the status.
        if outcome.status >= 500 {
            let kind = format!("HTTP {}", outcome.status);
            let message = outcome.failure.unwrap_or("server error").to_owned();
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", kind),
                    KeyValue::new("exception.message", message.clone()),
                ],
            );
            span.set_status(Status::error(message));
        }
        span.end();
    }
}
