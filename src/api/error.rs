//! The one error type handlers return: each variant has its status, and every answer is JSON
//! `{"message": ...}` with nothing internal in it.

use axum::{
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::model::{InputError, OutputError, PredictError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not a scoring request the model can take.
    #[error(transparent)]
    BadInput(#[from] InputError),
    /// 400: the model produced a value JSON cannot carry (NaN or infinity) for this input.
    #[error(transparent)]
    NonFinite(#[from] OutputError),
    /// 400: the model has a fixed batch size and the request has another.
    #[error("{0}")]
    WrongBatch(String),
    /// 404: no such route.
    #[error("no route for {method} {path}; score with POST /score")]
    NotFound { method: Method, path: String },
    /// 404: a KServe V2 request names a model this server does not serve.
    #[error("{0}")]
    UnknownModel(String),
    /// 405: the route exists, the method does not.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: Method, path: String },
    /// 413: the body is larger than the configured limit.
    #[error("the request body is larger than the limit of {limit} bytes (AML_SCORER_MAX_BODY_BYTES)")]
    TooLarge { limit: usize },
    /// 431: a request-id header longer than 100 characters, as the Azure ML server answers.
    #[error("header {0} is longer than 100 characters")]
    HeaderTooLong(&'static str),
    /// 503: `init` is not done (or the server is stopping).
    #[error("the model is not ready yet; retry after the readiness probe answers 200")]
    NotReady,
    /// 504: scoring did not finish within the scoring timeout.
    #[error("scoring took longer than the scoring timeout of {ms} ms (SCORING_TIMEOUT_MS)")]
    Timeout { ms: u128 },
    /// 500: our own fault; the cause is logged, never sent.
    #[error("internal error while scoring; the server log has the details")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadInput(_) | ApiError::NonFinite(_) | ApiError::WrongBatch(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound { .. } | ApiError::UnknownModel(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeaderTooLong(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<PredictError> for ApiError {
    fn from(error: PredictError) -> Self {
        match error {
            PredictError::FixedBatch { .. } => ApiError::WrongBatch(error.to_string()),
            PredictError::Engine(cause) => ApiError::Internal(cause),
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            // Logged once, here at the edge; the client gets only the generic message.
            tracing::error!(%cause, "scoring failed");
        }
        (
            status,
            Json(Message {
                message: self.to_string(),
            }),
        )
            .into_response()
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
