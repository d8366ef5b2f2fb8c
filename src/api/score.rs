//! `/score`: the body (or `?data=` query) is parsed, run and serialised off the async executor.

use std::sync::Arc;
use std::time::Instant;

use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{observe::ScoredRows, ApiError, AppState};
use crate::model::{parse_request, write_predictions, Predictor};

/// Bodies up to this size are scored on the request's own task when the model is cheap (a few
/// microseconds per run): parsing and running them is faster than a thread hand-off.
const INLINE_MAX_BYTES: usize = 16 * 1024;

const EXEC_TIME_HEADER: HeaderName = HeaderName::from_static("x-ms-run-fn-exec-ms");

/// `POST /score`: any Content-Type is read as JSON, as the Azure ML server does.
pub async fn score_body(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let predictor = state.readiness.predictor().cloned().ok_or(ApiError::NotReady)?;
    let bytes = read_body(body, state.max_body_bytes).await?;
    score(&state, predictor, bytes).await
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
    let predictor = state.readiness.predictor().cloned().ok_or(ApiError::NotReady)?;
    let body = Bytes::from(format!("{{\"data\": {data}}}"));
    score(&state, predictor, body).await
}

/// `OPTIONS /score`: 200, with the methods the route takes.
pub async fn options() -> impl IntoResponse {
    (StatusCode::OK, [(header::ALLOW, "GET, POST, OPTIONS")])
}

fn usage(state: &AppState) -> Response {
    let width = state
        .readiness
        .predictor()
        .map_or_else(|| "k".to_owned(), |p| p.input().width.to_string());
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

/// Reads the whole body, refusing more than `limit` bytes. A body in one frame is kept as it
/// is; several frames are copied once into a buffer sized from the body's length.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = http_body::Body::size_hint(&body).upper();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    let broken = |error: Box<dyn std::error::Error + Send + Sync>| {
        if error.downcast_ref::<LengthLimitError>().is_some() {
            ApiError::TooLarge { limit }
        } else {
            // The client went away or sent a broken chunked body.
            ApiError::BadInput(crate::model::InputError::InvalidJson {
                detail: format!("the body could not be read: {error}"),
            })
        }
    };
    let mut body = Limited::new(body, limit);
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(broken)?.into_data() else {
            continue;
        };
        if let Some(previous) = first.take() {
            buffer.reserve(declared.map_or(previous.len() + data.len(), |len| len as usize));
            buffer.extend_from_slice(&previous);
            buffer.extend_from_slice(&data);
        } else if buffer.is_empty() {
            first = Some(data);
        } else {
            buffer.extend_from_slice(&data);
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(buffer)))
}

/// Parses, runs and serialises `body` off the async executor.
async fn score(state: &AppState, predictor: Arc<dyn Predictor>, body: Bytes) -> Result<Response, ApiError> {
    if predictor.as_batcher().is_some() {
        return score_batched(state, predictor, body).await;
    }
    let metrics = state.metrics.clone();
    let inline = predictor.is_cheap() && body.len() <= INLINE_MAX_BYTES;
    let work = move || {
        let started = Instant::now();
        let batch = parse_request(&body, &predictor.input())?;
        let rows = batch.rows;
        let model_started = Instant::now();
        let predictions = predictor.predict(batch)?;
        metrics.observe_model_run(rows, model_started.elapsed());
        let json = write_predictions(&predictions)?;
        Ok((json, rows, started.elapsed()))
    };
    let (json, rows, elapsed) = if inline {
        work()?
    } else {
        run_scoring(state, work).await?
    };
    Ok(scored(json, rows, elapsed))
}

/// With dynamic batching: parse, then await the batcher (no thread waits for it), then write.
async fn score_batched(
    state: &AppState,
    predictor: Arc<dyn Predictor>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let spec = predictor.input();
    let batch = if body.len() <= INLINE_MAX_BYTES {
        parse_request(&body, &spec)?
    } else {
        run_scoring(state, move || Ok(parse_request(&body, &spec)?)).await?
    };
    let rows = batch.rows;
    let batcher = predictor
        .as_batcher()
        .expect("score_batched is only called with a batcher");
    let timeout = state.scoring_timeout;
    let model_started = Instant::now();
    let predictions = tokio::time::timeout(timeout, batcher.run(batch))
        .await
        .map_err(|_| ApiError::Timeout {
            ms: timeout.as_millis(),
        })??;
    state.metrics.observe_model_run(rows, model_started.elapsed());
    let json = write_predictions(&predictions)?;
    Ok(scored(json, rows, started.elapsed()))
}

/// The 200 answer with the execution-time header, and the rows for the access log.
fn scored(json: Vec<u8>, rows: usize, elapsed: std::time::Duration) -> Response {
    let exec_ms = format!("{:.3}", elapsed.as_secs_f64() * 1000.0);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (
            EXEC_TIME_HEADER,
            HeaderValue::from_str(&exec_ms).expect("a decimal number is a valid header value"),
        ),
    ];
    let mut response = (StatusCode::OK, headers, json).into_response();
    response.extensions_mut().insert(ScoredRows(rows));
    response
}

/// Runs `work` (parse, model, serialise) on a blocking thread holding one of the model slots,
/// within the scoring timeout. A timed-out run finishes in the background but keeps its slot
/// until then, so timeouts cannot oversubscribe the CPU.
pub async fn run_scoring<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let timeout = state.scoring_timeout;
    let slots = state.model_slots.clone();
    let run = async move {
        let slot = slots.acquire_owned().await.map_err(|_| ApiError::NotReady)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|join| ApiError::Internal(format!("scoring task failed: {join}")))?
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| ApiError::Timeout {
            ms: timeout.as_millis(),
        })?
}
