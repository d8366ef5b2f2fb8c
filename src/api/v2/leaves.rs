//! A request tensor's `data`, flat or nested: its JSON text, checked by serde_json, then walked
//! once into the model input's element type (`each_leaf`), numbers by the same scanner as
//! `/score`'s. No `Value` tree of nested arrays is built, and no `Value` per number is kept: a
//! 224x224 image is 150,528 numbers, whose `Value`s were 4.8 MB written, read and dropped.

use serde::{Deserialize, Deserializer};
use serde_json::{value::RawValue, Value};

use crate::model::number::{self, Number};

/// The text of a request tensor's `data`, borrowed from the body and already checked as JSON by
/// serde_json.
pub(in crate::api) struct Leaves<'a>(&'a RawValue);

impl<'de: 'a, 'a> Deserialize<'de> for Leaves<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(Leaves)
    }
}

impl<'a> Leaves<'a> {
    pub(in crate::api) fn text(&self) -> &'a str {
        self.0.get()
    }
}

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

/// Calls `each` with the index and value of every leaf of `text` (one valid JSON value), in
/// row-major order; arrays are walked into. Numbers keep serde_json's kinds (an integer stays an
/// integer); an object is a leaf too (refused by the caller, naming its place). Returns how many
/// leaves there are.
pub(in crate::api) fn each_leaf(text: &str, mut each: impl FnMut(usize, Leaf)) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'[' | b']' | b',' | b' ' | b'\n' | b'\r' | b'\t' => {
                at += 1;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let (value, end) =
                    number::scan(bytes, at).ok_or_else(|| format!("data[{index}] is an invalid number"))?;
                if matches!(value, Number::Float(value) if !value.is_finite()) {
                    return Err(out_of_range(index, &text[at..end]));
                }
                each(index, Leaf::Number(value));
                at = end;
            }
            // Strings, literals and objects: serde_json reads one value and says where it ended.
            _ => {
                let mut values = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
                let value = values
                    .next()
                    .ok_or("a value was expected")?
                    .map_err(|e| e.to_string())?;
                each(index, Leaf::Other(value));
                at += values.byte_offset();
            }
        }
        index += 1;
    }
    Ok(index)
}

/// The most values reserved up front; past it the vector grows as it fills.
const MAX_RESERVED: usize = 1 << 20;

/// How many values to reserve for `text` when the shape says `needed`: each leaf but the last is
/// followed by a comma, so that bounds them (one reservation for most bodies). Capped, because a
/// shape may claim more than the text holds, and commas inside strings count too
/// (`["<100 MB of commas>"]` is one leaf, and would reserve 3.2 GB).
pub(in crate::api) fn reservation(text: &str, needed: usize) -> usize {
    let commas = text.bytes().filter(|&b| b == b',').count();
    needed.min(commas + 1).min(MAX_RESERVED)
}

/// serde_json's message for a number past f64, with the number (its first digits, when long).
fn out_of_range(index: usize, number: &str) -> String {
    const SHOWN: usize = 32;
    match number.get(..SHOWN) {
        Some(start) if number.len() > SHOWN => format!("data[{index}]: number out of range: {start}..."),
        _ => format!("data[{index}]: number out of range: {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(data: &str) -> Result<Vec<Value>, String> {
        let body = format!(r#"{{"data": {data}}}"#);
        #[derive(Deserialize)]
        struct Tensor<'a> {
            #[serde(borrow)]
            data: Leaves<'a>,
        }
        let tensor = serde_json::from_str::<Tensor>(&body).map_err(|e| e.to_string())?;
        let mut leaves = Vec::new();
        let count = each_leaf(tensor.data.text(), |index, leaf| {
            assert_eq!(index, leaves.len());
            leaves.push(leaf.into_value());
        })?;
        assert_eq!(count, leaves.len());
        Ok(leaves)
    }

    /// The reference: serde_json's own `Value` tree, flattened.
    fn flattened(data: &str) -> Vec<Value> {
        fn walk(value: Value, into: &mut Vec<Value>) {
            match value {
                Value::Array(items) => items.into_iter().for_each(|item| walk(item, into)),
                leaf => into.push(leaf),
            }
        }
        let mut into = Vec::new();
        walk(serde_json::from_str(data).expect("valid JSON"), &mut into);
        into
    }

    #[test]
    fn leaves_are_serde_jsons_values_in_row_major_order() {
        for data in [
            "[]",
            "7",
            r#"[[1, -2.5e3], [0.1, 14.285714285714286]]"#,
            r#"[ [ [0, -0, 18446744073709551615, -9223372036854775808, 9007199254740993.0] ] ]"#,
            r#"["a\"]b", true, null, {"x": [1, "]"]}, "\u00e9", false, -1e-400]"#,
            "[[],[[]],1]",
        ] {
            let got = leaves(data).unwrap();
            let want = flattened(data);
            assert_eq!(got, want, "{data}");
            let bits = |v: &[Value]| v.iter().map(|x| x.as_f64().map(f64::to_bits)).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{data}");
        }
    }

    #[test]
    fn a_number_past_f64_is_refused_as_serde_json_refuses_it() {
        let error = leaves("[1, 1e999]").unwrap_err();
        assert!(error.contains("data[1]: number out of range: 1e999"), "{error}");
        let long = format!("[{}e999]", "1".repeat(10_000));
        let error = leaves(&long).unwrap_err();
        assert!(
            error.len() < 100,
            "the message shows the number's start only: {error}"
        );
    }

    /// Both serde_json's check of `data` and the walk are loops, not recursion: any depth the
    /// body limit allows costs no stack (the shape check refuses it afterwards).
    #[test]
    fn deep_nesting_is_walked_without_recursing() {
        let depth = 100_000;
        let data = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(leaves(&data).unwrap(), [Value::from(1)]);
    }

    #[test]
    fn the_reservation_is_bounded_by_the_shape_the_commas_and_the_cap() {
        let data = format!(r#"["{}"]"#, ",".repeat(2 * MAX_RESERVED));
        assert_eq!(reservation(&data, usize::MAX), MAX_RESERVED);
        assert_eq!(reservation("[1, 2, 3]", usize::MAX), 3);
        assert_eq!(reservation("[1, 2, 3]", 2), 2);
        assert_eq!(leaves(&data).unwrap().len(), 1);
    }

    #[test]
    fn invalid_json_is_refused_before_the_walk() {
        for data in ["[1, 01]", "[+1]", "[1.]", "[.5]", "[1,]", "[NaN]", "[1 2]"] {
            assert!(leaves(data).is_err(), "{data}");
        }
    }
}
