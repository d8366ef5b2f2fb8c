//! `ModelInfer` as a scorer `Codec`: the request's tensors (typed `contents` or
//! `raw_input_contents`) checked by the same `to_batch` as REST, the outputs answered in
//! `raw_output_contents` (the only place `tritonclient.grpc` reads them).

use bytes::Bytes;
use prost::Message;

use super::contents::typed_values;
use super::messages::{model_infer_response::InferOutputTensor, ModelInferRequest, ModelInferResponse};
use crate::api::v2::datatype;
use crate::api::v2::tensor::{output_shape, to_batch, RequestTensor, TensorData};
use crate::api::ApiError;
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
}

impl Codec for InferCodec {
    type Answer = ModelInferResponse;
    type Error = ApiError;

    fn decode(&mut self, _body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
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
            .map(|wanted| {
                spec.outputs
                    .iter()
                    .position(|o| o.name == wanted.name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = spec.outputs.iter().map(|o| o.name.as_str()).collect();
                        bad(format!(
                            "unknown output {:?}; the model's outputs are {}",
                            wanted.name,
                            names.join(", ")
                        ))
                    })
            })
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

#[cfg(test)]
mod tests;
