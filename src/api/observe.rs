//! The one middleware every request goes through: request ids (SPEC rules), the request metrics
//! and the access log, each recorded exactly once here. Lines about a request (its error, its
//! slowness) are written here too, so that each carries the request id without a per-request
//! tracing span (a span per request cost more than the rest of the middleware together).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{request_id, routes, AppState};

mod cap;
mod summary;
mod trace;

use cap::LineCap;
pub use summary::AccessSummary;

/// Rows a handler scored, left in the response's extensions for the access log.
#[derive(Debug, Clone, Copy)]
pub struct ScoredRows(pub usize);

/// What went wrong, left in an error response's extensions for its access-log line: the
/// client's message, or for a 500 the whole internal cause (never sent).
#[derive(Debug, Clone)]
pub struct Failure(pub String);

/// How requests are logged (`AML_SCORER_ACCESS_LOG`, `AML_SCORER_SLOW_REQUEST_MS`,
/// `AML_SCORER_LOG_SUMMARY_SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLogSettings {
    /// A line for every request at `info`, not only for errors and slow ones.
    pub every_request: bool,
    /// A request at least this long gets its own line.
    pub slow: Duration,
    /// How often the summary line is written.
    pub summary_every: Duration,
}

#[cfg(test)]
impl Default for AccessLogSettings {
    /// The server's defaults.
    fn default() -> Self {
        AccessLogSettings {
            every_request: false,
            slow: Duration::from_secs(1),
            summary_every: Duration::from_secs(60),
        }
    }
}

/// The target of the access log's own lines (this module's): the log writer buffers them.
pub const ACCESS_LOG_TARGET: &str = module_path!();

/// The access log: the settings, the counts of the current summary window, and the cap on lines
/// of their own.
pub struct AccessLog {
    pub settings: AccessLogSettings,
    pub summary: AccessSummary,
    cap: LineCap,
}

impl AccessLog {
    pub fn new(settings: AccessLogSettings) -> Self {
        AccessLog {
            settings,
            summary: AccessSummary::default(),
            cap: LineCap::default(),
        }
    }

    /// Whether a line of its own may be written now (see `LineCap`).
    fn may_write_line(&self) -> bool {
        if self.settings.every_request {
            return true;
        }
        let allowed = self.cap.may_write_now();
        if !allowed {
            self.summary.line_left_out();
        }
        allowed
    }

    /// Writes the summary line every interval, for as long as the server runs.
    pub async fn report_periodically(self: Arc<Self>) {
        let every = self.settings.summary_every;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.summary.report();
        }
    }
}

/// Probes are logged at debug so that they do not flood the deployment log, and are left out of
/// the summary.
fn is_probe(route: &str) -> bool {
    matches!(route, "/" | "/metrics")
        || route.contains("/health/")
        || route.ends_with("/ready")
        || matches!(route, "grpc:ServerLive" | "grpc:ServerReady" | "grpc:ModelReady")
}

/// One access-log event at a level chosen at run time, with the same fields at every level.
macro_rules! access_line {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            tracing::Level::ERROR => tracing::error!(target: ACCESS_LOG_TARGET, $($fields)*),
            tracing::Level::INFO => tracing::info!(target: ACCESS_LOG_TARGET, $($fields)*),
            _ => tracing::debug!(target: ACCESS_LOG_TARGET, $($fields)*),
        }
    };
}

pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(routes::UNMATCHED, |path| routes::static_path(path.as_str()));
    let method = request.method().clone();
    // A span only when an exporter is on: otherwise this is the one check it costs.
    let span = state.request_tracing.as_deref().map(|tracing| {
        trace::start(
            tracing,
            request.headers(),
            method_label(&method),
            route,
            request.uri().path(),
        )
    });
    let (ids, mut response) = match request_id::resolve(request.headers()) {
        Ok(ids) => {
            // Handlers pass it to the scorer: data collection joins inputs and outputs by it
            // (left out when nothing is collected: the copy and the map cost an allocation).
            if state.readiness.scorer().is_some_and(|scorer| scorer.collects()) {
                let id = request_id::RequestId(ids.request_id.clone());
                request.extensions_mut().insert(id);
            }
            let _in_flight = state.metrics.in_flight();
            (Some(ids), next.run(request).await)
        }
        Err(error) => (None, error.into_response()),
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(route, method_label(&method), status, elapsed);
    let request = Finished {
        route,
        method: &method,
        ids: ids.as_ref(),
        elapsed,
    };
    log_request(&state.access, &response, &request);
    if let Some(span) = span {
        let request_id = ids.as_ref().and_then(|ids| ids.request_id.to_str().ok());
        let log_response = state.request_tracing.as_ref().is_some_and(|t| t.log_response);
        response = trace::finish(span, response, request_id, route, log_response).await;
    }
    let headers = response.headers_mut();
    if let Some(ids) = ids {
        ids.stamp(headers);
    }
    request_id::stamp_version(headers);
    response
}

/// A call served outside the router (gRPC, routes `grpc:<method>`), recorded by the same rules as
/// every request: metrics by route and the HTTP status its outcome maps to, and the access-log
/// line `outcome` calls for (its status, `ScoredRows` and `Failure`).
pub(crate) fn record_call(
    state: &AppState,
    route: &'static str,
    ids: Option<&request_id::RequestIds>,
    outcome: &Response,
    elapsed: Duration,
) {
    let status = outcome.status().as_u16();
    state.metrics.observe_request(route, "POST", status, elapsed);
    let call = Finished {
        route,
        method: &Method::POST,
        ids,
        elapsed,
    };
    log_request(&state.access, outcome, &call);
}

/// A finished request, as the access log sees it.
struct Finished<'a> {
    route: &'static str,
    method: &'a Method,
    ids: Option<&'a request_id::RequestIds>,
    elapsed: Duration,
}

/// The access-log policy: errors (5xx at `error`, 4xx at `info`) and slow requests get a line
/// (up to `cap::MAX_LINES_PER_SECOND`); other requests a line at `info` with
/// `AML_SCORER_ACCESS_LOG=all`, else at `debug` (so `AZUREML_LOG_LEVEL=debug` shows every
/// request) and a count in the summary.
fn log_request(access: &AccessLog, response: &Response, request: &Finished<'_>) {
    let Finished {
        route,
        method,
        ids,
        elapsed,
    } = *request;
    let status = response.status().as_u16();
    let rows = response.extensions().get::<ScoredRows>().map(|rows| rows.0);
    let slow = elapsed >= access.settings.slow;
    let level = if is_probe(route) {
        tracing::Level::DEBUG
    } else {
        access.summary.record(status, rows.unwrap_or(0), elapsed, slow);
        match status {
            500.. => tracing::Level::ERROR,
            400.. => tracing::Level::INFO,
            _ if slow || access.settings.every_request => tracing::Level::INFO,
            _ => tracing::Level::DEBUG,
        }
    };
    if level != tracing::Level::DEBUG && !access.may_write_line() {
        return;
    }
    let request_id = ids.and_then(|ids| ids.request_id.to_str().ok());
    let error = response
        .extensions()
        .get::<Failure>()
        .map(|failure| failure.0.as_str());
    let duration_ms = elapsed.as_micros() as f64 / 1000.0;
    // The id is a field of the line itself so that log search finds it.
    access_line!(level, request_id, %method, route, status, duration_ms, rows, slow, error, "request");
}

/// The method as a metric label, without an allocation for the standard ones.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}
