//! The HTTP surface: the router, shared state, and the middleware every request goes through.

mod body;
mod budget;
mod compression;
mod cors;
mod error;
mod health;
mod observe;
pub(crate) mod openapi;
pub(crate) mod request_id;
mod routes;
mod score;
mod settings;
mod state;
pub(crate) mod v2;

use axum::{
    middleware,
    routing::{get, post},
    Router,
};

pub use body::BodyLimits;
pub use cors::{CorsOriginError, CorsOrigins};
// For gRPC (src/grpc), which serves the same model with the same budget, errors and access log.
pub(crate) use body::CHARGE_PER_BODY_BYTE;
pub(crate) use budget::{Charge, Charged, InflightBudget};
pub(crate) use compression::{inflate_coded, Encoding};
pub(crate) use error::client_text;
pub use error::{ApiError, V2Error};
pub(crate) use observe::{record_call, Failure, ScoredRows};
pub use observe::{AccessLog, AccessLogSettings, ACCESS_LOG_TARGET};
pub use routes::*;
pub use settings::{ApiSettings, InflightLimit, ScoreMethod};
pub use state::{AppState, Readiness};

/// The router over `state`. Each route is registered here, where it is served; `OPERATIONS`
/// documents the same operations and a router test keeps the two in step.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route(ROOT_PATH, get(health::root))
        .route(LIVENESS_PATH, get(health::live))
        .route(READINESS_PATH, get(health::ready))
        .route(
            SCORING_PATH,
            get(score::score_query)
                .post(score::score_body)
                .options(score::options),
        )
        .route(METRICS_PATH, get(health::metrics))
        .route(SWAGGER_PATH, get(openapi::swagger))
        .route(V2_SERVER_PATH, get(v2::server_metadata))
        .route(V2_LIVE_PATH, get(v2::live))
        .route(V2_READY_PATH, get(v2::ready))
        .route(V2_MODEL_PATH, get(v2::model_metadata))
        .route(V2_MODEL_READY_PATH, get(v2::model_ready))
        .route(V2_INFER_PATH, post(v2::infer))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed);
    // Inside the middleware, so that preflights (which CORS answers itself, on every route) get
    // request ids and metrics like any other request.
    let routes = match &state.cors {
        Some(origins) => routes.layer(origins.layer()),
        None => routes,
    };
    routes
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
