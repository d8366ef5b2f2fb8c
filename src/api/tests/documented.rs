//! The route table against the router: every documented operation is served, nothing else is,
//! and every status documented for `/score` is one a request below makes it answer.

use super::*;
use crate::api::openapi::document;

/// Each documented operation reaches its own route: the middleware counts the request under the
/// path the router matched (`unmatched` for the fallback), and the answer is neither 404 nor 405.
/// The V2 model routes are asked about the served model, so a 404 from them is a failure too.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    for op in OPERATIONS.iter() {
        let state = state(true);
        let path = op.path.replace("{name}", &state.model_name);
        let request = Request::builder()
            .method(op.method.clone())
            .uri(&path)
            .body(Body::empty())
            .unwrap();

        let (status, _, body) = send(state.clone(), request).await;

        let method = op.method.as_str();
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
        let counted = format!(
            r#"{}_total{{route="{}",method="{method}",status="{}"}} 1"#,
            crate::telemetry::HTTP_REQUESTS,
            op.path,
            status.as_u16()
        );
        let metrics = state.metrics.render();
        assert!(
            metrics.lines().any(|line| line == counted),
            "{method} {path} was not counted as its route: {counted}\n{metrics}"
        );
    }
}

#[tokio::test]
async fn the_router_serves_no_undocumented_method_on_a_documented_path() {
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    for op in OPERATIONS.iter() {
        for method in methods.iter().filter(|m| {
            !OPERATIONS
                .iter()
                .any(|other| other.path == op.path && other.method == **m)
        }) {
            let path = op.path.replace("{name}", "fake");
            let request = Request::builder()
                .method(method.clone())
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let (status, _, body) = send(state(true), request).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
        }
    }
}

#[tokio::test]
async fn each_documented_score_status_is_answered_by_some_request() {
    let slow = post(r#"{"data": [[999, 2, 3]]}"#);
    let long_id = Request::post(SCORING_PATH)
        .header("x-request-id", "x".repeat(101))
        .body(Body::empty())
        .unwrap();
    let brotli = Request::post(SCORING_PATH)
        .header("content-encoding", "br")
        .body(Body::from("x"))
        .unwrap();
    let cases = vec![
        (state(true), post(r#"{"data": [[1, 2, 3]]}"#)),
        (state(true), post("{")),
        (state(true), post(&" ".repeat(2000))),
        (state(true), long_id),
        (state(true), post(r#"{"data": [[-1, 2, 3]]}"#)),
        (state(false), post(r#"{"data": [[1, 2, 3]]}"#)),
        (state(true), slow),
        (state(true), stalled_body()),
        (full_budget(), post(r#"{"data": [[1, 2, 3]]}"#)),
        (state(true), brotli),
    ];
    let mut answered = Vec::new();
    for (state, request) in cases {
        answered.push(send(state, request).await.0.as_u16());
    }
    let op = OPERATIONS
        .iter()
        .find(|op| op.path == SCORING_PATH && op.method == Method::POST)
        .unwrap();
    let documented: Vec<u16> = op.responses.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(answered, documented);
}

/// A body that declares 10 bytes and never sends them.
fn stalled_body() -> Request<Body> {
    struct Stalled;
    impl http_body::Body for Stalled {
        type Data = axum::body::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Pending
        }
        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(10)
        }
    }
    Request::post(SCORING_PATH).body(Body::new(Stalled)).unwrap()
}

/// Ready, with all but 8 bytes of the in-flight budget held by requests that never finish (less
/// than any request's body).
fn full_budget() -> AppState {
    let state = state(true);
    let mut held = crate::api::budget::Charge::none();
    state
        .budget
        .try_grow(&mut held, state.budget.bytes() - 8)
        .unwrap();
    std::mem::forget(held);
    state
}

#[test]
fn swagger_2_describes_score_with_the_model_width() {
    let doc = document(Some(&ModelSpec::matrix(10, ElementType::F64)), false);
    assert_eq!(doc["swagger"], "2.0");
    let body = &doc["paths"]["/score"]["post"]["parameters"][0]["schema"];
    assert_eq!(body["properties"]["data"]["items"]["minItems"], 10);
    assert_eq!(body["example"]["data"][0].as_array().unwrap().len(), 10);
    assert!(
        doc["paths"]["/score"]["post"]["responses"]["400"]["schema"]["properties"]["message"].is_object()
    );
}

#[test]
fn openapi_3_puts_the_body_in_request_body() {
    let doc = document(Some(&ModelSpec::matrix(4, ElementType::F32)), true);
    assert_eq!(doc["openapi"], "3.0.3");
    let schema = &doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["properties"]["data"]["items"]["maxItems"], 4);
}

#[test]
fn every_operation_is_in_the_document() {
    let doc = document(None, false);
    for op in OPERATIONS.iter() {
        let method = op.method.as_str().to_ascii_lowercase();
        assert!(doc["paths"][op.path][&method].is_object(), "{method} {}", op.path);
    }
}

#[test]
fn a_model_of_one_input_per_column_is_documented_by_its_columns_and_types() {
    let tensor = |name: &str, element| crate::model::TensorSpec::matrix(name, element, 1, false);
    let model = ModelSpec {
        inputs: vec![
            tensor("age", ElementType::F32),
            tensor("workclass", ElementType::String),
        ],
        outputs: vec![tensor("label", ElementType::String)],
        fixed_rows: None,
        per_item: false,
    };
    let doc = document(Some(&model), false);
    let body = &doc["paths"]["/score"]["post"]["parameters"][0]["schema"];
    let record = &body["properties"]["data"]["items"];
    assert_eq!(record["properties"]["age"]["type"], "number");
    assert_eq!(record["properties"]["workclass"]["type"], "string");
    assert_eq!(body["example"]["data"][0]["workclass"], "a");
}
