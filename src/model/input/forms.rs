//! Every request form Azure ML clients send, told apart by the body's top-level key, read into a
//! `serde_json::Value` and then into one buffer per model input. The plain numeric matrix of a
//! one-input model never comes here: `parse_matrix` reads it straight into its buffer.

use serde::{de::IgnoredAny, Deserialize};
use serde_json::{value::RawValue, Map, Value};

use super::InputError;
use crate::model::{Batch, ModelSpec};

mod assemble;
mod named;
mod optional;
#[cfg(test)]
mod optional_tests;

use assemble::{from_columns, from_records, from_rows, from_split};

/// How the answer is wrapped, as the request's form expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A bare JSON value (`data`, `input_data`).
    Bare,
    /// AutoML's `{"Results": ...}` (`Inputs`).
    Results,
    /// The MLflow server's `{"predictions": ...}` (`dataframe_split`, `instances`, ...).
    Predictions,
    /// AutoML's image form, `{"input_data": {"columns": ["image"], "data": [...]}}` to an image
    /// model: a list with `{"probs": [...], "labels": [...]}` per image.
    AutoMlImages,
}

/// A parsed scoring request: the batch, the answer's wrapping, and the method the body asks
/// for (AutoML's `GlobalParameters.method`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringRequest {
    pub batch: Batch,
    pub envelope: Envelope,
    pub method: Option<String>,
}

/// The top-level keys of every form, each kept as raw JSON until its form is known: a value
/// under another key is skipped without being built (however deeply it nests).
#[derive(Deserialize)]
struct TopLevel<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    input_data: Option<&'a RawValue>,
    #[serde(borrow, rename = "Inputs")]
    automl_inputs: Option<&'a RawValue>,
    #[serde(borrow, rename = "GlobalParameters")]
    global_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    dataframe_split: Option<&'a RawValue>,
    #[serde(borrow)]
    dataframe_records: Option<&'a RawValue>,
    #[serde(borrow)]
    instances: Option<&'a RawValue>,
    #[serde(borrow)]
    inputs: Option<&'a RawValue>,
}

/// Reads any supported form of `body` for `spec`.
pub(super) fn parse_form(body: &[u8], spec: &ModelSpec) -> Result<ScoringRequest, InputError> {
    let top: TopLevel = serde_json::from_slice(body).map_err(|e| top_level_error(body, e))?;
    let value = |raw: &RawValue| -> Result<Value, InputError> {
        serde_json::from_str(raw.get()).map_err(|e| json_error(body, e))
    };
    let (batch, envelope) = if !spec.is_tabular() {
        named::parse(&top, spec)?
    } else if let Some(data) = top.data {
        (data_form("data", &value(data)?, spec)?, Envelope::Bare)
    } else if let Some(data) = top.input_data {
        let mut data = value(data)?;
        let envelope = if is_automl_images(&data, spec) {
            // AutoML sends each image as a bare string, not a row of one.
            if let Some(Value::Array(rows)) = data.get_mut("data") {
                for row in rows.iter_mut().filter(|row| row.is_string()) {
                    *row = Value::Array(vec![row.take()]);
                }
            }
            Envelope::AutoMlImages
        } else {
            Envelope::Bare
        };
        (input_data_form(&data, spec)?, envelope)
    } else if let Some(inputs) = top.automl_inputs {
        let inputs = value(inputs)?;
        let data = inputs.get("data").ok_or(InputError::MissingData)?;
        (data_form("Inputs.data", data, spec)?, Envelope::Results)
    } else if let Some(split) = top.dataframe_split {
        let split = value(split)?;
        (
            split_form("dataframe_split", &split, spec)?,
            Envelope::Predictions,
        )
    } else if let Some(records) = top.dataframe_records {
        let records = value(records)?;
        (
            data_form("dataframe_records", &records, spec)?,
            Envelope::Predictions,
        )
    } else if let Some(data) = top.instances.or(top.inputs) {
        (
            data_form("instances", &value(data)?, spec)?,
            Envelope::Predictions,
        )
    } else {
        return Err(InputError::MissingData);
    };
    let method = match top.global_parameters {
        Some(raw) => value(raw)?
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => None,
    };
    Ok(ScoringRequest {
        batch,
        envelope,
        method,
    })
}

/// Why the body is not an object of known keys: not JSON at all, or JSON of another kind.
fn top_level_error(body: &[u8], error: serde_json::Error) -> InputError {
    if serde_json::from_slice::<IgnoredAny>(body).is_err() {
        return json_error(body, error);
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let found = match first {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'{') => return json_error(body, error),
        _ => "a number",
    };
    InputError::NotAnObject { found }
}

/// `data` as rows (a list of lists, or one flat row), records (a list of objects) or columns (an
/// object of lists).
fn data_form(path: &str, data: &Value, spec: &ModelSpec) -> Result<Batch, InputError> {
    match data {
        Value::Object(columns) => from_columns(path, columns, spec),
        Value::Array(items) if items.first().is_some_and(Value::is_object) => from_records(path, items, spec),
        Value::Array(items) if items.is_empty() => Err(InputError::EmptyData),
        Value::Array(items) => from_rows(path, items, spec),
        other => Err(InputError::DataNotArray {
            found: describe(other),
        }),
    }
}

/// AutoML's image form: the one column `image` to a model whose one input is the image string
/// (`hf::image`).
fn is_automl_images(data: &Value, spec: &ModelSpec) -> bool {
    let one_image_column = data
        .get("columns")
        .and_then(Value::as_array)
        .is_some_and(|columns| columns.len() == 1 && columns[0] == "image");
    one_image_column
        && matches!(spec.inputs.as_slice(), [input] if input.name == "image" && input.element == crate::model::ElementType::String)
}

/// Azure ML's MLflow forms: the split frame, rows, or named tensors.
fn input_data_form(data: &Value, spec: &ModelSpec) -> Result<Batch, InputError> {
    match data {
        Value::Object(object) if object.contains_key("columns") || object.contains_key("index") => {
            split_form("input_data", data, spec)
        }
        _ => data_form("input_data", data, spec),
    }
}

/// `{"columns": [...], "data": [[...], ...]}`, pandas' split orientation.
fn split_form(path: &str, split: &Value, spec: &ModelSpec) -> Result<Batch, InputError> {
    let empty = Map::new();
    let object = split.as_object().unwrap_or(&empty);
    let Some(Value::Array(rows)) = object.get("data") else {
        return Err(InputError::DataNotArray {
            found: object.get("data").map_or("nothing", describe),
        });
    };
    let columns: Vec<&str> = match object.get("columns") {
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if rows.is_empty() {
        return Err(InputError::EmptyData);
    }
    from_split(path, &columns, rows, spec)
}

/// What a JSON value is, for messages.
pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_error(body: &[u8], error: serde_json::Error) -> InputError {
    if let Err(e) = std::str::from_utf8(body) {
        return InputError::NotUtf8 {
            offset: e.valid_up_to(),
        };
    }
    InputError::InvalidJson {
        detail: error.to_string(),
    }
}
