//! KServe V2 tensors, whichever transport carries them (JSON `data`, the binary extension's
//! bytes, gRPC's typed or raw contents): each request input checked against the model's input of
//! that name and converted, and the model's outputs as V2 output tensors.

use serde::Serialize;

use super::datatype;
use crate::api::{client_text, ApiError};
use crate::model::{values_from_raw, Batch, ModelSpec, Output, TensorSpec, Values};

mod json;
mod shape;

use json::{convert, refusal};
use shape::{rows_of, tensor_shape, values_needed};

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// One request input as a transport carries it.
pub(crate) struct RequestTensor<'a> {
    pub name: &'a str,
    /// The protocol's datatype name (`FP32`, `BYTES`, ...).
    pub datatype: &'a str,
    pub shape: &'a [i64],
    pub data: TensorData<'a>,
}

/// A request input's values, before they are checked against the model's input.
pub(crate) enum TensorData<'a> {
    /// The REST `data`'s JSON text, flat or nested (checked as JSON; leaves in row-major order).
    Json(&'a str),
    /// Raw little-endian bytes (the binary extension; gRPC's `raw_input_contents`).
    Raw(&'a [u8]),
    /// Values already typed by the transport (gRPC's `contents`), in the input's element type.
    Typed(Values),
}

/// The index of the model's output named `name` (a name a request asks for): 400 naming the
/// model's outputs when there is none.
pub(crate) fn output_index(spec: &ModelSpec, name: &str) -> Result<usize, ApiError> {
    spec.outputs.iter().position(|o| o.name == name).ok_or_else(|| {
        let names: Vec<&str> = spec.outputs.iter().map(|o| o.name.as_str()).collect();
        bad(format!(
            "unknown output {}; the model's outputs are {}",
            client_text(name),
            names.join(", ")
        ))
    })
}

/// Checks every input tensor against the model and converts its data.
pub(crate) fn to_batch(given_inputs: Vec<RequestTensor<'_>>, spec: &ModelSpec) -> Result<Batch, ApiError> {
    if let Some(unknown) = given_inputs
        .iter()
        .find(|given| !spec.inputs.iter().any(|input| input.name == given.name))
    {
        return Err(bad(format!(
            "unknown input {}; the model's inputs are {}",
            client_text(unknown.name),
            spec.input_names()
        )));
    }
    let mut given_inputs: Vec<Option<RequestTensor<'_>>> = given_inputs.into_iter().map(Some).collect();
    let mut rows = None;
    let tabular = spec.is_tabular();
    let mut inputs = Vec::with_capacity(spec.inputs.len());
    let mut shapes = Vec::with_capacity(spec.inputs.len());
    for input in &spec.inputs {
        let mut matching = given_inputs
            .iter_mut()
            .filter(|given| given.as_ref().is_some_and(|given| given.name == input.name));
        let given = match (matching.next(), matching.next()) {
            (Some(given), None) => given.take().expect("matched inputs are present"),
            // An optional input left out reaches the model as no values (`TensorSpec::optional`).
            (None, _) if input.optional => {
                inputs.push(Values::with_capacity(input.element, 0));
                shapes.push(Vec::new());
                continue;
            }
            _ => {
                return Err(bad(format!(
                    "expected input {:?} exactly once; the model's inputs are {}",
                    input.name,
                    spec.input_names()
                )))
            }
        };
        let expected = datatype(input.element);
        if given.datatype != expected {
            return Err(bad(format!(
                "input {:?} has datatype {}, the model takes {expected}",
                given.name,
                client_text(given.datatype)
            )));
        }
        let (count, item) = if tabular {
            (rows_of(given.shape, input)?, vec![input.width.unwrap_or(1)])
        } else {
            tensor_shape(given.shape, input)?
        };
        if let Some(count) = count {
            if *rows.get_or_insert(count) != count {
                return Err(bad(format!(
                    "input {:?} has {count} rows, the inputs before it have {}",
                    given.name,
                    rows.unwrap_or(0)
                )));
            }
        }
        let needed = values_needed(count, &item).ok_or_else(|| {
            bad(format!(
                "input {:?}: shape {:?} holds more values than this server can address",
                given.name, given.shape
            ))
        })?;
        // Items of no values cost nothing to send and may cost much to answer: bounded.
        if needed == 0 && count.unwrap_or(0) > MAX_EMPTY_ITEMS {
            return Err(bad(format!(
                "input {:?}: shape {:?} has more than {MAX_EMPTY_ITEMS} items of no values",
                given.name, given.shape
            )));
        }
        inputs.push(values_of(given, input, needed)?);
        shapes.push(item);
    }
    let rows = rows.unwrap_or(1);
    if tabular {
        return Ok(Batch::new(rows, inputs));
    }
    Ok(Batch { rows, inputs, shapes })
}

/// The `needed` values of `given`, in `input`'s element type.
fn values_of(given: RequestTensor<'_>, input: &TensorSpec, needed: usize) -> Result<Values, ApiError> {
    let name = given.name;
    let shape = given.shape;
    let count_error = |has: usize| {
        bad(format!(
            "input {name:?}: shape {shape:?} needs {needed} values, data has {has}"
        ))
    };
    match given.data {
        TensorData::Json(text) => {
            let read = convert(text, input, needed).map_err(|e| bad(format!("input {name:?}: {e}")))?;
            match read.refused {
                _ if read.count != needed => Err(count_error(read.count)),
                Some((index, value)) => Err(refusal(input, index, &value)),
                None => Ok(read.values),
            }
        }
        TensorData::Raw(bytes) if crate::hf::image::takes_images(input) => {
            crate::hf::image::images_from_raw(needed, bytes)
                .map_err(|e| bad(format!("input {name:?} of shape {shape:?}: the tensor {e}")))
        }
        TensorData::Raw(bytes) => values_from_raw(input.element, needed, bytes)
            .map_err(|e| bad(format!("input {name:?} of shape {shape:?}: the tensor {e}"))),
        TensorData::Typed(values) if values.len() != needed => Err(count_error(values.len())),
        TensorData::Typed(values) => Ok(values),
    }
}

/// The most items a request may declare when its items hold no values (an input with a
/// zero-size fixed dimension): the JSON of so many empty items would be about as large.
const MAX_EMPTY_ITEMS: usize = 1 << 16;

/// One V2 output tensor, serialised straight from the model's buffer (no `Value` per number).
#[derive(Serialize)]
pub(super) struct OutputTensor<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: Vec<usize>,
    data: Data<'a>,
}

