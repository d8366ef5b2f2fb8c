//! JSON numbers read from bytes in one pass: JSON's grammar checked (no `+`, `.5`, `1.`, leading
//! zeros, `inf` or `nan`) while the digits are gathered into a 64-bit mantissa and a decimal
//! exponent, then converted from those: exactly when the mantissa and the power of ten are exact
//! in f64 (Clinger's fast path), else by Eisel-Lemire (`lemire`), else (more than 19 significant
//! digits, extreme exponents, the rare undecided case) by the standard library's correctly
//! rounded parser. Every value has the bits `str::parse::<f64>` gives for its text, and the
//! integer kinds serde_json gives, so that the byte scanners and the serde paths agree.

mod digits;
mod lemire;

/// A JSON number, kept as serde_json keeps it: an integer stays an integer (so that an int64
/// input gets every digit), anything with a fraction or an exponent is a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer in `i64`'s range (except `-0`, which is the float `-0.0`, as serde_json reads it).
    Int(i64),
    /// A positive integer past `i64::MAX` that fits a `u64`.
    UInt(u64),
    /// A fraction, an exponent, or an integer past the 64-bit ranges; infinite when the text is
    /// past `f64::MAX` (the caller refuses it).
    Float(f64),
}

impl Number {
    /// This number as an element of type `T`, when it fits (as `Element::from_json` would take
    /// serde_json's number of the same text).
    #[inline(always)]
    pub fn element<T: super::Element>(self) -> Option<T> {
        match self {
            Number::Int(value) => T::from_i64(value),
            Number::UInt(value) => T::from_u64(value),
            Number::Float(value) => T::from_f64(value),
        }
    }
}

/// The most decimal digits a `u64` always holds (10^19 - 1 < 2^64).
const MAX_DIGITS: usize = 19;

/// Mantissas of at most this many digits (below 2^53, so exact in f64) are tried first by
/// Clinger's fast path: one multiplication or division.
const SHORT_MANTISSA: usize = 15;

/// Written exponents past this are saturated, which keeps an exponent of any length from
/// overflowing; a saturated one goes to the slow path, since leading zeros (`0.000…1e9999999`)
/// can bring a value with a larger exponent back into range.
const MAX_EXPONENT: i64 = 1 << 20;

/// Powers of ten that f64 holds exactly (10^22 < 2^53 * 2^22: 5^22 < 2^53).
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// Reads the JSON number that starts at `bytes[start]`: its value and the offset just past it.
/// `None` when no JSON number starts there. What follows the number is the caller's to check
/// (`1.5.3` reads `1.5` and stops at the second `.`).
#[inline(always)]
pub fn scan(bytes: &[u8], start: usize) -> Option<(Number, usize)> {
    let negative = bytes.get(start) == Some(&b'-');
    let int_start = start + usize::from(negative);
    // Integer part: `0`, or a non-zero digit and any digits. The digits of both parts are
    // gathered into `mantissa` whatever their number; only when they are few enough is it used.
    let (mut mantissa, mut at) = match bytes.get(int_start) {
        Some(b'0') => (0, int_start + 1),
        Some(b'1'..=b'9') => digits::read(bytes, int_start, 0),
        _ => return None,
    };
    let int_digits = at - int_start;
    let mut fraction_digits = 0;
    let mut integer = true;
    if bytes.get(at) == Some(&b'.') {
        integer = false;
        let from = at + 1;
        (mantissa, at) = digits::read(bytes, from, mantissa);
        fraction_digits = at - from;
        if fraction_digits == 0 {
            return None;
        }
    }
    let mut written = Exponent::default();
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        integer = false;
        (written, at) = exponent(bytes, at + 1)?;
    }
    let text = &bytes[start..at];
    let digits = int_digits + fraction_digits;
    let number = if integer && int_digits <= MAX_DIGITS {
        integer_value(negative, mantissa)
    } else if integer {
        long_integer(negative, text)?
    } else if written.saturated || significant_digits(bytes, int_start, digits) > MAX_DIGITS {
        // The mantissa wrapped, or the exponent is past what the fast paths take.
        Number::Float(slow(text)?)
    } else {
        let exponent = written.value - fraction_digits as i64;
        Number::Float(float_value(negative, mantissa, exponent, digits, text)?)
    };
    Some((number, at))
}

/// A written exponent, saturated at `MAX_EXPONENT`.
#[derive(Default)]
struct Exponent {
    value: i64,
    saturated: bool,
}

