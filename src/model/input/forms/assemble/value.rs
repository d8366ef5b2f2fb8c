//! One JSON value converted to its input's type and appended to that input's buffer; `null` is
//! a missing value in a float column.

use serde_json::Value;

use super::super::describe;
use crate::model::{Element, Values};

/// Appends one JSON value to `buffer`, or says what it was instead.
pub(super) fn push(buffer: &mut Values, value: &Value) -> Result<(), String> {
    fn numeric<T: Element + FloatNull>(into: &mut Vec<T>, value: &Value) -> Result<(), String> {
        let converted = match value {
            Value::Number(n) => T::from_json(n).ok_or_else(|| format!("{n}, which does not fit"))?,
            Value::Null => T::missing().ok_or_else(|| "null".to_owned())?,
            other => return Err(describe(other).to_owned()),
        };
        into.push(converted);
        Ok(())
    }
    match buffer {
        Values::F32(into) => numeric(into, value),
        Values::F64(into) => numeric(into, value),
        Values::I32(into) => numeric(into, value),
        Values::I64(into) => numeric(into, value),
        // The tabular parsers serve only tabular types (`ElementType::is_tabular`); should a
        // spec ever say otherwise, the request is refused rather than the thread ended.
        Values::F16(_) | Values::I8(_) | Values::U8(_) | Values::I16(_) => Err(format!(
            "a value the tabular forms do not read for a {} input (send nested lists per item)",
            buffer.element()
        )),
        Values::Bool(into) => match value {
            Value::Bool(b) => {
                into.push(*b);
                Ok(())
            }
            other => Err(describe(other).to_owned()),
        },
        Values::String(into) => match value {
            Value::String(s) => {
                into.push(s.clone());
                Ok(())
            }
            other => Err(describe(other).to_owned()),
        },
    }
}

/// `null` is a missing value (NaN) in a float column, for models with an imputer; integer
/// columns have no missing value.
trait FloatNull: Sized {
    fn missing() -> Option<Self>;
}

impl FloatNull for f32 {
    fn missing() -> Option<Self> {
        Some(f32::NAN)
    }
}

impl FloatNull for f64 {
    fn missing() -> Option<Self> {
        Some(f64::NAN)
    }
}

impl FloatNull for i32 {
    fn missing() -> Option<Self> {
        None
    }
}

impl FloatNull for i64 {
    fn missing() -> Option<Self> {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_type_the_tabular_forms_do_not_read_is_refused_not_a_panic() {
        let mut buffer = super::Values::F16(Vec::new());
        let found = super::push(&mut buffer, &serde_json::json!(1.5)).unwrap_err();
        assert!(found.contains("float16 input"), "{found}");
    }
}
