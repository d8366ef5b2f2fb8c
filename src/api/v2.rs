//! The Open Inference Protocol (KServe V2) REST routes, so that Triton, MLServer and KServe
//! clients can call the model. Errors are `{"error": "..."}` as the protocol specifies.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::{
    body::read_request_body, budget::Charged, compression, error::V2Error, observe::ScoredRows,
    request_id::RequestId, ApiError, AppState,
};

mod binary;
mod leaves;
mod request;
pub(crate) mod tensor;

use crate::model::{
    Answered, Batch, Codec, ElementType, ModelSpec, Predictions, Predictor, Scorer, TensorSpec,
};
use binary::{binary_output, AnswerTensor, Framed};
use request::InferRequest;
use tensor::{output_tensor, to_batch, RequestTensor};

/// The protocol's datatype name for an element type.
pub(crate) fn datatype(element: ElementType) -> &'static str {
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

/// The protocol's answer.
#[derive(serde::Serialize)]
struct InferResponse<'a> {
    model_name: &'a str,
    model_version: &'static str,
    id: Option<&'a str>,
    outputs: &'a [AnswerTensor<'a>],
}

/// An inference request in (JSON, or JSON and binary tensors), the protocol's answer out.
struct InferCodec {
    model_name: String,
    /// The JSON header's length when the body carries binary tensors.
    header_length: Option<usize>,
    /// The request's `id`, echoed in the answer.
    id: Option<String>,
    /// Indices of the outputs to answer, in the request's order, each with whether it goes out in
    /// binary.
    outputs: Vec<(usize, bool)>,
}

impl InferCodec {
    /// The outputs `request` asks for, and which of them in binary.
    fn outputs(request: &InferRequest<'_>, spec: &ModelSpec) -> Result<Vec<(usize, bool)>, ApiError> {
        let all_binary = request
            .parameters
            .as_ref()
            .and_then(|p| p.binary_data_output)
            .unwrap_or(false);
        let Some(wanted) = &request.outputs else {
            return Ok((0..spec.outputs.len()).map(|index| (index, all_binary)).collect());
        };
        wanted
            .iter()
            .map(|wanted| {
                let index = tensor::output_index(spec, &wanted.name)?;
                let binary = wanted.parameters.as_ref().and_then(|p| p.binary_data);
                Ok((index, binary.unwrap_or(all_binary)))
            })
            .collect()
    }
}

impl Codec for InferCodec {
    type Answer = Framed;
    type Error = ApiError;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        let (header, binary) = binary::split(body, self.header_length)?;
        let request = request::read(header)?;
        let spec = model.spec();
        self.outputs = Self::outputs(&request, spec)?;
        self.id = request.id.clone();
        let data = binary::tensor_data(&request.inputs, binary)?;
        let inputs = request
            .inputs
            .iter()
            .zip(data)
            .map(|(input, data)| RequestTensor {
                name: &input.name,
                datatype: &input.datatype,
                shape: &input.shape,
                data,
            })
            .collect();
        to_batch(inputs, spec)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<Framed, ApiError> {
        let spec = model.spec();
        let (rows, batched) = (predictions.rows, spec.is_batched());
        let outputs = self
            .outputs
            .iter()
            .map(|&(index, binary)| {
                let (tensor, output) = (&spec.outputs[index], &predictions.outputs[index]);
                Ok(if binary {
                    AnswerTensor::Binary(binary_output(tensor, output, rows, batched))
                } else {
                    AnswerTensor::Json(output_tensor(tensor, output, rows, batched)?)
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let answer = InferResponse {
            model_name: &self.model_name,
            model_version: "1",
            id: self.id.as_deref(),
            outputs: &outputs,
        };
        Ok(binary::frame(&answer, &outputs))
    }

    fn answered(&self, _: &dyn Predictor) -> Answered {
        Answered::Outputs(self.outputs.iter().map(|&(index, _)| index).collect())
    }
}

/// `POST /v2/models/{name}/infer`: JSON, or JSON and binary tensors; gzip or deflate bodies.
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    id: RequestId,
    request: axum::extract::Request,
) -> Result<Response, V2Error> {
    let scorer = model(&state, &name)?;
    let arrived = scorer.arrived();
    let (parts, body) = request.into_parts();
    let header_length = binary::header_length(&parts.headers)?;
    let answer_encoding = compression::accepted(&parts.headers);
    let (bytes, charge) = read_request_body(&parts.headers, body, &state)
        .await
        .map_err(|e| e.for_model(scorer.model().spec()))?;
    let codec = Charged {
        codec: InferCodec {
            model_name: name,
            header_length,
            id: None,
            outputs: Vec::new(),
        },
        charge,
        budget: state.budget.clone(),
    };
    let scored = scorer.score_as(arrived, id.as_str(), bytes, codec).await?;
    let Framed { body, header_length } = scored.answer;
    let content_type = match header_length {
        Some(_) => "application/octet-stream",
        None => "application/json",
    };
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Some(length) = header_length {
        response
            .headers_mut()
            .insert(binary::HEADER_LENGTH, length.into());
    }
    response.extensions_mut().insert(ScoredRows(scored.rows));
    Ok(compression::compress_answer(answer_encoding, state.attaches_answers(), response).await?)
}