/// An output's values as a JSON array.
struct Data<'a>(&'a Values);

impl Serialize for Data<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Values::F32(v) => v.serialize(serializer),
            Values::F64(v) => v.serialize(serializer),
            // Half precision goes out as the float32 it widens to exactly.
            Values::F16(v) => serializer.collect_seq(v.iter().map(|x| x.to_f32())),
            Values::I8(v) => v.serialize(serializer),
            Values::U8(v) => v.serialize(serializer),
            Values::I16(v) => v.serialize(serializer),
            Values::I32(v) => v.serialize(serializer),
            Values::I64(v) => v.serialize(serializer),
            Values::Bool(v) => v.serialize(serializer),
            Values::String(v) => v.serialize(serializer),
        }
    }
}

/// One V2 output tensor; only standard JSON goes out, so a non-finite value is an error.
pub(super) fn output_tensor<'a>(
    spec: &'a TensorSpec,
    output: &'a Output,
    rows: usize,
    batched: bool,
) -> Result<OutputTensor<'a>, ApiError> {
    let finite = match &output.values {
        Values::F32(v) => v.iter().all(|x| x.is_finite()),
        Values::F64(v) => v.iter().all(|x| x.is_finite()),
        Values::F16(v) => v.iter().all(|x| x.is_finite()),
        _ => true,
    };
    if !finite {
        return Err(bad(format!(
            "output {:?}: the model produced a non-finite value",
            spec.name
        )));
    }
    Ok(OutputTensor {
        name: &spec.name,
        datatype: datatype(output.values.element()),
        shape: output_shape(spec, output, rows, batched),
        data: Data(&output.values),
    })
}

/// An output tensor's real shape: the batch and one item's shape, or the whole tensor when dim 0
/// is no batch (every input a scalar, or a rank-0 output). A predictor that does not say its item
/// shape answers `per_row` values per row.
pub(crate) fn output_shape(spec: &TensorSpec, output: &Output, rows: usize, batched: bool) -> Vec<usize> {
    let known = output.shape.iter().product::<usize>() == output.per_row
        && (spec.rank1 || spec.shape.is_empty() || !output.shape.is_empty());
    if !batched || (spec.shape.is_empty() && rows == 1) {
        output.shape.clone()
    } else if known {
        std::iter::once(rows)
            .chain(output.shape.iter().copied())
            .collect()
    } else {
        vec![rows, output.per_row]
    }
}

#[cfg(test)]
mod tests;
