//! KServe V2 tensors: the request's one input checked against the model and converted, and the
//! model's output as a V2 output tensor.

use serde_json::{json, Value};

use super::{datatype, InferRequest};
use crate::api::ApiError;
use crate::model::{Batch, Element, ElementType, OutputBuffer, Predictor};

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// Checks the one input tensor against the model and converts its data.
pub(super) fn to_batch(request: &InferRequest, model: &dyn Predictor) -> Result<Batch, ApiError> {
    let (spec, meta) = (model.input(), model.metadata());
    let [input] = request.inputs.as_slice() else {
        return Err(bad(format!(
            "expected exactly one input ({:?}), got {}",
            meta.input_name,
            request.inputs.len()
        )));
    };
    if input.name != meta.input_name {
        return Err(bad(format!(
            "unknown input {:?}; the model's input is {:?}",
            input.name, meta.input_name
        )));
    }
    let expected = datatype(spec.element);
    if input.datatype != expected {
        return Err(bad(format!(
            "input {:?} has datatype {}, the model takes {expected}",
            input.name, input.datatype
        )));
    }
    let rows = match input.shape.as_slice() {
        [rows, width] if *rows > 0 && *width == spec.width as i64 => *rows as usize,
        _ => {
            return Err(bad(format!(
                "input shape {:?} does not fit the model's [-1, {}]",
                input.shape, spec.width
            )))
        }
    };
    let mut numbers = Vec::with_capacity(rows * spec.width);
    flatten(&input.data, &mut numbers)?;
    if numbers.len() != rows * spec.width {
        let message = format!(
            "shape {:?} needs {} values, data has {}",
            input.shape,
            rows * spec.width,
            numbers.len()
        );
        return Err(bad(message));
    }
    let values = match spec.element {
        ElementType::F32 => convert::<f32>(&numbers)?,
        ElementType::F64 => convert::<f64>(&numbers)?,
        ElementType::I32 => convert::<i32>(&numbers)?,
        ElementType::I64 => convert::<i64>(&numbers)?,
    };
    Ok(Batch { rows, values })
}

/// Row-major numbers of flat or nested `data`.
fn flatten<'a>(data: &'a Value, out: &mut Vec<&'a serde_json::Number>) -> Result<(), ApiError> {
    match data {
        Value::Number(n) => out.push(n),
        Value::Array(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        other => return Err(bad(format!("data holds a non-number: {other}"))),
    }
    Ok(())
}

fn convert<T: Element>(numbers: &[&serde_json::Number]) -> Result<crate::model::InputBuffer, ApiError> {
    let mut values = Vec::with_capacity(numbers.len());
    for (index, n) in numbers.iter().enumerate() {
        let value = n
            .as_i64()
            .map_or_else(|| n.as_f64().and_then(T::from_f64), T::from_i64);
        values.push(value.ok_or_else(|| bad(format!("data[{index}] = {n} does not fit {}", T::TYPE)))?);
    }
    Ok(T::wrap(values))
}

pub(super) fn output_data(values: &OutputBuffer) -> Result<(&'static str, Value), ApiError> {
    let finite = |v: f64| {
        v.is_finite()
            .then_some(v)
            .ok_or_else(|| bad("the model produced a non-finite value".into()))
    };
    let finite32 = |v: f32| {
        v.is_finite()
            .then_some(v)
            .ok_or_else(|| bad("the model produced a non-finite value".into()))
    };
    Ok(match values {
        OutputBuffer::F32(v) => (
            "FP32",
            json!(v.iter().map(|x| finite32(*x)).collect::<Result<Vec<_>, _>>()?),
        ),
        OutputBuffer::F64(v) => (
            "FP64",
            json!(v.iter().map(|x| finite(*x)).collect::<Result<Vec<_>, _>>()?),
        ),
        OutputBuffer::I32(v) => ("INT32", json!(v)),
        OutputBuffer::I64(v) => ("INT64", json!(v)),
    })
}
