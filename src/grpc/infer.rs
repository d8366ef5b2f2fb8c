//! `ModelInfer` as a scorer `Codec`: the request's tensors (typed `contents` or
//! `raw_input_contents`) checked by the same `to_batch` as REST, the outputs answered in
//! `raw_output_contents` (the only place `tritonclient.grpc` reads them).

use bytes::Bytes;
use prost::Message;

use super::contents::typed_values;
use super::messages::{model_infer_response::InferOutputTensor, ModelInferRequest, ModelInferResponse};
use crate::api::v2::datatype;
use crate::api::v2::tensor::{output_index, output_shape, to_batch, RequestTensor, TensorData};
use crate::api::{ApiError, Charge, InflightBudget};
use crate::model::{write_raw, Answered, Batch, Codec, Predictions, Predictor, Values};

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// A `ModelInferRequest` in (still encoded: decoded by `decode`, on the thread the scorer picks),
/// a `ModelInferResponse` out.
pub(super) struct InferCodec {
    /// The encoded request; the same bytes the scorer is given as the body.
    pub body: Bytes,
    /// The model this server serves, which the request must name.
    pub model_name: std::sync::Arc<str>,
    /// The request's `id`, echoed in the answer.
    pub id: String,
    /// Indices of the outputs to answer, in the request's order.
    pub outputs: Vec<usize>,
    /// Charged what decoding the message may allocate, while it is decoded.
    pub budget: std::sync::Arc<InflightBudget>,
}

/// The most `inputs`, `outputs` or `raw_input_contents` entries a request may have: a few per
/// tensor of the model (a client may repeat one), never fewer than this.
const MIN_ENTRIES: usize = 64;
const ENTRIES_PER_TENSOR: usize = 4;

/// 400 when the message has more entries than the model could use.
fn check_census(census: &wire::Census, spec: &crate::model::ModelSpec) -> Result<(), ApiError> {
    let most = |tensors: usize| tensors.saturating_mul(ENTRIES_PER_TENSOR).max(MIN_ENTRIES);
    let counts = [
        ("inputs", census.inputs, most(spec.inputs.len())),
        (
            "raw_input_contents",
            census.raw_input_contents,
            most(spec.inputs.len()),
        ),
        ("outputs", census.outputs, most(spec.outputs.len())),
    ];
    for (field, count, most) in counts {
        if count > most {
            return Err(ApiError::BadRequest(format!(
                "the ModelInferRequest has {count} {field} entries, more than the {most} this model accepts"
            )));
        }
    }
    Ok(())
}

impl Codec for InferCodec {
    type Answer = ModelInferResponse;
    type Error = ApiError;

    fn decode(&mut self, _body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        // Counted on the wire first: decoding multiplies small entries (2 bytes each) into
        // structures of hundreds of bytes, which the budget must see before they exist. The
        // worst case is held while decoding; `Charged` charges the decoded tensors after.
        let census = wire::census(&self.body).map_err(ApiError::BadRequest)?;
        check_census(&census, model.spec())?;
        let mut decoding = Charge::none();
        self.budget.try_grow(&mut decoding, census.decoded_bytes)?;
        // Decoded from `Bytes`, the raw contents are views of the message, not copies.
        let mut request = ModelInferRequest::decode(self.body.clone())
            .map_err(|e| ApiError::BadRequest(format!("the ModelInferRequest message is malformed: {e}")))?;
        if request.model_name != *self.model_name {
            return Err(ApiError::UnknownModel {
                asked: request.model_name,
                served: self.model_name.to_string(),
            });
        }
        let spec = model.spec();
        self.outputs = request
            .outputs
            .iter()
            .map(|wanted| output_index(spec, &wanted.name))
            .collect::<Result<_, _>>()?;
        if self.outputs.is_empty() {
            self.outputs = (0..spec.outputs.len()).collect();
        }
        self.id = std::mem::take(&mut request.id);
        // Inputs without `contents` take the raw entries in order: every input (tritonclient),
        // or those without a typed field (the KServe SDK sends FP16 raw beside typed inputs).
        let raw = &request.raw_input_contents;
        let raw_inputs = request.inputs.iter().filter(|i| i.contents.is_none()).count();
        if !raw.is_empty() && raw.len() != raw_inputs {
            return Err(bad(format!(
                "raw_input_contents has {} entries for the {raw_inputs} inputs without contents",
                raw.len()
            )));
        }
        let mut next_raw = raw.iter();
        let mut data = Vec::with_capacity(request.inputs.len());
        for input in &mut request.inputs {
            // Typed, or no data at all (then counted as no values).
            data.push(if input.contents.is_some() || raw.is_empty() {
                Data::Typed(typed_values(input)?)
            } else {
                Data::Raw(next_raw.next().expect("one raw entry per input without contents"))
            });
        }
        let tensors = request
            .inputs
            .iter()
            .zip(data)
            .map(|(input, data)| RequestTensor {
                name: &input.name,
                datatype: &input.datatype,
                shape: &input.shape,
                data: match data {
                    Data::Typed(Some(values)) => TensorData::Typed(values),
                    // A datatype no model input has: `to_batch` refuses it before the data.
                    Data::Typed(None) => TensorData::Raw(&[]),
                    Data::Raw(bytes) => TensorData::Raw(bytes),
                },
            })
            .collect();
        to_batch(tensors, spec)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<ModelInferResponse, ApiError> {
        let spec = model.spec();
        let mut outputs = Vec::with_capacity(self.outputs.len());
        let mut raw_output_contents = Vec::with_capacity(self.outputs.len());
        for &index in &self.outputs {
            let (tensor, output) = (&spec.outputs[index], &predictions.outputs[index]);
            let shape = output_shape(tensor, output, predictions.rows, spec.is_batched());
            outputs.push(InferOutputTensor {
                name: tensor.name.clone(),
                datatype: datatype(output.values.element()).to_owned(),
                shape: shape.iter().map(|&d| d as i64).collect(),
                ..Default::default()
            });
            let mut raw = Vec::new();
            write_raw(&output.values, &mut raw);
            raw_output_contents.push(Bytes::from(raw));
        }
        Ok(ModelInferResponse {
            model_name: self.model_name.to_string(),
            model_version: "1".to_owned(),
            id: self.id,
            outputs,
            raw_output_contents,
            ..Default::default()
        })
    }

    /// Data collection's `model_outputs`: the outputs the call asked for.
    fn answered(&self, _: &dyn Predictor) -> Answered {
        Answered::Outputs(self.outputs.clone())
    }
}

/// An input's data before `to_batch` checks it.
enum Data<'a> {
    Typed(Option<Values>),
    Raw(&'a Bytes),
}

mod wire;

#[cfg(test)]
mod tests;
