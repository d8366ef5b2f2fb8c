//! The request span's hook in the middleware, when request telemetry is on: start it from the
//! caller's trace context, end it with the answer's outcome, and answer our `traceparent`.

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue},
    response::Response,
};
use http_body_util::BodyExt;

use super::{request_id, routes, Failure};
use crate::api::compression::UncompressedHead;
use crate::telemetry::{Outcome, RequestSpan, RequestTracing, TraceHeaders, MAX_ATTACHED_RESPONSE};

/// Starts the span of a request on `route`.
pub fn start(
    tracing: &RequestTracing,
    headers: &HeaderMap,
    method: &'static str,
    route: &'static str,
    path: &str,
) -> RequestSpan {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let incoming = TraceHeaders {
        traceparent: header("traceparent"),
        tracestate: header("tracestate"),
    };
    tracing.start_span(&incoming, method, route, path)
}

/// Ends the span with the answer's outcome and adds `traceparent` to the answer. With
/// `log_response`, a successful scoring answer's first bytes go on the span too: as they were
/// before compression, for a client that asked for a compressed answer.
pub async fn finish(
    span: RequestSpan,
    mut response: Response,
    request_id: Option<&str>,
    route: &'static str,
    log_response: bool,
) -> Response {
    let status = response.status().as_u16();
    let scored =
        matches!(route, routes::SCORING_PATH | routes::V2_INFER_PATH) && (200..300).contains(&status);
    // Taken out either way: the answer is sent without it.
    let head = response.extensions_mut().remove::<UncompressedHead>();
    let compressed = response.headers().contains_key(header::CONTENT_ENCODING);
    let (mut response, attached) = if !(log_response && scored) {
        (response, None)
    } else if compressed {
        // Never the compressed bytes; the head the compression kept, when it did.
        (response, head.map(|head| head.0))
    } else {
        let (parts, body) = response.into_parts();
        // Scoring answers are whole in memory already: collecting them copies nothing.
        match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let attached = bytes.slice(..bytes.len().min(MAX_ATTACHED_RESPONSE));
                (Response::from_parts(parts, Body::from(bytes)), Some(attached))
            }
            Err(_) => (Response::from_parts(parts, Body::empty()), None),
        }
    };
    if let Ok(value) = HeaderValue::from_str(&span.traceparent()) {
        response.headers_mut().insert(request_id::TRACEPARENT, value);
    }
    let failure = response
        .extensions()
        .get::<Failure>()
        .map(|failure| failure.0.as_str());
    span.finish(Outcome {
        status,
        request_id,
        failure,
        response: attached.as_deref(),
    });
    response
}
