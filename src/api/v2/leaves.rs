//! A request tensor's `data`, flat or nested, read into its leaves.

use serde::{de, Deserialize, Deserializer};
use serde_json::{value::RawValue, Value};

use crate::model::number::{self, Number};

/// A request tensor's `data`, flat or nested: its leaves in row-major order, read from the body's
/// text by one walk (no `Value` tree of nested arrays to build and walk), numbers by the same
/// scanner as `/score`'s.
pub(in crate::api) struct Leaves(pub(in crate::api) Vec<Value>);

impl<'de> Deserialize<'de> for Leaves {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The text of `data`, borrowed from the body and already checked as JSON by serde_json.
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        read(raw.get()).map(Leaves).map_err(de::Error::custom)
    }
}

/// Every leaf of `text` (one valid JSON value), in order; arrays are walked into. Numbers keep
/// serde_json's kinds (an integer stays an integer), as `Value` keeps them; an object is a leaf
/// too (and an error later, naming its place).
fn read(text: &str) -> Result<Vec<Value>, String> {
    let bytes = text.as_bytes();
    let mut leaves = Vec::with_capacity(reservation(bytes));
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'[' | b']' | b',' | b' ' | b'\n' | b'\r' | b'\t' => at += 1,
            b'-' | b'0'..=b'9' => {
                let (value, end) = number::scan(bytes, at).ok_or("invalid number")?;
                leaves.push(match value {
                    Number::Int(value) => Value::from(value),
                    Number::UInt(value) => Value::from(value),
                    Number::Float(value) if value.is_finite() => Value::from(value),
                    Number::Float(_) => return Err(out_of_range(&text[at..end])),
                });
                at = end;
            }
            // Strings, literals and objects: serde_json reads one value and says where it ended.
            _ => {
                let mut values = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
                let value = values
                    .next()
                    .ok_or("a value was expected")?
                    .map_err(|e| e.to_string())?;
                leaves.push(value);
                at += values.byte_offset();
            }
        }
    }
    Ok(leaves)
}

/// The most leaves reserved up front; past it the vector grows as it fills.
const MAX_RESERVED: usize = 1 << 20;

/// Each leaf but the last is followed by a comma: an upper bound, one reservation for most bodies.
/// Capped, because commas inside strings count too (`["<100 MB of commas>"]` is one leaf, and
/// would reserve 3.2 GB).
fn reservation(text: &[u8]) -> usize {
    (text.iter().filter(|&&b| b == b',').count() + 1).min(MAX_RESERVED)
}

/// serde_json's message for a number past f64, with the number (its first digits, when long).
fn out_of_range(number: &str) -> String {
    const SHOWN: usize = 32;
    match number.get(..SHOWN) {
        Some(start) if number.len() > SHOWN => format!("number out of range: {start}..."),
        _ => format!("number out of range: {number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(data: &str) -> Result<Vec<Value>, String> {
        let body = format!(r#"{{"data": {data}}}"#);
        #[derive(Deserialize)]
        struct Tensor {
            data: Leaves,
        }
        serde_json::from_str::<Tensor>(&body)
            .map(|t| t.data.0)
            .map_err(|e| e.to_string())
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
        assert!(error.contains("number out of range: 1e999"), "{error}");
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
    fn commas_inside_a_string_reserve_at_most_the_cap() {
        let data = format!(r#"["{}"]"#, ",".repeat(2 * MAX_RESERVED));
        let got = leaves(&data).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got.capacity() <= MAX_RESERVED, "{}", got.capacity());
    }

    #[test]
    fn invalid_json_is_refused_before_the_walk() {
        for data in ["[1, 01]", "[+1]", "[1.]", "[.5]", "[1,]", "[NaN]", "[1 2]"] {
            assert!(leaves(data).is_err(), "{data}");
        }
    }
}
