//! The HTTP surface: the route table, shared state, and the middleware every request goes through.

mod error;
mod health;
mod observe;
pub(crate) mod openapi;
mod request_id;
mod routes;
mod score;
mod state;
mod v2;

use axum::{
    http::Method,
    middleware,
    routing::{on, MethodFilter, MethodRouter},
    Router,
};

pub use error::ApiError;
pub use routes::{Body, Handler, Operation, OPERATIONS};
pub use routes::{LIVENESS_PATH, METRICS_PATH, READINESS_PATH, ROOT_PATH, SCORING_PATH, SWAGGER_PATH};
pub use state::{AppState, Readiness};

/// Builds the router over `state` from the route table.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    let mut paths: Vec<&str> = OPERATIONS.iter().map(|op| op.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let methods = OPERATIONS
            .iter()
            .filter(|op| op.path == path)
            .map(|op| method_router(op.handler, &op.method))
            .reduce(MethodRouter::merge)
            .expect("every path in the table has an operation");
        router = router.route(path, methods);
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}

fn method_router(handler: Handler, method: &Method) -> MethodRouter<AppState> {
    let filter = MethodFilter::try_from(method.clone()).expect("the table uses standard methods");
    match handler {
        Handler::Root => on(filter, health::root),
        Handler::Live => on(filter, health::live),
        Handler::Ready => on(filter, health::ready),
        Handler::ScoreBody => on(filter, score::score_body),
        Handler::ScoreQuery => on(filter, score::score_query),
        Handler::ScoreOptions => on(filter, score::options),
        Handler::Metrics => on(filter, health::metrics),
        Handler::Swagger => on(filter, openapi::swagger),
        Handler::V2Server => on(filter, v2::server_metadata),
        Handler::V2Live => on(filter, v2::live),
        Handler::V2Ready => on(filter, v2::ready),
        Handler::V2Model => on(filter, v2::model_metadata),
        Handler::V2ModelReady => on(filter, v2::model_ready),
        Handler::V2Infer => on(filter, v2::infer),
    }
}

#[cfg(test)]
mod tests;
