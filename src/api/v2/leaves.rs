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
    place = Place {
        depth,
        wants_value,
        opened,
    };
    Ok((index, place))
}

/// The message for `data`, not valid JSON at its byte `at`.
fn invalid(at: usize, what: &str) -> String {
    format!("data is not valid JSON at its byte {at}: {what}")
}

/// Texts from this long on are walked in two halves at once when the request runs alone on
/// several cores (`threads::both`): a 224x224 image is 3 MB, about 6 ms of numbers on one core.
const SPLIT_BYTES: usize = 1 << 20;

/// A text cut in two at a comma near its middle, for two walks at once.
pub(in crate::api) struct Halves<'a> {
    first: &'a str,
    second: &'a str,
    /// Arrays open at the comma.
    depth: usize,
}

impl<'a> Halves<'a> {
    /// `text` cut in two, when it is long and holds no string (a comma or a bracket in a string
    /// would mislead the cut); `None` otherwise, and for a comma outside every array.
    pub(in crate::api) fn of(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() < SPLIT_BYTES || memchr::memchr(b'"', bytes).is_some() {
            return None;
        }
        let comma = bytes.len() / 2 + memchr::memchr(b',', &bytes[bytes.len() / 2..])?;
        let (first, second) = (&text[..comma], &text[comma + 1..]);
        let opened = memchr::memchr_iter(b'[', first.as_bytes()).count();
        let closed = memchr::memchr_iter(b']', first.as_bytes()).count();
        let depth = opened.checked_sub(closed).filter(|&depth| depth > 0)?;
        Some(Halves { first, second, depth })
    }

    pub(in crate::api) fn first(&self) -> &'a str {
        self.first
    }

    pub(in crate::api) fn second(&self) -> &'a str {
        self.second
    }

    /// `each_leaf` over the first half: its leaves' count, when it is JSON up to the comma.
    pub(in crate::api) fn each_leaf_of_first(&self, each: impl FnMut(usize, Leaf)) -> Option<usize> {
        let (count, end) = walk(self.first, Place::START, each).ok()?;
        let at_the_comma = Place {
            depth: self.depth,
            wants_value: false,
            opened: false,
        };
        (end == at_the_comma).then_some(count)
    }

    /// `each_leaf` over the second half, indexed from 0: its leaves' count, when it is JSON from
    /// the comma to the end of the value.
    pub(in crate::api) fn each_leaf_of_second(&self, each: impl FnMut(usize, Leaf)) -> Option<usize> {
        let after_the_comma = Place {
            depth: self.depth,
            wants_value: true,
            opened: false,
        };
        let (count, end) = walk(self.second, after_the_comma, each).ok()?;
        end.is_past_the_value().then_some(count)
    }
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

    /// The halves of a long text hold its leaves, the first from the start to the cut, the
    /// second from the cut to the end.
    #[test]
    fn the_halves_hold_every_leaf_once_in_order() {
        let rows: Vec<String> = (0..60_000).map(|i| format!("[{i}, -{i}.5, [true]]")).collect();
        let text = format!("[{}]", rows.join(","));
        let halves = Halves::of(&text).expect("a long text of no string is cut");
        let mut got = Vec::new();
        let first = halves
            .each_leaf_of_first(|_, leaf| got.push(leaf.into_value()))
            .unwrap();
        let second = halves
            .each_leaf_of_second(|_, leaf| got.push(leaf.into_value()))
            .unwrap();
        assert_eq!(first + second, got.len());
        assert!(first > 0 && second > 0);
        assert_eq!(got, flattened(&text));
        assert!(
            Halves::of(&text[..1000]).is_none(),
            "short texts are walked whole"
        );
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
