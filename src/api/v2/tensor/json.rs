//! A V2 tensor's JSON `data` read into its input's element type, in one walk of its text.

use serde_json::Value;
use tract_onnx::prelude::f16;

use super::bad;
use crate::api::v2::leaves::{self, Leaf};
use crate::api::ApiError;
use crate::model::{Element, ElementType, TensorSpec, Values};

/// A tensor's JSON leaves read into its input's type: the first `needed` values, how many
/// leaves there were, and the first that did not fit (its index and value), if any.
pub(super) struct Read {
    pub values: Values,
    pub count: usize,
    pub refused: Option<(usize, Value)>,
}

/// `text`'s leaves in `input`'s element type, in one walk (no `Value` made per number).
pub(super) fn convert(text: &str, input: &TensorSpec, needed: usize) -> Result<Read, String> {
    /// Every leaf converted until one does not fit; the leaves past `needed` only counted.
    fn each<T>(text: &str, needed: usize, convert: impl Fn(&Leaf) -> Option<T>) -> Result<Read, String>
    where
        Values: From<Vec<T>>,
    {
        let mut values = Vec::with_capacity(leaves::reservation(text, needed));
        let mut refused = None;
        let count = leaves::each_leaf(text, |index, leaf| {
            if refused.is_some() || index >= needed {
                return;
            }
            match convert(&leaf) {
                Some(value) => values.push(value),
                None => refused = Some((index, leaf.into_value())),
            }
        })?;
        let values = Values::from(values);
        Ok(Read {
            values,
            count,
            refused,
        })
    }
    match input.element {
        ElementType::F32 => each(text, needed, number::<f32>),
        ElementType::F64 => each(text, needed, number::<f64>),
        ElementType::F16 => each(text, needed, number::<f16>),
        ElementType::I8 => each(text, needed, number::<i8>),
        ElementType::U8 => each(text, needed, number::<u8>),
        ElementType::I16 => each(text, needed, number::<i16>),
        ElementType::I32 => each(text, needed, number::<i32>),
        ElementType::I64 => each(text, needed, number::<i64>),
        ElementType::Bool => each(text, needed, |leaf| leaf.other()?.as_bool()),
        ElementType::String => each(text, needed, |leaf| leaf.other()?.as_str().map(str::to_owned)),
    }
}

/// The 400 for `data[index]`, a `value` that `input` does not take.
pub(super) fn refusal(input: &TensorSpec, index: usize, value: &Value) -> ApiError {
    let what = if input.element.is_numeric() && !value.is_number() {
        format!("holds a non-number ({value})")
    } else {
        format!("= {value} does not fit")
    };
    bad(format!(
        "input {:?}: data[{index}] {what}; the input takes {}",
        input.name, input.element
    ))
}

/// A number leaf as `T`, when it fits; `None` for any other leaf.
fn number<T: Element>(leaf: &Leaf) -> Option<T> {
    match leaf {
        Leaf::Number(number) => number.element(),
        Leaf::Other(_) => None,
    }
}
