//! Logs and metrics. Logging: JSON lines (for Azure ML's log collection) or text, filtered by the
//! configured level, with one target's lines (the access log) buffered off the request path.
//! Request telemetry (OpenTelemetry spans to Application Insights or OTLP) when configured.

mod metrics;
mod otel;
mod writer;

use clap::ValueEnum;
use tracing_subscriber::{fmt, EnvFilter};

pub use metrics::*;
pub use otel::{
    AppInsights, AppInsightsError, Outcome, RequestSpan, RequestTracing, TraceHeaders, TraceSettings,
    MAX_ATTACHED_RESPONSE,
};
pub use writer::flush;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Log output: the format and the filter directives (already validated).
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// `aml-scorer/<version>`, sent as `x-ms-server-version`.
pub const SERVER_VERSION: &str = concat!("aml-scorer/", env!("CARGO_PKG_VERSION"));

/// Installs the global subscriber, writing to stdout as the Azure ML inference server does. Lines
/// of the target `buffered` (the access log's) are written off the request path (writer.rs).
pub fn init(settings: &LogSettings, buffered: &'static str) {
    // The filter was validated with the configuration; fall back to `info` rather than panic.
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(writer::BufferedStdout::start(buffered));
    let installed = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second call (tests) keeps the first subscriber.
    drop(installed);
}

/// Displays an error with its whole `source()` chain, `outer: inner: root`, for log lines.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}
