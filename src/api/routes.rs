//! Every route's path, and the table that documents each operation: the OpenAPI document is built
//! from it and a router test checks that the router serves exactly these operations. Paths live
//! here because the deployment YAML repeats them.

use axum::http::Method;

/// Liveness, as the Azure ML inference server answers it.
pub const ROOT_PATH: &str = "/";
/// Liveness probe route of `deployment.yml`.
pub const LIVENESS_PATH: &str = "/health/live";
/// Readiness probe route of `deployment.yml`.
pub const READINESS_PATH: &str = "/health/ready";
/// Scoring route of `deployment.yml`.
pub const SCORING_PATH: &str = "/score";
/// Prometheus scrape route.
pub const METRICS_PATH: &str = "/metrics";
/// The OpenAPI document (Azure ML's `openapi_uri`).
pub const SWAGGER_PATH: &str = "/swagger.json";
/// KServe V2 server metadata.
pub const V2_SERVER_PATH: &str = "/v2";
/// KServe V2 liveness.
pub const V2_LIVE_PATH: &str = "/v2/health/live";
/// KServe V2 readiness.
pub const V2_READY_PATH: &str = "/v2/health/ready";
/// KServe V2 model metadata.
pub const V2_MODEL_PATH: &str = "/v2/models/{name}";
/// KServe V2 model readiness.
pub const V2_MODEL_READY_PATH: &str = "/v2/models/{name}/ready";
/// KServe V2 inference.
pub const V2_INFER_PATH: &str = "/v2/models/{name}/infer";

/// The route label of a request no route matched (the 404 fallback).
pub const UNMATCHED: &str = "unmatched";

/// The route's path as a `'static` string, for labels that should not allocate per request.
pub fn static_path(matched: &str) -> &'static str {
    OPERATIONS
        .iter()
        .map(|operation| operation.path)
        .find(|path| *path == matched)
        .unwrap_or(UNMATCHED)
}

/// What a documented answer's body carries (its OpenAPI content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Empty,
    Text,
    Json,
    ScoreOutput,
    Message,
    V2Error,
}

/// One operation: a method on a path and every status it can answer.
pub struct Operation {
    pub path: &'static str,
    pub method: Method,
    pub summary: &'static str,
    pub responses: &'static [(u16, &'static str, Content)],
}

/// Statuses every route can answer through the middleware.
const HEADER_TOO_LONG: (u16, &str, Content) = (
    431,
    "A request-id header is longer than 100 characters",
    Content::Message,
);

const SCORE_ERRORS: [(u16, &str, Content); 8] = [
    (
        400,
        "The body is not valid JSON, has the wrong shape, or a value the model cannot take",
        Content::Message,
    ),
    (413, BODY_TOO_LARGE, Content::Message),
    HEADER_TOO_LONG,
    (
        500,
        "An internal error (details in the server log)",
        Content::Message,
    ),
    (503, "The model is not ready yet", Content::Message),
    (
        504,
        "Scoring took longer than the scoring timeout",
        Content::Message,
    ),
    (408, BODY_TIMED_OUT, Content::Message),
    (429, INFLIGHT_FULL, Content::Message),
];

const BODY_TOO_LARGE: &str = "The body is larger than the body limit or the whole in-flight memory budget";
const BODY_TIMED_OUT: &str =
    "The body did not arrive within the body timeout, or slower than the minimum rate";
const INFLIGHT_FULL: &str =
    "The in-flight memory budget stayed full for 1 s; retry after Retry-After seconds";

const UNSUPPORTED_ENCODING: &str = "The body's Content-Encoding is neither gzip nor deflate";

const SCORE_POST: [(u16, &str, Content); 10] = {
    let [a, b, c, d, e, f, g, h] = SCORE_ERRORS;
    [
        (200, "One prediction per row", Content::ScoreOutput),
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        (415, UNSUPPORTED_ENCODING, Content::Message),
    ]
};

