//! Liveness is constant; readiness follows `init` and shutdown; metrics for scrapers.

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};

use super::{error::Message, AppState};

/// `GET /`: the Azure ML inference server's liveness answer.
pub async fn root() -> &'static str {
    "Healthy"
}

/// `GET /health/live`: the process is up and serving HTTP.
pub async fn live() -> &'static str {
    "OK"
}

/// `GET /health/ready`: 200 once `init` is done, 503 before and while stopping.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (
            StatusCode::OK,
            Json(Message {
                message: "ready".into(),
            }),
        )
    } else {
        let message = "not ready: init is running or the server is stopping".to_owned();
        (StatusCode::SERVICE_UNAVAILABLE, Json(Message { message }))
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(axum::http::header::CONTENT_TYPE, content_type)],
        state.metrics.render(),
    )
}
