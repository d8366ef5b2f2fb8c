//! The binary tensor extension of the Open Inference Protocol over HTTP, as Triton defines it and
//! `tritonclient.http` sends it: a body is `Inference-Header-Content-Length` bytes of JSON, then
//! the raw bytes (`model::raw`'s layout) of each input whose `parameters.binary_data_size` says
//! so, in the order of `inputs`. Answers asked for in binary are framed the same way. The bytes
//! are only sliced here; `to_batch` copies them once into the tensors the model reads.

use axum::http::{HeaderMap, HeaderName};
use serde::{Deserialize, Serialize};

use super::datatype;
use super::request::InferInput;
use super::tensor::{output_shape, OutputTensor, TensorData};
use crate::api::ApiError;
use crate::model::{raw_len, write_raw, Output, TensorSpec, Values};

/// The header that gives the length of the JSON part of a request or answer body.
pub(in crate::api) const HEADER_LENGTH: HeaderName =
    HeaderName::from_static("inference-header-content-length");

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// A tensor's `parameters` as the extension uses them (other parameters are ignored).
#[derive(Deserialize, Default)]
pub(in crate::api) struct TensorParameters {
    /// An input's bytes after the JSON header.
    pub binary_data_size: Option<u64>,
    /// A requested output wants its values in binary.
    pub binary_data: Option<bool>,
}

/// The JSON header's length from `Inference-Header-Content-Length`: `None` without the header
/// (the whole body is JSON), 400 when it is not one byte count.
pub(in crate::api) fn header_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let mut values = headers.get_all(HEADER_LENGTH).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        if headers.contains_key(HEADER_LENGTH) {
            return Err(bad(
                "Inference-Header-Content-Length is given more than once".to_owned()
            ));
        }
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    // Digits only: `usize::from_str` would take a leading `+`.
    match text
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<usize>())
    {
        Some(Ok(length)) => Ok(Some(length)),
        _ => Err(bad(format!(
            "Inference-Header-Content-Length must be the JSON header's length in bytes, not {:?}",
            String::from_utf8_lossy(value.as_bytes())
        ))),
    }
}

/// The body's JSON header and the binary data after it.
pub(in crate::api) fn split(body: &[u8], header_length: Option<usize>) -> Result<(&[u8], &[u8]), ApiError> {
    let Some(length) = header_length else {
        return Ok((body, &[]));
    };
    if length > body.len() {
        return Err(bad(format!(
            "Inference-Header-Content-Length is {length}, past the end of the {}-byte body",
            body.len()
        )));
    }
    Ok(body.split_at(length))
}

/// Each input's data: its JSON `data`, or its bytes cut from `binary` in the order of the inputs;
/// the sizes must add up to exactly the binary data there is.
pub(in crate::api) fn tensor_data<'a>(
    inputs: &'a [InferInput<'a>],
    binary: &'a [u8],
) -> Result<Vec<TensorData<'a>>, ApiError> {
    let mut rest = binary;
    let mut data = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = &input.name;
        let size = input.parameters.as_ref().and_then(|p| p.binary_data_size);
        data.push(match (size, &input.data) {
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "input {name:?} has both data and parameters.binary_data_size; send one"
                )))
            }
            (None, None) => {
                return Err(bad(format!(
                    "input {name:?} has neither data nor parameters.binary_data_size"
                )))
            }
            (None, Some(text)) => TensorData::Json(text),
            (Some(size), None) => {
                let offset = binary.len() - rest.len();
                let Some(section) = usize::try_from(size).ok().and_then(|size| rest.get(..size)) else {
                    return Err(bad(format!(
                        "input {name:?} has binary_data_size {size} at byte {offset} of the binary data, \
                         past its end: the body has {} bytes after the JSON header \
                         (Inference-Header-Content-Length)",
                        binary.len()
                    )));
                };
                rest = &rest[section.len()..];
                TensorData::Raw(section)
            }
        });
    }
    if !rest.is_empty() {
        return Err(bad(format!(
            "the body has {} bytes after the JSON header (Inference-Header-Content-Length), and the \
             inputs' binary_data_size add up to {}",
            binary.len(),
            binary.len() - rest.len()
        )));
    }
    Ok(data)
}

/// One output of an answer: its values as JSON `data`, or as raw bytes after the JSON header.
#[derive(Serialize)]
#[serde(untagged)]
pub(in crate::api) enum AnswerTensor<'a> {
    Json(OutputTensor<'a>),
    Binary(BinaryOutput<'a>),
}

/// An output answered in binary: its values follow the JSON header, in `model::raw`'s layout
/// (FP16 as FP16, any float as it is, NaN included: only JSON cannot carry those).
#[derive(Serialize)]
pub(in crate::api) struct BinaryOutput<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: Vec<usize>,
    parameters: BinarySize,
    #[serde(skip)]
    values: &'a Values,
}

#[derive(Serialize)]
struct BinarySize {
    binary_data_size: usize,
}

/// `output` in binary, with its real shape (as `tensor::output_tensor` gives it).
pub(in crate::api) fn binary_output<'a>(
    spec: &'a TensorSpec,
    output: &'a Output,
    rows: usize,
    batched: bool,
) -> BinaryOutput<'a> {
    BinaryOutput {
        name: &spec.name,
        datatype: datatype(output.values.element()),
        shape: output_shape(spec, output, rows, batched),
        parameters: BinarySize {
            binary_data_size: raw_len(&output.values),
        },
        values: &output.values,
    }
}

/// An answer's body, and the length of its JSON header when binary outputs follow it.
pub(in crate::api) struct Framed {
    pub body: Vec<u8>,
    pub header_length: Option<usize>,
}

/// `answer` as JSON, then the bytes of its binary `outputs` in their order; each output's bytes
/// are written once, straight from the model's buffer.
pub(in crate::api) fn frame(answer: &impl Serialize, outputs: &[AnswerTensor<'_>]) -> Framed {
    let binary: Vec<&Values> = outputs
        .iter()
        .filter_map(|output| match output {
            AnswerTensor::Binary(output) => Some(output.values),
            AnswerTensor::Json(_) => None,
        })
        .collect();
    let raw: usize = binary.iter().map(|values| raw_len(values)).sum();
    let mut body = Vec::with_capacity(raw + 256);
    serde_json::to_writer(&mut body, answer).expect("strings and finite numbers always serialise");
    let header_length = body.len();
    for values in &binary {
        write_raw(values, &mut body);
    }
    Framed {
        body,
        header_length: (!binary.is_empty()).then_some(header_length),
    }
}

#[cfg(test)]
mod tests;
