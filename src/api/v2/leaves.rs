//! A request tensor's `data`, flat or nested: its JSON text walked once, checked as JSON and read
//! into the model input's element type as it goes (`each_leaf`), numbers by the same scanner as
//! `/score`'s. No `Value` tree of nested arrays is built, and no `Value` per number is kept: a
//! 224x224 image is 150,528 numbers, whose `Value`s were 4.8 MB written, read and dropped; and
//! serde_json does not check the text first (`request::reader` only matches its brackets), which
//! cost as much again.

use serde_json::Value;

use crate::model::number::{self, Number};

/// One leaf of `data`: a number as our scanner read it, or any other JSON value.
pub(in crate::api) enum Leaf {
    Number(Number),
    Other(Value),
}

impl Leaf {
    /// The leaf as serde_json would have read it (for messages).
    pub(in crate::api) fn into_value(self) -> Value {
        match self {
            Leaf::Number(Number::Int(value)) => Value::from(value),
            Leaf::Number(Number::UInt(value)) => Value::from(value),
            Leaf::Number(Number::Float(value)) => Value::from(value),
            Leaf::Other(value) => value,
        }
    }

    /// The value of a leaf that is no number.
    pub(in crate::api) fn other(&self) -> Option<&Value> {
        match self {
            Leaf::Number(_) => None,
            Leaf::Other(value) => Some(value),
        }
    }
}

/// Calls `each` with the index and value of every leaf of `text`, in row-major order; arrays are
/// walked into. Numbers keep serde_json's kinds (an integer stays an integer); an object is a
/// leaf too (refused by the caller, naming its place). Returns how many leaves there are, or
/// where `text` is not one JSON value (serde_json's grammar: no trailing commas, no `+1`, `.5`,
/// `01` or `NaN`).
pub(in crate::api) fn each_leaf(text: &str, each: impl FnMut(usize, Leaf)) -> Result<usize, String> {
    let (count, end) = walk(text, Place::START, each)?;
    if !end.is_past_the_value() {
        return Err(invalid(text.len(), "it ends before its last value"));
    }
    Ok(count)
}

/// Where a walk is in JSON's grammar.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Place {
    /// Arrays open.
    depth: usize,
    /// A value may come here (at the start, after `[` or `,`); else a `,` or a `]` must.
    wants_value: bool,
    /// Just after a `[`, where a `]` closes an empty array.
    opened: bool,
}

impl Place {
    const START: Place = Place {
        depth: 0,
        wants_value: true,
        opened: false,
    };

    /// After the whole value.
    fn is_past_the_value(&self) -> bool {
        self.depth == 0 && !self.wants_value
    }
}

/// `each_leaf`'s walk from `place` over `text`: the leaves (indexed from 0) and where it ended.
fn walk(text: &str, mut place: Place, mut each: impl FnMut(usize, Leaf)) -> Result<(usize, Place), String> {
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut at = 0;
    let Place {
        mut depth,
        mut wants_value,
        mut opened,
    } = place;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b' ' | b'\n' | b'\r' | b'\t' => {
                at += 1;
                continue;
            }
            b'[' if wants_value => {
                depth += 1;
                opened = true;
                at += 1;
                continue;
            }
            b']' if depth > 0 && (opened || !wants_value) => {
                depth -= 1;
                (wants_value, opened) = (false, false);
                at += 1;
                continue;
            }
            b',' if depth > 0 && !wants_value => {
                wants_value = true;
                at += 1;
                continue;
            }
            b'-' | b'0'..=b'9' if wants_value => {
                let (value, end) = number::scan(bytes, at).ok_or_else(|| invalid(at, "invalid number"))?;
                if matches!(value, Number::Float(value) if !value.is_finite()) {
                    return Err(out_of_range(index, &text[at..end]));
                }
                each(index, Leaf::Number(value));
                at = end;
            }
            // Strings, literals and objects: serde_json reads one value and says where it ended.
            _ if wants_value => {
                let mut values = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
                let value = values
                    .next()
                    .ok_or_else(|| invalid(at, "a value was expected"))?
                    .map_err(|e| invalid(at, &serde_message(&e)))?;
                each(index, Leaf::Other(value));
                at += values.byte_offset();
            }
            _ if depth > 0 => return Err(invalid(at, "expected `,` or `]`")),
            _ => return Err(invalid(at, "trailing characters")),
        }
        (wants_value, opened) = (false, false);
        index += 1;
    }
    place = Place {
        depth,
        wants_value,
        opened,
    };
    Ok((index, place))
}

/// serde_json's message without its place, which counts from where serde_json started reading.
fn serde_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => message,
    }
}

/// The message for `data`, not valid JSON at its byte `at`.
fn invalid(at: usize, what: &str) -> String {
    format!("data is not valid JSON at its byte {at}: {what}")
}

/// The most values reserved up front; past it the vector grows as it fills.
const MAX_RESERVED: usize = 1 << 20;

/// How many values to reserve for `text` when the shape says `needed`: each leaf but the last
/// takes a byte and a comma, so the text's length bounds them without a pass over it (one
/// reservation for most bodies). Capped, because a shape may claim more than the text holds, and
/// a text may be long for few leaves (`["<100 MB>"]` is one leaf, and would reserve 1.6 GB).
pub(in crate::api) fn reservation(text: &str, needed: usize) -> usize {
    needed.min(text.len().div_ceil(2)).min(MAX_RESERVED)
}

/// serde_json's message for a number past f64, with the number (its first digits, when long).
fn out_of_range(index: usize, number: &str) -> String {
    const SHOWN: usize = 32;
    match number.get(..SHOWN) {
        Some(start) if number.len() > SHOWN => format!("data[{index}]: number out of range: {start}..."),
        _ => format!("data[{index}]: number out of range: {number}"),
    }
}

mod halves;

pub(in crate::api) use halves::Halves;

#[cfg(test)]
mod tests;
