//! KServe V2 tensors: each request input checked against the model's input of that name and
//! converted, and the model's outputs as V2 output tensors.

use serde::{
    de::{self, DeserializeSeed, SeqAccess, Visitor},
    Deserialize, Deserializer, Serialize,
};
use serde_json::Value;
use tract_onnx::prelude::f16;

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
        let flat = &given.data.0;
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
        inputs.push(convert(flat, input)?);
    }
    Ok(Batch {
        rows: rows.unwrap_or(0),
        inputs,
        shapes: Vec::new(),
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

/// A request tensor's `data`, flat or nested: its leaves in row-major order, collected while
/// the body is parsed (no `Value` tree of nested arrays to build and walk).
pub(in crate::api) struct Leaves(pub(in crate::api) Vec<Value>);

impl<'de> Deserialize<'de> for Leaves {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut leaves = Vec::new();
        deserializer.deserialize_any(Collect(&mut leaves))?;
        Ok(Leaves(leaves))
    }
}

/// Pushes every leaf it visits; arrays are walked into. Numbers keep serde_json's kinds (an
/// integer stays an integer), as `Value` keeps them.
struct Collect<'a>(&'a mut Vec<Value>);

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("tensor data: values or nested arrays of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.0.push(Value::Bool(value));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push(Value::Null);
        Ok(())
    }

    /// An object is a leaf too (and an error later, naming its place).
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0
            .push(Value::deserialize(de::value::MapAccessDeserializer::new(map))?);
        Ok(())
    }
}

fn convert(flat: &[Value], input: &TensorSpec) -> Result<Values, ApiError> {
    /// Every value converted, or the index of the first that does not fit.
    fn each<T>(flat: &[Value], convert: impl Fn(&Value) -> Option<T>) -> Result<Vec<T>, usize> {
        flat.iter()
            .enumerate()
            .map(|(index, value)| convert(value).ok_or(index))
            .collect()
    }
    let values = match input.element {
        ElementType::F32 => each(flat, number::<f32>).map(Values::from),
        ElementType::F64 => each(flat, number::<f64>).map(Values::from),
        ElementType::F16 => each(flat, number::<f16>).map(Values::from),
        ElementType::I8 => each(flat, number::<i8>).map(Values::from),
        ElementType::U8 => each(flat, number::<u8>).map(Values::from),
        ElementType::I16 => each(flat, number::<i16>).map(Values::from),
        ElementType::I32 => each(flat, number::<i32>).map(Values::from),
        ElementType::I64 => each(flat, number::<i64>).map(Values::from),
        ElementType::Bool => each(flat, Value::as_bool).map(Values::from),
        ElementType::String => each(flat, |v| v.as_str().map(str::to_owned)).map(Values::from),
    };
    values.map_err(|index| {
        let value = &flat[index];
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
    let shape = if spec.rank1 && output.per_row == 1 {
        vec![rows]
    } else {
        vec![rows, output.per_row]
    };
    Ok(OutputTensor {
        name: &spec.name,
        datatype: datatype(output.values.element()),
        shape,
        data: Data(&output.values),
    })
}
