//! KServe V2 tensors: each request input checked against the model's input of that name and
//! converted, and the model's outputs as V2 output tensors.

use serde_json::{json, Value};

use super::{datatype, InferRequest};
use crate::api::ApiError;
use crate::model::{Batch, Element, ElementType, ModelSpec, Output, TensorSpec, Values};

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// Checks every input tensor against the model and converts its data.
pub(super) fn to_batch(request: &InferRequest, spec: &ModelSpec) -> Result<Batch, ApiError> {
    if let Some(unknown) = request
        .inputs
        .iter()
        .find(|given| !spec.inputs.iter().any(|input| input.name == given.name))
    {
        return Err(bad(format!(
            "unknown input {:?}; the model's inputs are {}",
            unknown.name,
            spec.input_names()
        )));
    }
    let mut rows = None;
    let mut inputs = Vec::with_capacity(spec.inputs.len());
    for input in &spec.inputs {
        let mut given = request.inputs.iter().filter(|given| given.name == input.name);
        let (Some(given), None) = (given.next(), given.next()) else {
            return Err(bad(format!(
                "expected input {:?} exactly once; the model's inputs are {}",
                input.name,
                spec.input_names()
            )));
        };
        let expected = datatype(input.element);
        if given.datatype != expected {
            return Err(bad(format!(
                "input {:?} has datatype {}, the model takes {expected}",
                given.name, given.datatype
            )));
        }
        let count = rows_of(&given.shape, input)?;
        if *rows.get_or_insert(count) != count {
            return Err(bad(format!(
                "input {:?} has {count} rows, the inputs before it have {}",
                given.name,
                rows.unwrap_or(0)
            )));
        }
        let width = input.width.unwrap_or(1);
        let mut flat = Vec::with_capacity(count * width);
        flatten(&given.data, &mut flat);
        if flat.len() != count * width {
            let message = format!(
                "input {:?}: shape {:?} needs {} values, data has {}",
                given.name,
                given.shape,
                count * width,
                flat.len()
            );
            return Err(bad(message));
        }
        inputs.push(convert(&flat, input)?);
    }
    Ok(Batch {
        rows: rows.unwrap_or(0),
        inputs,
    })
}

/// The rows of a request shape that fits `input`: `[n, width]`, or `[n]` for a rank-1 or
/// single-column input.
fn rows_of(shape: &[i64], input: &TensorSpec) -> Result<usize, ApiError> {
    let width = input.width.unwrap_or(1) as i64;
    match shape {
        [rows, w] if *rows > 0 && *w == width => Ok(*rows as usize),
        [rows] if *rows > 0 && width == 1 => Ok(*rows as usize),
        _ => Err(bad(format!(
            "input {:?} shape {shape:?} does not fit the model's {:?}",
            input.name,
            input.v2_shape()
        ))),
    }
}

/// Row-major leaves of flat or nested `data`.
fn flatten<'a>(data: &'a Value, out: &mut Vec<&'a Value>) {
    match data {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        leaf => out.push(leaf),
    }
}

fn convert(flat: &[&Value], input: &TensorSpec) -> Result<Values, ApiError> {
    /// Every value converted, or the index of the first that does not fit.
    fn each<T>(flat: &[&Value], convert: impl Fn(&Value) -> Option<T>) -> Result<Vec<T>, usize> {
        flat.iter()
            .enumerate()
            .map(|(index, value)| convert(value).ok_or(index))
            .collect()
    }
    let values = match input.element {
        ElementType::F32 => each(flat, number::<f32>).map(Values::from),
        ElementType::F64 => each(flat, number::<f64>).map(Values::from),
        ElementType::I32 => each(flat, number::<i32>).map(Values::from),
        ElementType::I64 => each(flat, number::<i64>).map(Values::from),
        ElementType::Bool => each(flat, Value::as_bool).map(Values::from),
        ElementType::String => each(flat, |v| v.as_str().map(str::to_owned)).map(Values::from),
    };
    values.map_err(|index| {
        let value = flat[index];
        let what = if input.element.is_numeric() && !value.is_number() {
            format!("holds a non-number ({value})")
        } else {
            format!("= {value} does not fit")
        };
        bad(format!(
            "input {:?}: data[{index}] {what}; the input takes {}",
            input.name, input.element
        ))
    })
}

fn number<T: Element>(value: &Value) -> Option<T> {
    T::from_json(value.as_number()?)
}

/// One V2 output tensor.
pub(super) fn output_tensor(spec: &TensorSpec, output: &Output, rows: usize) -> Result<Value, ApiError> {
    let shape = if spec.rank1 && output.per_row == 1 {
        json!([rows])
    } else {
        json!([rows, output.per_row])
    };
    let non_finite = || {
        bad(format!(
            "output {:?}: the model produced a non-finite value",
            spec.name
        ))
    };
    let data = match &output.values {
        Values::F32(v) if v.iter().all(|x| x.is_finite()) => json!(v),
        Values::F64(v) if v.iter().all(|x| x.is_finite()) => json!(v),
        Values::F32(_) | Values::F64(_) => return Err(non_finite()),
        Values::I32(v) => json!(v),
        Values::I64(v) => json!(v),
        Values::Bool(v) => json!(v),
        Values::String(v) => json!(v),
    };
    Ok(json!({
        "name": spec.name,
        "datatype": datatype(output.values.element()),
        "shape": shape,
        "data": data,
    }))
}
