//! The Open Inference Protocol (KServe V2) REST routes, so that Triton, MLServer and KServe
//! clients can call the model. Errors are `{"error": "..."}` as the protocol specifies.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    body::{expects_continue, read_body},
    budget::Charged,
    error::V2Error,
    observe::ScoredRows,
    request_id::RequestId,
    ApiError, AppState,
};

mod leaves;
mod tensor;

use crate::model::{
    Answered, Batch, Codec, ElementType, InputError, Predictions, Predictor, Scorer, TensorSpec,
};
use tensor::{output_tensor, to_batch};

/// The protocol's datatype name for an element type.
pub(super) fn datatype(element: ElementType) -> &'static str {
    match element {
        ElementType::F32 => "FP32",
        ElementType::F64 => "FP64",
        ElementType::F16 => "FP16",
        ElementType::I8 => "INT8",
        ElementType::U8 => "UINT8",
        ElementType::I16 => "INT16",
        ElementType::I32 => "INT32",
        ElementType::I64 => "INT64",
        ElementType::Bool => "BOOL",
        ElementType::String => "BYTES",
    }
}

/// A tensor's metadata entry.
fn describe(tensor: &TensorSpec) -> Value {
    json!({ "name": tensor.name, "datatype": datatype(tensor.element), "shape": tensor.v2_shape() })
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

/// The scorer, if `name` is our model's and it is loaded.
fn model(state: &AppState, name: &str) -> Result<Arc<Scorer>, V2Error> {
    if name != state.model_name.as_ref() {
        return Err(V2Error(ApiError::UnknownModel {
            asked: name.to_owned(),
            served: state.model_name.to_string(),
        }));
    }
    let scorer = state.readiness.scorer().ok_or(ApiError::NotReady)?;
    Ok(scorer.clone())
}

/// `GET /v2/models/{name}`: inputs and outputs with -1 for the batch dimension.
pub async fn model_metadata(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, V2Error> {
    let scorer = model(&state, &name)?;
    let spec = scorer.model().spec();
    Ok(Json(json!({
        "name": name,
        "versions": ["1"],
        "platform": "onnx",
        "inputs": spec.inputs.iter().map(describe).collect::<Vec<_>>(),
        "outputs": spec.outputs.iter().map(describe).collect::<Vec<_>>(),
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
    /// The outputs to answer; all of them when absent.
    outputs: Option<Vec<RequestedOutput>>,
}

#[derive(Deserialize)]
struct RequestedOutput {
    name: String,
}

#[derive(Deserialize)]
pub(super) struct InferInput {
    pub(super) name: String,
    pub(super) shape: Vec<i64>,
    pub(super) datatype: String,
    pub(super) data: leaves::Leaves,
}

/// The protocol's answer.
#[derive(serde::Serialize)]
struct InferResponse<'a> {
    model_name: &'a str,
    model_version: &'static str,
    id: Option<&'a str>,
    outputs: Vec<tensor::OutputTensor<'a>>,
}

/// An inference request in, the protocol's answer (as JSON bytes) out.
struct InferCodec {
    model_name: String,
    /// The request's `id`, echoed in the answer.
    id: Option<String>,
    /// Indices of the outputs to answer, in the request's order.
    outputs: Vec<usize>,
}

impl Codec for InferCodec {
    type Answer = Vec<u8>;
    type Error = ApiError;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        let request: InferRequest = serde_json::from_slice(body).map_err(|e| InputError::InvalidJson {
            detail: e.to_string(),
        })?;
        let spec = model.spec();
        self.outputs = match &request.outputs {
            None => (0..spec.outputs.len()).collect(),
            Some(wanted) => wanted
                .iter()
                .map(|wanted| {
                    spec.outputs
                        .iter()
                        .position(|o| o.name == wanted.name)
                        .ok_or_else(|| {
                            let names: Vec<&str> = spec.outputs.iter().map(|o| o.name.as_str()).collect();
                            ApiError::InvalidTensor(format!(
                                "unknown output {:?}; the model's outputs are {}",
                                wanted.name,
                                names.join(", ")
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        self.id = request.id.clone();
        to_batch(&request, spec)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<Vec<u8>, ApiError> {
        let spec = model.spec();
        let outputs = self
            .outputs
            .iter()
            .map(|&index| {
                output_tensor(
                    &spec.outputs[index],
                    &predictions.outputs[index],
                    predictions.rows,
                    spec.is_batched(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answer = InferResponse {
            model_name: &self.model_name,
            model_version: "1",
            id: self.id.as_deref(),
            outputs,
        };
        Ok(serde_json::to_vec(&answer).expect("strings and finite numbers always serialise"))
    }

    fn answered(&self, _: &dyn Predictor) -> Answered {
        Answered::Outputs(self.outputs.clone())
    }
}

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    id: RequestId,
    request: axum::extract::Request,
) -> Result<Response, V2Error> {
    let scorer = model(&state, &name)?;
    let (bytes, charge) = {
        let (parts, body) = request.into_parts();
        read_body(body, state.body, &state.budget, expects_continue(&parts.headers))
            .await
            .map_err(|e| e.for_model(scorer.model().spec()))?
    };
    let codec = Charged {
        codec: InferCodec {
            model_name: name,
            id: None,
            outputs: Vec::new(),
        },
        charge,
        budget: state.budget.clone(),
    };
    let scored = scorer.score_as(id.as_str(), bytes, codec).await?;
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    let mut response = (content_type, scored.answer).into_response();
    response.extensions_mut().insert(ScoredRows(scored.rows));
    Ok(response)
}
