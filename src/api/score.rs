//! `/score`: the Azure ML contract. The body (or `?data=` query) goes to the scorer with the
//! codec below; the answer is a JSON array of predictions.

use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{body::read_body, observe::ScoredRows, ApiError, AppState};
use crate::model::{parse_request, write_predictions, Batch, Codec, Predictions, Predictor, Scored};

const EXEC_TIME_HEADER: HeaderName = HeaderName::from_static("x-ms-run-fn-exec-ms");

/// `{"data": ...}` in, a JSON array out.
struct ScoreCodec;

impl Codec for ScoreCodec {
    type Answer = Vec<u8>;
    type Error = ApiError;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        Ok(parse_request(body, &model.input())?)
    }

    fn encode(self, predictions: Predictions, _: &dyn Predictor) -> Result<Vec<u8>, ApiError> {
        Ok(write_predictions(&predictions)?)
    }
}

/// `POST /score`: any Content-Type is read as JSON, as the Azure ML server does.
pub async fn score_body(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let scorer = state.readiness.scorer().ok_or(ApiError::NotReady)?;
    let bytes = read_body(body, state.max_body_bytes).await?;
    Ok(scored(scorer.score(bytes, ScoreCodec).await?))
}

/// `GET /score`: `?data=[[...]]` is scored like a body; without it, how to call the endpoint.
pub async fn score_query(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let data = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find_map(|(key, value)| (key == "data").then_some(value.into_owned()))
    });
    let Some(data) = data else {
        return Ok(usage(&state));
    };
    let scorer = state.readiness.scorer().ok_or(ApiError::NotReady)?;
    let body = Bytes::from(format!("{{\"data\": {data}}}"));
    Ok(scored(scorer.score(body, ScoreCodec).await?))
}

/// `OPTIONS /score`: 200, with the methods the route takes.
pub async fn options() -> impl IntoResponse {
    (StatusCode::OK, [(header::ALLOW, "GET, POST, OPTIONS")])
}

fn usage(state: &AppState) -> Response {
    let width = state
        .readiness
        .scorer()
        .map_or_else(|| "k".to_owned(), |s| s.model().input().width.to_string());
    let text = format!(
        "POST a JSON body {{\"data\": [[x1, ..., x{width}], ...]}} to /score (one row per prediction); \
         the answer is a JSON array with one prediction per row. GET /score?data=[[...]] works too.\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The 200 answer with the execution-time header, and the rows for the access log.
fn scored(scored: Scored<Vec<u8>>) -> Response {
    let exec_ms = format!("{:.3}", scored.elapsed.as_secs_f64() * 1000.0);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (
            EXEC_TIME_HEADER,
            HeaderValue::from_str(&exec_ms).expect("a decimal number is a valid header value"),
        ),
    ];
    let mut response = (StatusCode::OK, headers, scored.answer).into_response();
    response.extensions_mut().insert(ScoredRows(scored.rows));
    response
}
