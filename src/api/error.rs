//! The one error table: every failure a handler returns is an `ApiError`, `status` maps each to
//! its status once; internal causes are never sent, and are logged once by the access log (with
//! their whole `source()` chain and the request id). Each protocol keeps its wire shape: `{"message"}` here, `{"error"}` in V2.

use axum::{
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use super::observe::Failure;
use crate::model::{InputError, OutputError, PredictError, ScoreError};
use crate::telemetry::ErrorChain;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 for what the request sent (input, a fixed batch size, values the model refused, a
    /// non-finite answer), 504 for the scoring timeout, 500 for a model or task failure (an
    /// output whose dim 0 is not the batch is the model's fault, not the request's).
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// 400: a KServe V2 input tensor that does not fit the model (name, datatype, shape, data).
    #[error("{0}")]
    InvalidTensor(String),
    /// 400: a method or output the model does not have.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the body could not be read to its end (a broken chunked body, a client gone).
    #[error("the request body could not be read")]
    UnreadableBody(#[source] axum::Error),
    /// 408: the body did not arrive in time.
    #[error("the request body did not arrive within {timeout_ms} ms (AML_SCORER_BODY_TIMEOUT_MS)")]
    BodyTimeout { timeout_ms: u64 },
    /// 408: the body arrived slower than the minimum rate.
    #[error("the request body arrived slower than {min_rate} bytes per second (AML_SCORER_MIN_BODY_RATE)")]
    BodyTooSlow { min_rate: u64 },
    /// 404: no such route.
    #[error("no route for {method} {path}; score with POST /score")]
    NotFound { method: Method, path: String },
    /// 404: a KServe V2 request names a model this server does not serve.
    #[error("no model named {}; this server serves {served:?}", client_text(.asked))]
    UnknownModel { asked: String, served: String },
    /// 405: the route exists, the method does not.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: Method, path: String },
    /// 413: the body is larger than the configured limit.
    #[error("the request body is larger than the limit of {limit} bytes (AML_SCORER_MAX_BODY_BYTES)")]
    TooLarge { limit: usize },
    /// 413: the body is larger than the limit, and the model takes images (whose JSON is many
    /// times their binary size).
    #[error(
        "the request body is larger than the limit of {limit} bytes (AML_SCORER_MAX_BODY_BYTES); this model \
         takes images, and images as JSON numbers take several times their binary size (64 images of \
         224x224 exceed 100 MiB): send fewer images per request; large tensors belong on the binary \
         transports of the KServe V2 protocol (the binary tensor extension, gRPC)"
    )]
    ImagesTooLarge { limit: usize },
    /// 413: one request needs more of the in-flight memory budget than there is.
    #[error(
        "the request needs about {needed} bytes in flight (its body and the tensors decoded from it), more than \
         the whole in-flight memory budget of {budget} bytes (AML_SCORER_MAX_INFLIGHT_BYTES); bodies are also \
         limited to {max_body_bytes} bytes (AML_SCORER_MAX_BODY_BYTES): send fewer rows per request"
    )]
    OverBudget {
        needed: u64,
        budget: u64,
        max_body_bytes: usize,
    },
    /// 429: the in-flight memory budget stayed full for the whole wait.
    #[error(
        "the server is busy: requests in flight hold its whole memory budget of {budget} bytes \
         (AML_SCORER_MAX_INFLIGHT_BYTES); retry after {retry_after_s} s"
    )]
    Busy { budget: u64, retry_after_s: u64 },
    /// 431: a request-id header longer than 100 characters, as the Azure ML server answers.
    #[error("header {0} is longer than 100 characters")]
    HeaderTooLong(&'static str),
    /// 415: a request body in a `Content-Encoding` the server does not read.
    #[error("{0}; send the body as it is, or in gzip or deflate")]
    UnsupportedEncoding(String),
    /// 503: `init` is not done (or the server is stopping).
    #[error("the model is not ready yet; retry after the readiness probe answers 200")]
    NotReady,
}

impl ApiError {
    /// Adds `Retry-After` to a 429, as Azure ML's front end and HTTP clients expect.
    fn with_retry_after(&self, mut response: Response) -> Response {
        if let ApiError::Busy { retry_after_s, .. } = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after_s).into());
        }
        response
    }
}