/// The exponent whose sign or first digit is at `bytes[at]` (just past the `e`), and the offset
/// past it; `None` without a digit.
#[inline]
fn exponent(bytes: &[u8], mut at: usize) -> Option<(Exponent, usize)> {
    let negative = bytes.get(at) == Some(&b'-');
    if matches!(bytes.get(at), Some(b'+' | b'-')) {
        at += 1;
    }
    let from = at;
    let mut written = Exponent::default();
    while let Some(d) = bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
        written.value = written.value * 10 + i64::from(d);
        if written.value > MAX_EXPONENT {
            written.value = MAX_EXPONENT;
            written.saturated = true;
        }
        at += 1;
    }
    if at == from {
        return None;
    }
    if negative {
        written.value = -written.value;
    }
    Some((written, at))
}

/// How many of the `digits` digits from `int_start` (the point skipped) are significant: all of
/// them, less the leading zeros of a value below one (`0.000123` has four), which do not grow
/// the mantissa. Counted past the point only when the digits are too many.
#[inline]
fn significant_digits(bytes: &[u8], int_start: usize, digits: usize) -> usize {
    if digits <= MAX_DIGITS || bytes[int_start] != b'0' {
        return digits;
    }
    // `0.` then the fraction's digits.
    let fraction = &bytes[int_start + 2..int_start + 1 + digits];
    digits - 1 - fraction.iter().take_while(|&&b| b == b'0').count()
}

/// An integer of at most 19 digits.
#[inline]
fn integer_value(negative: bool, magnitude: u64) -> Number {
    match (negative, i64::try_from(magnitude)) {
        (true, _) if magnitude == 0 => Number::Float(-0.0),
        (false, Ok(value)) => Number::Int(value),
        (false, Err(_)) => Number::UInt(magnitude),
        (true, Ok(value)) => Number::Int(-value),
        // 2^63 <= magnitude: only -2^63 itself is an i64.
        (true, Err(_)) if magnitude == 1 << 63 => Number::Int(i64::MIN),
        (true, Err(_)) => Number::Float(-(magnitude as f64)),
    }
}

/// An integer of 20 digits or more: a `u64` when it fits, else the float of its text.
#[cold]
fn long_integer(negative: bool, text: &[u8]) -> Option<Number> {
    let text = std::str::from_utf8(text).ok()?;
    if !negative {
        if let Ok(value) = text.parse::<u64>() {
            return Some(Number::UInt(value));
        }
    }
    text.parse::<f64>().ok().map(Number::Float)
}

/// `±mantissa * 10^exponent`, correctly rounded, for a mantissa of `digits` digits, at most 19.
#[inline]
fn float_value(negative: bool, mantissa: u64, exponent: i64, digits: usize, text: &[u8]) -> Option<f64> {
    let value = if mantissa == 0 {
        // Zero with any exponent (`0e999` too).
        Some(0.0)
    } else if digits <= SHORT_MANTISSA {
        exact(mantissa, exponent).or_else(|| lemire::to_f64(exponent, mantissa))
    } else {
        // Full-precision text (16 or 17 digits, as numpy writes a double) is mostly past 2^53,
        // where `exact` cannot answer: Eisel-Lemire first saves the test, and a misprediction
        // whenever 16-digit and 17-digit mantissas alternate.
        lemire::to_f64(exponent, mantissa).or_else(|| exact(mantissa, exponent))
    };
    match value {
        Some(value) if negative => Some(-value),
        Some(value) => Some(value),
        None => slow(text),
    }
}

/// The value when both the mantissa and the power of ten are exact in f64, so that one
/// correctly rounded multiplication or division gives the correctly rounded result (Clinger's fast
/// path); `None` otherwise.
#[inline]
fn exact(mantissa: u64, exponent: i64) -> Option<f64> {
    const EXACT_MANTISSA: u64 = 1 << 53;
    if mantissa > EXACT_MANTISSA {
        return None;
    }
    let value = mantissa as f64;
    match exponent {
        0..=22 => Some(value * EXACT_POWERS[exponent as usize]),
        -22..=-1 => Some(value / EXACT_POWERS[(-exponent) as usize]),
        // A small mantissa with a larger exponent: move the excess into the mantissa while it
        // stays exact (`12e25` is `12000e22`).
        23..=37 => {
            let scaled = mantissa.checked_mul(10u64.pow((exponent - 22) as u32))?;
            (scaled <= EXACT_MANTISSA).then(|| scaled as f64 * EXACT_POWERS[22])
        }
        _ => None,
    }
}

/// The standard library's correctly rounded parser, for what the fast paths cannot decide: more
/// than 19 significant digits, a power of ten outside `lemire`'s table, a subnormal.
#[cold]
fn slow(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests;
