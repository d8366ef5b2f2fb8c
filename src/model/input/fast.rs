//! The fast path for well-formed bodies of the usual shape, `{"data": [[n, ...], ...]}` or
//! `{"data": [n, ...]}`, with nothing else in the object: a byte scanner that reads the numbers
//! straight into the buffer. Anything else (other keys, strings, a wrong width, invalid JSON)
//! makes it give up, and the full parser then reads the body and explains what is wrong.

use super::Element;
use crate::model::number::{self, Number};

/// The row count when `body` has the usual shape and every value fits `T`; `None` otherwise
/// (with `values` left in any state: the caller clears it).
pub(super) fn parse<T: Element>(body: &[u8], width: usize, values: &mut Vec<T>) -> Option<usize> {
    let mut s = Scanner { bytes: body, at: 0 };
    s.expect(b'{')?;
    s.expect_literal(b"\"data\"")?;
    s.expect(b':')?;
    s.expect(b'[')?;
    let rows = if s.peek()? == b'[' {
        let mut rows = 0;
        loop {
            s.expect(b'[')?;
            s.numbers(width, values)?;
            rows += 1;
            if !s.comma_or(b']')? {
                break;
            }
        }
        rows
    } else {
        // A flat row is the whole of `"data"`: the `]` that ends the row ends `"data"`.
        s.numbers(width, values)?;
        1
    };
    s.expect(b'}')?;
    s.skip_whitespace();
    (s.at == body.len()).then_some(rows)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn expect_literal(&mut self, literal: &[u8]) -> Option<()> {
        self.skip_whitespace();
        self.bytes[self.at..]
            .starts_with(literal)
            .then(|| self.at += literal.len())
    }

    /// After a value: true on a comma, false on `close`.
    fn comma_or(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.at += 1;
                Some(true)
            }
            byte if byte == close => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Exactly `width` numbers, then `]` (the opening `[` is already read).
    fn numbers<T: Element>(&mut self, width: usize, values: &mut Vec<T>) -> Option<()> {
        // The offset is kept in a local (a register) through the row, not in `self`.
        let (bytes, mut at) = (self.bytes, self.at);
        for index in 1..=width {
            // Python's `json.dumps` (and so `requests`' `json=`) writes `, ` between numbers.
            while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                at += 1;
            }
            let (value, end) = match short_integer(bytes, at) {
                Some((value, end)) => (T::from_i64(value)?, end),
                None => {
                    let (number, end) = number_at(bytes, at)?;
                    (number.element()?, end)
                }
            };
            values.push(value);
            let close = if index < width { b',' } else { b']' };
            // Most bodies put the `,` or `]` right after the number, before any whitespace.
            at = if bytes.get(end) == Some(&close) {
                end + 1
            } else {
                after_whitespace(bytes, end, close)?
            };
        }
        self.at = at;
        // A row of no numbers is not this shape (and `[]` is not `width` numbers then `]`).
        (width > 0).then_some(())
    }
}

/// A non-negative integer of one to three digits at `bytes[at]` (the commonest number in
/// tabular bodies: counts, codes, flags, the sample's values), read without the general
/// scanner's sign, fraction and exponent branches: its value and the offset past it. `None` for
/// anything else (a sign, more digits, a fraction or exponent, `0` before a digit, whitespace),
/// which the general scanner then reads.
#[inline(always)]
fn short_integer(bytes: &[u8], at: usize) -> Option<(i64, usize)> {
    let digit = |at: usize| bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10);
    let first = digit(at)?;
    let mut value = i64::from(first);
    let mut end = at + 1;
    // JSON forbids leading zeros: a `0` is the whole integer part.
    if first != 0 {
        while end - at < 3 {
            let Some(d) = digit(end) else { break };
            value = value * 10 + i64::from(d);
            end += 1;
        }
    }
    match bytes.get(end) {
        Some(b'0'..=b'9' | b'.' | b'e' | b'E') => None,
        _ => Some((value, end)),
    }
}

/// The JSON number at `bytes[at]`, or after whitespace there; checked against JSON's grammar
/// (which is stricter than Rust's), with the integer kinds serde_json gives (`number::Number`),
/// so that both paths give the same bits.
#[inline(always)]
fn number_at(bytes: &[u8], mut at: usize) -> Option<(Number, usize)> {
    // Python's `json.dumps` writes `, ` between numbers: whitespace here is common, not cold.
    while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    number::scan(bytes, at)
}