const V2_INFER: [(u16, &str, Content); 11] = [
    (
        200,
        "Inference outputs (JSON, or JSON then binary tensors with Inference-Header-Content-Length)",
        Content::Json,
    ),
    (400, "Wrong input name, shape, datatype or data", Content::V2Error),
    (404, "No model of that name", Content::V2Error),
    (408, BODY_TIMED_OUT, Content::V2Error),
    (413, BODY_TOO_LARGE, Content::V2Error),
    (429, INFLIGHT_FULL, Content::V2Error),
    HEADER_TOO_LONG,
    (
        500,
        "An internal error (details in the server log)",
        Content::V2Error,
    ),
    (503, "The model is not ready yet", Content::V2Error),
    (
        504,
        "Inference took longer than the scoring timeout",
        Content::V2Error,
    ),
    (415, UNSUPPORTED_ENCODING, Content::V2Error),
];

const fn op(
    path: &'static str,
    method: Method,
    summary: &'static str,
    responses: &'static [(u16, &'static str, Content)],
) -> Operation {
    Operation {
        path,
        method,
        summary,
        responses,
    }
}

/// Every operation the server answers, as documentation: the router registers them itself.
pub static OPERATIONS: [Operation; 14] = [
    op(
        ROOT_PATH,
        Method::GET,
        "Liveness (answers Healthy)",
        &[(200, "Alive", Content::Text), HEADER_TOO_LONG],
    ),
    op(
        LIVENESS_PATH,
        Method::GET,
        "Liveness probe",
        &[(200, "Alive", Content::Text), HEADER_TOO_LONG],
    ),
    op(
        READINESS_PATH,
        Method::GET,
        "Readiness probe",
        &[
            (200, "Ready", Content::Message),
            HEADER_TOO_LONG,
            (503, "Init is running or the server is stopping", Content::Message),
        ],
    ),
    op(SCORING_PATH, Method::POST, "Score rows", &SCORE_POST),
    op(
        SCORING_PATH,
        Method::GET,
        "Score ?data=[[...]], or describe the call",
        &[
            (
                200,
                "Predictions, or a description of the call without a query",
                Content::ScoreOutput,
            ),
            SCORE_ERRORS[0],
            HEADER_TOO_LONG,
            SCORE_ERRORS[3],
            SCORE_ERRORS[4],
            SCORE_ERRORS[5],
        ],
    ),
    op(
        SCORING_PATH,
        Method::OPTIONS,
        "Allowed methods",
        &[(200, "Empty", Content::Empty), HEADER_TOO_LONG],
    ),
    op(
        METRICS_PATH,
        Method::GET,
        "Prometheus metrics",
        &[(200, "OpenMetrics text", Content::Text), HEADER_TOO_LONG],
    ),
    op(
        SWAGGER_PATH,
        Method::GET,
        "This document (?version=3 for OpenAPI 3)",
        &[(200, "The document", Content::Json), HEADER_TOO_LONG],
    ),
    op(
        V2_SERVER_PATH,
        Method::GET,
        "KServe V2 server metadata",
        &[(200, "Server metadata", Content::Json), HEADER_TOO_LONG],
    ),
    op(
        V2_LIVE_PATH,
        Method::GET,
        "KServe V2 liveness",
        &[(200, "Live", Content::Json), HEADER_TOO_LONG],
    ),
    op(
        V2_READY_PATH,
        Method::GET,
        "KServe V2 readiness",
        &[
            (200, "Ready", Content::Json),
            HEADER_TOO_LONG,
            (503, "Not ready", Content::Json),
        ],
    ),
    op(
        V2_MODEL_PATH,
        Method::GET,
        "KServe V2 model metadata",
        &[
            (200, "Inputs and outputs", Content::Json),
            (404, "No model of that name", Content::V2Error),
            HEADER_TOO_LONG,
            (503, "Not ready", Content::V2Error),
        ],
    ),
    op(
        V2_MODEL_READY_PATH,
        Method::GET,
        "KServe V2 model readiness",
        &[
            (200, "Ready", Content::Json),
            (404, "No model of that name", Content::V2Error),
            HEADER_TOO_LONG,
            (503, "Not ready", Content::V2Error),
        ],
    ),
    op(V2_INFER_PATH, Method::POST, "KServe V2 inference", &V2_INFER),
];
