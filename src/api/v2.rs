//! The Open Inference Protocol (KServe V2) REST routes, so that Triton, MLServer and KServe
//! clients can call the model. Errors are `{"error": "..."}` as the protocol specifies.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{observe::ScoredRows, score::read_body, ApiError, AppState};

mod tensor;

use crate::model::{ElementType, InputError, Predictor};
use tensor::{output_data, to_batch};

/// An `ApiError` in the protocol's `{"error": ...}` shape, with the same status.
pub struct V2Error(ApiError);

impl<E: Into<ApiError>> From<E> for V2Error {
    fn from(error: E) -> Self {
        V2Error(error.into())
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let ApiError::Internal(cause) = &self.0 {
            tracing::error!(%cause, "inference failed");
        }
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

/// The protocol's datatype name for an element type.
pub(super) fn datatype(element: ElementType) -> &'static str {
    match element {
        ElementType::F32 => "FP32",
        ElementType::F64 => "FP64",
        ElementType::I32 => "INT32",
        ElementType::I64 => "INT64",
    }
}

/// `GET /v2`: server metadata.
pub async fn server_metadata() -> Json<Value> {
    Json(json!({ "name": "aml-scorer", "version": env!("CARGO_PKG_VERSION"), "extensions": [] }))
}

/// `GET /v2/health/live`.
pub async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 once `init` is done, else 503.
pub async fn ready(State(state): State<AppState>) -> Response {
    let ready = state.readiness.is_ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready }))).into_response()
}

/// The model, if `name` is ours and it is loaded.
fn model(state: &AppState, name: &str) -> Result<Arc<dyn Predictor>, V2Error> {
    if name != state.model_name.as_ref() {
        let message = format!(
            "no model named {name:?}; this server serves {:?}",
            state.model_name
        );
        return Err(V2Error(ApiError::UnknownModel(message)));
    }
    state
        .readiness
        .predictor()
        .cloned()
        .ok_or(V2Error(ApiError::NotReady))
}

/// `GET /v2/models/{name}`: inputs and outputs with -1 for the batch dimension.
pub async fn model_metadata(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, V2Error> {
    let model = model(&state, &name)?;
    let (input, meta) = (model.input(), model.metadata());
    let output_shape = meta
        .output_width
        .map_or_else(|| json!([-1, -1]), |width| json!([-1, width]));
    Ok(Json(json!({
        "name": name,
        "versions": ["1"],
        "platform": "onnx",
        "inputs": [{ "name": meta.input_name, "datatype": datatype(input.element), "shape": [-1, input.width] }],
        "outputs": [{ "name": meta.output_name, "datatype": datatype(meta.output_element), "shape": output_shape }],
    })))
}

/// `GET /v2/models/{name}/ready`.
pub async fn model_ready(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, V2Error> {
    model(&state, &name)?;
    Ok(Json(json!({ "name": name, "ready": true })))
}

#[derive(Deserialize)]
pub(super) struct InferRequest {
    id: Option<String>,
    pub(super) inputs: Vec<InferInput>,
}

#[derive(Deserialize)]
pub(super) struct InferInput {
    pub(super) name: String,
    pub(super) shape: Vec<i64>,
    pub(super) datatype: String,
    pub(super) data: Value,
}

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, V2Error> {
    let model = model(&state, &name)?;
    let bytes = read_body(body, state.max_body_bytes).await?;
    let metrics = state.metrics.clone();
    let (answer, rows) = super::score::run_scoring(&state, move || {
        let request: InferRequest = serde_json::from_slice(&bytes).map_err(|e| InputError::InvalidJson {
            detail: e.to_string(),
        })?;
        let batch = to_batch(&request, model.as_ref())?;
        let rows = batch.rows;
        let started = std::time::Instant::now();
        let predictions = model.predict(batch)?;
        metrics.observe_model_run(rows, started.elapsed());
        let meta = model.metadata();
        let (element, data) = output_data(&predictions.values)?;
        let answer = json!({
            "model_name": name,
            "model_version": "1",
            "id": request.id,
            "outputs": [{
                "name": meta.output_name,
                "datatype": element,
                "shape": [predictions.rows, predictions.per_row],
                "data": data,
            }],
        });
        Ok((answer, rows))
    })
    .await?;
    let mut response = Json(answer).into_response();
    response.extensions_mut().insert(ScoredRows(rows));
    Ok(response)
}
