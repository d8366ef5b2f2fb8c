//! The V2 inference request's JSON (the whole body, or the binary extension's header), read as
//! serde's derive would read it (unknown fields ignored, `null` as absent, a duplicate or missing
//! field refused, with serde_json's messages), except that each input's `data` is only located
//! here: its values are checked and converted in one walk, by `leaves`, once the model's input
//! says their type. Unlike the derive, an object written as an array (`[id, inputs, ...]`) is
//! refused, and serde_json's nesting limit (128) counts from each field's value.

use serde::{de::IgnoredAny, Deserialize};

use super::binary::TensorParameters;
use crate::model::InputError;

mod reader;

use reader::{Error, Reader};

pub(super) struct InferRequest<'a> {
    pub(super) id: Option<String>,
    pub(super) inputs: Vec<InferInput<'a>>,
    /// The outputs to answer; all of them when absent.
    pub(super) outputs: Option<Vec<RequestedOutput>>,
    pub(super) parameters: Option<RequestParameters>,
}

#[derive(Deserialize)]
pub(super) struct RequestParameters {
    /// Every output in binary, unless the output says otherwise (tritonclient sends this when a
    /// call names no outputs).
    pub(super) binary_data_output: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct RequestedOutput {
    pub(super) name: String,
    pub(super) parameters: Option<TensorParameters>,
}

pub(super) struct InferInput<'a> {
    pub(super) name: String,
    pub(super) shape: Vec<i64>,
    pub(super) datatype: String,
    /// The text of `data`, flat or nested; `None` when the values come in binary
    /// (`parameters.binary_data_size`).
    pub(super) data: Option<&'a str>,
    pub(super) parameters: Option<TensorParameters>,
}

/// Reads the request in `text`.
pub(super) fn read(text: &[u8]) -> Result<InferRequest<'_>, InputError> {
    let mut reader = Reader::new(text);
    let request = infer_request(&mut reader).and_then(|request| reader.end().map(|()| request));
    request.map_err(|ours| InputError::InvalidJson {
        detail: derived_error(text).unwrap_or(ours),
    })
}

/// serde_json's own message for a request the reader refused, as its derive gave it before the
/// reader (whose errors only say where it stopped). Read only on this error path; `None` for a
/// body the derive took (an object written as an array), where the reader's message stands.
fn derived_error(text: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[allow(dead_code)] // Read for its errors only.
    struct InferRequest<'a> {
        id: Option<String>,
        #[serde(borrow)]
        inputs: Vec<InferInput<'a>>,
        outputs: Option<Vec<RequestedOutput>>,
        parameters: Option<RequestParameters>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct InferInput<'a> {
        name: String,
        shape: Vec<i64>,
        datatype: String,
        #[serde(borrow)]
        data: Option<&'a serde_json::value::RawValue>,
        parameters: Option<TensorParameters>,
    }
    serde_json::from_slice::<InferRequest>(text)
        .err()
        .map(|e| e.to_string())
}

fn infer_request<'a>(reader: &mut Reader<'a>) -> Result<InferRequest<'a>, Error> {
    let (mut id, mut inputs, mut outputs, mut parameters) = (None, None, None, None);
    reader.object(|reader, key| match key.as_str() {
        "id" => once(&mut id, reader, "id", Reader::value),
        "inputs" => once(&mut inputs, reader, "inputs", |reader| {
            let mut inputs = Vec::new();
            reader.array(|reader| {
                inputs.push(infer_input(reader)?);
                Ok(())
            })?;
            Ok(inputs)
        }),
        "outputs" => once(&mut outputs, reader, "outputs", Reader::value),
        "parameters" => once(&mut parameters, reader, "parameters", Reader::value),
        _ => reader.value::<IgnoredAny>().map(drop),
    })?;
    Ok(InferRequest {
        id: id.flatten(),
        inputs: required(inputs, reader, "inputs")?,
        outputs: outputs.flatten(),
        parameters: parameters.flatten(),
    })
}

fn infer_input<'a>(reader: &mut Reader<'a>) -> Result<InferInput<'a>, Error> {
    let (mut name, mut shape, mut datatype, mut data, mut parameters) = (None, None, None, None, None);
    reader.object(|reader, key| match key.as_str() {
        "name" => once(&mut name, reader, "name", Reader::value),
        "shape" => once(&mut shape, reader, "shape", Reader::value),
        "datatype" => once(&mut datatype, reader, "datatype", Reader::value),
        "data" => once(&mut data, reader, "data", data_text),
        "parameters" => once(&mut parameters, reader, "parameters", Reader::value),
        _ => reader.value::<IgnoredAny>().map(drop),
    })?;
    Ok(InferInput {
        name: required(name, reader, "name")?,
        shape: required(shape, reader, "shape")?,
        datatype: required(datatype, reader, "datatype")?,
        data: data.flatten(),
        parameters: parameters.flatten(),
    })
}

/// `data`'s text; `None` for `null`.
fn data_text<'a>(reader: &mut Reader<'a>) -> Result<Option<&'a str>, Error> {
    if reader.peek() == Some(b'n') {
        return reader.value::<()>().map(|()| None);
    }
    let span = reader.span()?;
    std::str::from_utf8(span)
        .map(Some)
        .map_err(|_| reader.error("data is not valid UTF-8"))
}

/// Reads a field's value into `slot`, refusing a second one (as serde's derive does).
fn once<'a, T>(
    slot: &mut Option<T>,
    reader: &mut Reader<'a>,
    key: &str,
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
) -> Result<(), Error> {
    if slot.is_some() {
        return Err(reader.error(&format!("duplicate field `{key}`")));
    }
    *slot = Some(read(reader)?);
    Ok(())
}

fn required<T>(value: Option<T>, reader: &Reader<'_>, key: &str) -> Result<T, Error> {
    value.ok_or_else(|| reader.error(&format!("missing field `{key}`")))
}

#[cfg(test)]
mod tests;
