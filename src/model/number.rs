//! JSON numbers read from bytes in one pass: JSON's grammar checked (no `+`, `.5`, `1.`, leading
//! zeros, `inf` or `nan`) while the digits are gathered into a 64-bit mantissa and a decimal
//! exponent, then converted from those: exactly when the mantissa and the power of ten are exact
//! in f64 (Clinger's fast path), else by Eisel-Lemire (`lemire`), else (more than 19 significant
//! digits, extreme exponents, the rare undecided case) by the standard library's correctly
//! rounded parser. Every value has the bits `str::parse::<f64>` gives for its text, and the
//! integer kinds serde_json gives, so that the byte scanners and the serde paths agree.

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

/// The most decimal digits a `u64` always holds (10^19 - 1 < 2^64).
const MAX_DIGITS: u32 = 19;

/// Exponents past this are saturated: every value with a larger one is already 0 or infinite, and
/// the saturation keeps an exponent of any length from overflowing.
const MAX_EXPONENT: i64 = 1 << 20;

/// Powers of ten that f64 holds exactly (10^22 < 2^53 * 2^22: 5^22 < 2^53).
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Reads the JSON number that starts at `bytes[start]`: its value and the offset just past it.
/// `None` when no JSON number starts there. What follows the number is the caller's to check
/// (`1.5.3` reads `1.5` and stops at the second `.`).
#[inline]
pub fn scan(bytes: &[u8], start: usize) -> Option<(Number, usize)> {
    let digit = |at: usize| bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10);
    let mut at = start;
    let negative = bytes.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    let mut digits = Digits::default();
    let mut exponent: i64 = 0;
    // Integer part: `0`, or a non-zero digit and any digits.
    let int_start = at;
    match digit(at)? {
        0 => at += 1,
        _ => loop {
            if digits.push_eight(bytes, at) {
                at += 8;
                continue;
            }
            let Some(d) = digit(at) else { break };
            if !digits.push(d) {
                exponent += 1;
            }
            at += 1;
        },
    }
    let int_digits = at - int_start;
    let mut integer = true;
    if bytes.get(at) == Some(&b'.') {
        integer = false;
        at += 1;
        let from = at;
        loop {
            if digits.push_eight(bytes, at) {
                exponent -= 8;
                at += 8;
                continue;
            }
            let Some(d) = digit(at) else { break };
            if digits.push(d) {
                exponent -= 1;
            }
            at += 1;
        }
        if at == from {
            return None;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        integer = false;
        at += 1;
        let negative_exponent = bytes.get(at) == Some(&b'-');
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let from = at;
        let mut written: i64 = 0;
        while let Some(d) = digit(at) {
            written = (written * 10 + i64::from(d)).min(MAX_EXPONENT);
            at += 1;
        }
        if at == from {
            return None;
        }
        exponent += if negative_exponent { -written } else { written };
    }
    let text = &bytes[start..at];
    let Digits {
        mantissa, truncated, ..
    } = digits;
    let number = if integer && int_digits <= MAX_DIGITS as usize {
        integer_value(negative, mantissa)
    } else if integer {
        long_integer(negative, text)?
    } else {
        Number::Float(float_value(negative, mantissa, exponent, truncated, text)?)
    };
    Some((number, at))
}

/// The mantissa's first `MAX_DIGITS` significant digits (leading zeros are not significant),
/// and whether a non-zero digit was left out of it.
#[derive(Default)]
struct Digits {
    mantissa: u64,
    significant: u32,
    truncated: bool,
}

impl Digits {
    /// Adds one digit; false when it was left out (the mantissa is full).
    #[inline]
    fn push(&mut self, d: u8) -> bool {
        if self.significant < MAX_DIGITS {
            self.mantissa = self.mantissa * 10 + u64::from(d);
            self.significant += u32::from(self.mantissa != 0);
            true
        } else {
            self.truncated |= d != 0;
            false
        }
    }

    /// Adds the eight digits at `bytes[at..]` in one step when there are eight, the mantissa has
    /// room for them, and it already holds a significant digit (so that all eight count);
    /// false (nothing read) otherwise. Most full-precision numbers have two such runs.
    #[inline]
    fn push_eight(&mut self, bytes: &[u8], at: usize) -> bool {
        if self.mantissa == 0 || self.significant > MAX_DIGITS - 8 {
            return false;
        }
        let Some(chunk) = bytes.get(at..at + 8) else {
            return false;
        };
        let word = u64::from_le_bytes(chunk.try_into().expect("a slice of 8 bytes"));
        if !are_eight_digits(word) {
            return false;
        }
        // At most 11 digits before, 19 after: no overflow.
        self.mantissa = self.mantissa * 100_000_000 + eight_digits(word);
        self.significant += 8;
        true
    }
}

/// Whether each byte of `word` is an ASCII digit (SWAR, as in fast_float).
#[inline]
fn are_eight_digits(word: u64) -> bool {
    let above = word.wrapping_add(0x4646_4646_4646_4646);
    let below = word.wrapping_sub(0x3030_3030_3030_3030);
    (above | below) & 0x8080_8080_8080_8080 == 0
}

/// The value of eight ASCII digits read little-endian (the first digit in the lowest byte):
/// pairs, then fours, then the eight combined with three multiplications (fast_float's method).
#[inline]
fn eight_digits(word: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let word = word - 0x3030_3030_3030_3030;
    let word = (word * 10) + (word >> 8);
    let v1 = (word & MASK).wrapping_mul(MUL1);
    let v2 = ((word >> 16) & MASK).wrapping_mul(MUL2);
    u64::from(((v1.wrapping_add(v2)) >> 32) as u32)
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

/// `±mantissa * 10^exponent`, correctly rounded.
#[inline]
fn float_value(negative: bool, mantissa: u64, exponent: i64, truncated: bool, text: &[u8]) -> Option<f64> {
    let value = if mantissa == 0 && !truncated {
        // Zero with any exponent (`0e999` too).
        Some(0.0)
    } else if truncated {
        None
    } else {
        exact(mantissa, exponent).or_else(|| lemire::to_f64(exponent, mantissa))
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
fn slow(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests;