impl ApiError {
    /// A body over the limit says more when the model takes images.
    pub fn for_model(self, spec: &crate::model::ModelSpec) -> Self {
        match self {
            ApiError::TooLarge { limit } if spec.takes_images() => ApiError::ImagesTooLarge { limit },
            other => other,
        }
    }
}

/// What clients get instead of an internal error's text.
const INTERNAL_MESSAGE: &str = "internal error while scoring; the server log has the details";

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ScoreError::{Input, Output, Predict, Task, Timeout};
        match self {
            ApiError::Score(
                Input(_)
                | Output(_)
                | Predict(
                    PredictError::FixedBatch { .. }
                    | PredictError::Refused(_)
                    | PredictError::TooLarge(_)
                    | PredictError::BadItem(_),
                ),
            )
            | ApiError::InvalidTensor(_)
            | ApiError::BadRequest(_)
            | ApiError::UnreadableBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Score(Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Score(Predict(PredictError::Engine(_) | PredictError::OutputRows { .. }) | Task(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::NotFound { .. } | ApiError::UnknownModel { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTimeout { .. } | ApiError::BodyTooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooLarge { .. } | ApiError::ImagesTooLarge { .. } | ApiError::OverBudget { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::HeaderTooLong(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The status and the text the client may see.
    pub(crate) fn answer(&self) -> (StatusCode, String) {
        let status = self.status();
        // An output that is not per item is told as it is: its message holds names and sizes,
        // no values, and says what to change in the model.
        let told = matches!(
            self,
            ApiError::Score(ScoreError::Predict(PredictError::OutputRows { .. }))
        );
        if status == StatusCode::INTERNAL_SERVER_ERROR && !told {
            return (status, INTERNAL_MESSAGE.to_owned());
        }
        (status, self.to_string())
    }

    /// The answer's last touches: `Retry-After` on a 429, and what went wrong for the access
    /// log (which logs it once, with the request id): the client's message, or an internal
    /// cause with its whole `source()` chain.
    fn finish(&self, mut response: Response, message: &str) -> Response {
        // A refusal's cause is the engine's message: the log's, not the client's.
        let refused = matches!(
            self,
            ApiError::Score(ScoreError::Predict(PredictError::Refused(_)))
        );
        let logged = if response.status() == StatusCode::INTERNAL_SERVER_ERROR || refused {
            ErrorChain(self).to_string()
        } else {
            message.to_owned()
        };
        response.extensions_mut().insert(Failure(logged));
        self.with_retry_after(response)
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        ApiError::Score(error.into())
    }
}

impl From<OutputError> for ApiError {
    fn from(error: OutputError) -> Self {
        ApiError::Score(error.into())
    }
}

impl From<PredictError> for ApiError {
    fn from(error: PredictError) -> Self {
        ApiError::Score(error.into())
    }
}

/// The JSON body of every `/score` and Azure ML route error answer.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.answer();
        let response = (
            status,
            Json(Message {
                message: message.clone(),
            }),
        )
            .into_response();
        self.finish(response, &message)
    }
}

/// An `ApiError` in the KServe V2 shape `{"error": ...}`, with the same status.
pub struct V2Error(pub ApiError);

impl<E: Into<ApiError>> From<E> for V2Error {
    fn from(error: E) -> Self {
        V2Error(error.into())
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let (status, error) = self.0.answer();
        let response = (status, Json(serde_json::json!({ "error": &error }))).into_response();
        self.0.finish(response, &error)
    }
}

/// Text the client chose (a tensor, model or coding name, a datatype), as a message shows it:
/// quoted, and cut to its first 40 characters (then `...`), so that a long one cannot fill an
/// error body, a `grpc-message` header or an access-log line.
pub(crate) fn client_text(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound {
        method,
        path: uri.path().to_owned(),
    }
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_is_quoted_and_cut_to_40_characters() {
        assert_eq!(client_text("input"), r#""input""#);
        assert_eq!(client_text(&"x".repeat(40)), format!("{:?}", "x".repeat(40)));
        assert_eq!(
            client_text(&"é".repeat(1 << 20)),
            format!("{:?}...", "é".repeat(40))
        );
    }

    #[test]
    fn an_unknown_model_shows_a_long_name_cut_short() {
        let error = ApiError::UnknownModel {
            asked: "m".repeat(1 << 20),
            served: "model".to_owned(),
        };
        assert!(error.to_string().len() < 100, "{error}");
    }
}
