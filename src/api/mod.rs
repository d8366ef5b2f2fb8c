//! The HTTP surface: routes (paths in one place, since the deployment YAML repeats them), shared
//! state, and the layers every request goes through.

mod error;
mod health;
mod request_id;
mod score;
mod state;

use axum::{middleware, routing::get, Router};

pub use error::ApiError;
pub use state::{AppState, Readiness};

/// Liveness, as the Azure ML inference server answers it.
pub const ROOT_PATH: &str = "/";
/// Liveness probe route of `deployment.yml`.
pub const LIVENESS_PATH: &str = "/health/live";
/// Readiness probe route of `deployment.yml`.
pub const READINESS_PATH: &str = "/health/ready";
/// Scoring route of `deployment.yml`.
pub const SCORING_PATH: &str = "/score";

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(ROOT_PATH, get(health::root))
        .route(LIVENESS_PATH, get(health::live))
        .route(READINESS_PATH, get(health::ready))
        .route(
            SCORING_PATH,
            get(score::score_query)
                .post(score::score_body)
                .options(score::options),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(middleware::from_fn(request_id::request_ids))
}

#[cfg(test)]
mod tests;