/// The offset past `byte` when only whitespace comes before it at `bytes[at]`.
#[cold]
fn after_whitespace(bytes: &[u8], at: usize, byte: u8) -> Option<usize> {
    let mut s = Scanner { bytes, at };
    s.expect(byte)?;
    Some(s.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(body: &str, width: usize) -> Option<(usize, Vec<f64>)> {
        let mut values = Vec::new();
        parse::<f64>(body.as_bytes(), width, &mut values).map(|rows| (rows, values))
    }

    #[test]
    fn reads_rows_and_flat_rows() {
        assert_eq!(
            fast(r#" {"data": [[1, -2.5e1], [0.125,3]]} "#, 2),
            Some((2, vec![1.0, -25.0, 0.125, 3.0]))
        );
        assert_eq!(fast(r#"{"data":[1,2]}"#, 2), Some((1, vec![1.0, 2.0])));
    }

    #[test]
    fn rows_with_whitespace_before_numbers_read_the_same_values() {
        // As Python's `json.dumps` writes bodies, and as people indent them. (Whether a short
        // integer takes its fast path after the whitespace is speed only; no test sees it.)
        assert_eq!(
            fast("{\"data\": [[1, 22, 333], [ 4,\n\t5 , -6.5 ], [\r\n7,8,1e1]]}", 3),
            Some((3, vec![1.0, 22.0, 333.0, 4.0, 5.0, -6.5, 7.0, 8.0, 10.0]))
        );
    }

    #[test]
    fn short_integers_read_as_the_general_scanner_reads_them() {
        for text in [
            "0", "7", "10", "99", "100", "999", "1000", "01", "00", "-1", "0.5", "1e2", "12E1", "5.", "-0",
            "123456",
        ] {
            for after in ["", ",", "]", " ", "x"] {
                let body = format!("{text}{after}");
                let general = number::scan(body.as_bytes(), 0).map(|(n, end)| (n.element::<f64>(), end));
                let short = short_integer(body.as_bytes(), 0);
                let is_short = (1..=3).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && (text == "0" || !text.starts_with('0'));
                assert_eq!(short.is_some(), is_short, "{body}");
                if let Some((value, end)) = short {
                    assert_eq!(general, Some((Some(value as f64), end)), "{body}");
                }
            }
        }
        assert_eq!(
            fast(r#"{"data": [[0, 5, 42, 999, 1000, -3, 7.5]]}"#, 7),
            Some((1, vec![0.0, 5.0, 42.0, 999.0, 1000.0, -3.0, 7.5]))
        );
        assert_eq!(fast(r#"{"data": [[01, 5]]}"#, 2), None);
    }

    #[test]
    fn gives_up_on_anything_unusual() {
        for body in [
            r#"{"data": [[1, 2]], "x": 1}"#,
            r#"{"x": 1, "data": [[1, 2]]}"#,
            r#"{"data": [[1, 2, 3]]}"#,
            r#"{"data": [[1]]}"#,
            r#"{"data": [[1, "2"]]}"#,
            r#"{"data": [[01, 2]]}"#,
            r#"{"data": [[1., 2]]}"#,
            r#"{"data": [[+1, 2]]}"#,
            r#"{"data": [[1, 2]]"#,
            r#"{"data": [[1, 2]]} x"#,
            r#"{"data": []}"#,
            r#"{"data": [[1, 2], 3]}"#,
            r#"{"data": [[1, 1e999]]}"#,
        ] {
            assert_eq!(fast(body, 2), None, "{body}");
        }
    }

    #[test]
    fn integers_of_every_length_and_sign_are_exact() {
        let body =
            r#"{"data": [[0, -0, 7, -42, 999999999999999999, -9007199254740993, 12345678901234567890]]}"#;
        let (_, values) = fast(body, 7).unwrap();
        let expected = [
            0.0,
            -0.0,
            7.0,
            -42.0,
            999999999999999999.0,
            -9007199254740993.0,
            12345678901234567890.0,
        ];
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&values), bits(&expected));
    }

    #[test]
    fn agrees_with_serde_json_on_random_numbers() {
        let mut rng = fastrand::Rng::with_seed(3);
        let rows: Vec<Vec<f64>> = (0..500)
            .map(|_| {
                (0..4)
                    .map(|_| (rng.f64() - 0.5) * 10f64.powi(rng.i32(-20..20)))
                    .collect()
            })
            .collect();
        let body = serde_json::json!({ "data": rows }).to_string();
        let (count, values) = fast(&body, 4).expect("the usual shape");
        let reference: serde_json::Value = serde_json::from_str(&body).unwrap();
        let expected: Vec<f64> = reference["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().clone())
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(count, 500);
        assert_eq!(values, expected);
    }
}
