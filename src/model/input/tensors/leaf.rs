//! One JSON leaf into a buffer of the input's element type, or what is wrong with it.

use crate::model::{Element, Values};

/// A JSON leaf, as serde reads it.
pub(super) enum Leaf<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
    Null,
}

pub(super) fn push(values: &mut Values, leaf: &Leaf<'_>) -> Result<(), String> {
    fn number<T: Element>(into: &mut Vec<T>, leaf: &Leaf<'_>) -> Result<(), String> {
        let (value, text) = match leaf {
            Leaf::Int(i) => (T::from_i64(*i), i.to_string()),
            Leaf::UInt(u) => (T::from_u64(*u), u.to_string()),
            Leaf::Float(f) => (T::from_f64(*f), format!("{f:?}")),
            other => return Err(format!("is {}, not a number", describe(other))),
        };
        let value = value.ok_or_else(|| format!("= {text} does not fit the input's type {}", T::TYPE))?;
        into.push(value);
        Ok(())
    }
    match values {
        Values::F32(into) => number(into, leaf),
        Values::F64(into) => number(into, leaf),
        Values::F16(into) => number(into, leaf),
        Values::I8(into) => number(into, leaf),
        Values::U8(into) => number(into, leaf),
        Values::I16(into) => number(into, leaf),
        Values::I32(into) => number(into, leaf),
        Values::I64(into) => number(into, leaf),
        Values::Bool(into) => match leaf {
            Leaf::Bool(b) => {
                into.push(*b);
                Ok(())
            }
            other => Err(format!("is {}, not a boolean", describe(other))),
        },
        Values::String(into) => match leaf {
            Leaf::Str(s) => {
                into.push((*s).to_owned());
                Ok(())
            }
            other => Err(format!("is {}, not a string", describe(other))),
        },
    }
}

pub(super) fn describe(leaf: &Leaf<'_>) -> &'static str {
    match leaf {
        Leaf::Int(_) | Leaf::UInt(_) | Leaf::Float(_) => "a number",
        Leaf::Bool(_) => "a boolean",
        Leaf::Str(_) => "a string",
        Leaf::Null => "null",
    }
}
