//! Router tests: the real router, a fake model, no socket.

use std::{sync::Arc, time::Duration};

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
    response::Response,
};
use tower::ServiceExt;

use super::*;
use crate::model::{
    Batch, ElementType, ModelSpec, Output, PredictError, Predictions, Predictor, Scorer, Values,
};
use crate::telemetry::Metrics;
use axum::http::Method;

/// Sums each row of 3 float64 values; a first value of -1 makes it fail, 999 makes it slow,
/// and a first value of -2 gives NaN.
struct RowSum(ModelSpec);

impl Predictor for RowSum {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let [Values::F64(values)] = batch.inputs.as_slice() else {
            unreachable!("the spec says float64")
        };
        match values[0] {
            -1.0 => return Err(PredictError::engine("tensor [1, 2, 3] exploded")),
            999.0 => std::thread::sleep(Duration::from_millis(300)),
            _ => {}
        }
        let sums = values
            .chunks(3)
            .map(|row| {
                if row[0] == -2.0 {
                    f64::NAN
                } else {
                    row.iter().sum()
                }
            })
            .collect();
        Ok(Predictions {
            rows: batch.rows,
            outputs: vec![Output {
                per_row: 1,
                values: Values::F64(sums),
                shape: Vec::new(),
            }],
        })
    }
}

/// The fake model behind a 100 ms scoring timeout and a 1 KiB body limit.
fn scorer(metrics: Arc<Metrics>) -> Scorer {
    Scorer::new(
        Arc::new(RowSum(ModelSpec::matrix(3, ElementType::F64))),
        Duration::from_millis(100),
        None,
        metrics,
        Default::default(),
    )
}

/// State before `init` is done, or after (`ready`).
fn state(ready: bool) -> AppState {
    let metrics = Arc::new(Metrics::default());
    let settings = ApiSettings {
        body: BodyLimits {
            max_bytes: 1024,
            timeout: std::time::Duration::from_millis(500),
            min_rate: 0,
        },
        inflight: InflightLimit::default_for(None),
        score_method: ScoreMethod::Predict,
        access_log: Default::default(),
        cors: None,
    };
    let state = AppState::new(settings, "fake", metrics.clone());
    if ready {
        state.readiness.start_scoring(scorer(metrics));
    }
    state
}

async fn send(state: AppState, request: Request<Body>) -> (StatusCode, Response, String) {
    let response = router(state)
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let (parts, body) = response.into_parts();
    let text = String::from_utf8(to_bytes(body, usize::MAX).await.unwrap().to_vec()).unwrap();
    (status, Response::from_parts(parts, Body::empty()), text)
}

fn post(body: &str) -> Request<Body> {
    Request::post(SCORING_PATH)
        .header("content-type", "text/plain")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn scoring_answers_one_prediction_per_row_whatever_the_content_type() {
    let (status, response, body) = send(state(true), post(r#"{"data": [[1, 2, 3], [4, 5, 6]]}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "[6.0,15.0]");
    assert!(response.headers().contains_key("x-ms-run-fn-exec-ms"));
    assert_eq!(
        response.headers()["x-ms-server-version"],
        crate::telemetry::SERVER_VERSION
    );
}

#[tokio::test]
async fn scoring_before_init_is_done_is_503() {
    let (status, _, body) = send(state(false), post(r#"{"data": [[1, 2, 3]]}"#)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("not ready"));
}

#[tokio::test]
async fn readiness_follows_init_and_shutdown() {
    let state = state(false);
    assert_eq!(
        send(state.clone(), get(READINESS_PATH)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    state.readiness.start_scoring(scorer(state.metrics.clone()));
    assert_eq!(send(state.clone(), get(READINESS_PATH)).await.0, StatusCode::OK);
    state.readiness.mark_stopping();
    assert_eq!(
        send(state, get(READINESS_PATH)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn liveness_answers_before_init() {
    assert_eq!(send(state(false), get(ROOT_PATH)).await.2, "Healthy");
    assert_eq!(send(state(false), get(LIVENESS_PATH)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_400_with_a_message() {
    let (status, _, body) = send(state(true), post(r#"{"data": [[1, 2]]}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, r#"{"message":"row 0 has 2 values, the model takes 3"}"#);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let (status, _, body) = send(
        state(true),
        post(&format!(r#"{{"data": [[{}1]]}}"#, " ".repeat(2000))),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("larger than the limit of 1024 bytes"));
}

#[tokio::test]
async fn a_model_failure_is_500_without_internal_detail() {
    let (status, _, body) = send(state(true), post(r#"{"data": [[-1, 2, 3]]}"#)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.contains("tensor"), "{body}");
}

#[tokio::test]
async fn a_non_finite_prediction_is_400_naming_the_row() {
    let (status, _, body) = send(state(true), post(r#"{"data": [[1, 2, 3], [-2, 0, 0]]}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("row 1"), "{body}");
}

#[tokio::test]
async fn a_slow_score_is_504() {
    let (status, _, body) = send(state(true), post(r#"{"data": [[999, 2, 3]]}"#)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body.contains("100 ms"));
}

#[tokio::test]
async fn get_score_scores_the_query_string() {
    let (status, _, body) = send(state(true), get("/score?data=%5B%5B1%2C2%2C3%5D%5D")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "[6.0]"));
}

#[tokio::test]
async fn get_score_without_a_query_describes_the_call() {
    let (status, _, body) = send(state(true), get(SCORING_PATH)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("x3"), "{body}");
}

#[tokio::test]
async fn options_score_is_200() {
    let request = Request::options(SCORING_PATH).body(Body::empty()).unwrap();
    assert_eq!(send(state(true), request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let (status, _, body) = send(state(true), get("/nope")).await;
    assert_eq!(
        (status, body.starts_with(r#"{"message":"#)),
        (StatusCode::NOT_FOUND, true)
    );
    let request = Request::delete(SCORING_PATH).body(Body::empty()).unwrap();
    let (status, _, body) = send(state(true), request).await;
    assert_eq!(
        (status, body.starts_with(r#"{"message":"#)),
        (StatusCode::METHOD_NOT_ALLOWED, true)
    );
}

#[tokio::test]
async fn client_request_ids_are_echoed() {
    let request = Request::get(ROOT_PATH)
        .header("x-ms-client-request-id", "abc")
        .body(Body::empty())
        .unwrap();
    let (_, response, _) = send(state(true), request).await;
    assert_eq!(response.headers()["x-ms-client-request-id"], "abc");
    assert_eq!(response.headers()["x-ms-request-id"], "abc");
}

#[tokio::test]
async fn an_overlong_request_id_is_431() {
    let request = Request::get(ROOT_PATH)
        .header("x-request-id", "x".repeat(101))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(state(true), request).await.0,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

mod documented;
