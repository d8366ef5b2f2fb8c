//! What every gRPC call goes through, as every HTTP request goes through `api::observe`: request
//! ids, the in-flight gauge, a deadline, the metrics (route `grpc:<method>`, the HTTP status the
//! outcome maps to) and the access log.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::http::{self, StatusCode};
use tonic::{Code, Status};

use super::budget::{ChargedBody, Handover};
use super::inflate::{message_encoding, InflatingBody};
use super::outcome::{Outcome, Recorded};
use crate::api::{record_call, request_id, ApiError, AppState, Failure, ScoredRows};

/// The service's path prefix: `/inference.GRPCInferenceService/<method>`.
const SERVICE_PATH: &str = "/inference.GRPCInferenceService/";

/// The route label of a call's path: `grpc:<method>` for the methods served.
fn route(path: &str) -> &'static str {
    match path.strip_prefix(SERVICE_PATH) {
        Some("ServerLive") => "grpc:ServerLive",
        Some("ServerReady") => "grpc:ServerReady",
        Some("ModelReady") => "grpc:ModelReady",
        Some("ServerMetadata") => "grpc:ServerMetadata",
        Some("ModelMetadata") => "grpc:ModelMetadata",
        Some("ModelInfer") => "grpc:ModelInfer",
        _ => "grpc:unmatched",
    }
}

/// The HTTP status a status from tonic itself (not from our handlers) counts as.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::NotFound | Code::Unimplemented => StatusCode::NOT_FOUND,
        Code::ResourceExhausted | Code::OutOfRange => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Internal | Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A call's outcome as the HTTP answer the metrics and the access log read: its status, and the
/// rows scored or the failure in its extensions.
fn as_http(recorded: Recorded) -> axum::response::Response {
    let mut seen = axum::response::Response::default();
    *seen.status_mut() = recorded.status;
    if let Some(rows) = recorded.rows {
        seen.extensions_mut().insert(ScoredRows(rows));
    }
    if let Some(failure) = recorded.failure {
        seen.extensions_mut().insert(Failure(failure));
    }
    seen
}

/// What `Observed` hands a call's handler, in the request's extensions (one entry: each costs an
/// allocation).
#[derive(Clone, Default)]
pub(super) struct CallContext {
    /// The call's `x-request-id`, unless its ids were refused.
    pub request_id: Option<request_id::RequestId>,
    /// Where the handler reports the call's outcome.
    pub outcome: Outcome,
    /// The message's charge, handed over by `ChargedBody`.
    pub handover: Handover,
}

/// `ids` marked for HPACK's never-indexed literals: a new id per call, indexed, would be inserted
/// in the connection's header table with each answer and evict the entries that do repeat
/// (`content-type`, `x-ms-server-version`, `grpc-status`), all to be encoded again.
fn never_indexed(mut ids: request_id::RequestIds) -> request_id::RequestIds {
    ids.request_id.set_sensitive(true);
    ids.ms_request_id.set_sensitive(true);
    ids.client_request_id.set_sensitive(true);
    ids
}

/// The gRPC service with every call observed and bounded.
#[derive(Clone)]
pub struct Observed<S> {
    inner: S,
    state: AppState,
    max_message_bytes: usize,
    deadline: Duration,
}

impl<S> Observed<S> {
    pub(super) fn new(inner: S, state: AppState, max_message_bytes: usize, deadline: Duration) -> Self {
        Observed {
            inner,
            state,
            max_message_bytes,
            deadline,
        }
    }
}

type Response = http::Response<tonic::body::Body>;

impl<S, B> tower::Service<http::Request<B>> for Observed<S>
where
    S: tower::Service<http::Request<InflatingBody<B>>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The generated server is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // (The message is charged to the in-flight budget as it arrives, `ChargedBody`, and a
        // compressed one as it is inflated, `InflatingBody`.)
        let started = Instant::now();
        let route = route(request.uri().path());
        let ids = request_id::resolve(request.headers());
        let (outcome, handover) = (Outcome::default(), Handover::default());
        request.extensions_mut().insert(CallContext {
            // For data collection's join key, as the HTTP middleware hands it to handlers.
            request_id: ids
                .as_ref()
                .ok()
                .map(|ids| request_id::RequestId(ids.request_id.clone())),
            outcome: outcome.clone(),
            handover: handover.clone(),
        });
        let (state, limit, deadline) = (self.state.clone(), self.max_message_bytes, self.deadline);
        let encoding = message_encoding(request.headers());
        let request = request.map(|body| {
            let charged = ChargedBody::new(body, state.budget.clone(), handover, outcome.clone());
            InflatingBody::new(charged, encoding, state.budget.clone(), limit, outcome.clone())
        });
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let metrics = state.metrics.clone();
            let _in_flight = metrics.in_flight();
            let mut response = match &ids {
                Err(error) => outcome.failed(error).into_http(),
                Ok(_) => match tokio::time::timeout(deadline, inner.call(request)).await {
                    Ok(Ok(response)) => response,
                    Err(_) => {
                        let message = format!(
                            "the call did not finish within {} ms (the body timeout \
                             AML_SCORER_BODY_TIMEOUT_MS plus the scoring timeout SCORING_TIMEOUT_MS)",
                            deadline.as_millis()
                        );
                        outcome.set(Recorded {
                            status: StatusCode::GATEWAY_TIMEOUT,
                            rows: None,
                            failure: Some(message.clone()),
                        });
                        Status::deadline_exceeded(message).into_http()
                    }
                },
            };
            let tonic_status = Status::from_header_map(response.headers());
            // tonic refuses a message over the limit from its length prefix, as OUT_OF_RANGE
            // (our handlers never answer that code): it is the HTTP 413. (tonic inflates no
            // message: `InflatingBody` does, and answers one inflating past the limit so.)
            if tonic_status
                .as_ref()
                .is_some_and(|s| s.code() == Code::OutOfRange)
            {
                response = outcome.failed(&ApiError::TooLarge { limit }).into_http();
            }
            let recorded = outcome.take().unwrap_or_else(|| {
                let status = tonic_status.as_ref().map_or(Code::Ok, Status::code);
                Recorded {
                    status: http_status(status),
                    rows: None,
                    failure: tonic_status
                        .filter(|s| s.code() != Code::Ok)
                        .map(|s| s.message().to_owned()),
                }
            });
            let ids = ids.ok();
            record_call(&state, route, ids.as_ref(), &as_http(recorded), started.elapsed());
            let headers = response.headers_mut();
            if let Some(ids) = ids {
                never_indexed(ids).stamp(headers);
            }
            request_id::stamp_version(headers);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_method_names() {
        assert_eq!(
            route("/inference.GRPCInferenceService/ModelInfer"),
            "grpc:ModelInfer"
        );
        assert_eq!(
            route("/inference.GRPCInferenceService/ModelConfig"),
            "grpc:unmatched"
        );
        assert_eq!(route("/other.Service/ModelInfer"), "grpc:unmatched");
    }
}
