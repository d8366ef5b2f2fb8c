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
pub(in crate::api) fn each_leaf(text: &str, mut each: impl FnMut(usize, Leaf)) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut at = 0;
    let mut depth = 0usize;
    // A value may come here (at the start, after `[` or `,`); else a `,` or a `]` must.
    let mut wants_value = true;
    // Just after a `[`, where a `]` closes an empty array.
    let mut opened = false;
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
                    .map_err(|e| invalid(at, &e.to_string()))?;
                each(index, Leaf::Other(value));
                at += values.byte_offset();
            }
            _ if depth > 0 => return Err(invalid(at, "expected `,` or `]`")),
            _ => return Err(invalid(at, "trailing characters")),
        }
        (wants_value, opened) = (false, false);
        index += 1;
    }
    if wants_value || depth > 0 {
        return Err(invalid(at, "it ends before its last value"));
    }
    Ok(index)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(data: &str) -> Result<Vec<Value>, String> {
        let mut leaves = Vec::new();
        let count = each_leaf(data, |index, leaf| {
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

    /// Both the bracket matching of `data` (request::reader) and the walk are loops, not recursion: any depth the
    /// body limit allows costs no stack (the shape check refuses it afterwards).
    #[test]
    fn deep_nesting_is_walked_without_recursing() {
        let depth = 100_000;
        let data = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(leaves(&data).unwrap(), [Value::from(1)]);
    }

    #[test]
    fn the_reservation_is_bounded_by_the_shape_the_length_and_the_cap() {
        let data = format!(r#"["{}"]"#, ",".repeat(4 * MAX_RESERVED));
        assert_eq!(reservation(&data, usize::MAX), MAX_RESERVED);
        assert_eq!(leaves(&data).unwrap().len(), 1);
        for data in ["[1,2,3]", "7", "[[1,2],[3,4]]", "[]"] {
            let count = leaves(data).unwrap().len();
            assert!(reservation(data, usize::MAX) >= count, "{data}");
            assert!(reservation(data, usize::MAX) <= data.len(), "{data}");
        }
        assert_eq!(reservation("[1, 2, 3]", 2), 2);
    }

    /// The walk is the only check of `data` (serde_json only matched its brackets): it takes
    /// exactly the texts serde_json takes.
    #[test]
    fn the_walk_refuses_what_serde_json_refuses() {
        for data in [
            "[1, 01]",
            "[+1]",
            "[1.]",
            "[.5]",
            "[1,]",
            "[NaN]",
            "[1 2]",
            "[1,,2]",
            "[,1]",
            "[[1]",
            "[1]]",
            "[1] 2",
            "",
            " ",
            "[",
            "]",
            "1 2",
            "[[1] [2]]",
            "[1]x",
            "[1e]",
            "[-]",
            "[1.5.3]",
            "[tru]",
            "[\"a]",
            "[{\"a\" 1}]",
            "[1\u{c}]",
            "[[],]",
            "[[] []]",
            "[1]\n",
            "{}",
            "[{}]",
            "[\"\\q\"]",
        ] {
            let serde = serde_json::from_str::<Value>(data).is_ok();
            assert_eq!(leaves(data).is_ok(), serde, "{data:?}");
        }
    }

    proptest::proptest! {
        /// Short texts of JSON's punctuation, digits and literals: valid exactly when serde_json
        /// says so, and then the same leaves.
        #[test]
        fn any_text_is_taken_exactly_when_serde_json_takes_it(
            data in "[\\[\\]{},:0-9.eE+\\- \"atrue]{0,24}"
        ) {
            let serde = serde_json::from_str::<Value>(&data);
            match leaves(&data) {
                Ok(got) => proptest::prop_assert_eq!(got, flattened(&data)),
                Err(_) => proptest::prop_assert!(serde.is_err(), "{:?} refused", data),
            }
        }
    }
}
