//! The one middleware every request goes through: request ids (SPEC rules), a span carrying the
//! id, the access log line, and the request metrics, each recorded exactly once here.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::{request_id, AppState};

/// Rows a handler scored, left in the response's extensions for the access log.
#[derive(Debug, Clone, Copy)]
pub struct ScoredRows(pub usize);

/// Probes are logged at debug so that they do not flood the deployment log.
fn is_probe(route: &str) -> bool {
    matches!(route, "/" | "/metrics") || route.contains("/health/") || route.ends_with("/ready")
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let ids = match request_id::resolve(request.headers()) {
        Ok(ids) => ids,
        Err(error) => {
            let mut response = error.into_response();
            request_id::stamp_version(response.headers_mut());
            return response;
        }
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let _in_flight = state.metrics.in_flight();
    let request_id = ids.request_id.to_str().unwrap_or_default().to_owned();
    let span = tracing::info_span!("request", request_id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&route, method.as_str(), status, elapsed);
    let rows = response.extensions().get::<ScoredRows>().map(|rows| rows.0);
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    // The id is a field of the line itself (not only of its span) so that log search finds it.
    if is_probe(&route) {
        tracing::debug!(request_id, %method, route, status, duration_ms, "request");
    } else {
        tracing::info!(request_id, %method, route, status, duration_ms, rows, "request");
    }
    let headers = response.headers_mut();
    ids.stamp(headers);
    request_id::stamp_version(headers);
    response
}
