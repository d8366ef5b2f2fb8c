//! Runs of decimal digits read eight bytes at a time (SWAR: one 64-bit word holds eight
//! characters). The length of the run within a word is found without a branch per byte, and a
//! run shorter than eight is converted by the same arithmetic as a whole word, so that short and
//! long numbers alike cost a few word operations instead of a branch (and a misprediction when
//! lengths vary) per digit.

/// Every byte of a word set to one.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
const HIGH: u64 = 0x80 * ONES;

/// 10^n for the run lengths a word can hold.
const POWERS: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Reads the digits from `bytes[at]` on (possibly none) into `mantissa`, as `mantissa * 10^n +
/// digits`: the new mantissa and the offset of the first byte that is not a digit. The arithmetic
/// wraps past 19 digits: the caller counts the digits (the offsets tell) and does not use the
/// mantissa of a longer run.
///
/// The first digits are read one at a time: while runs are short and of much the same length,
/// the byte tests predict well and the next offset is known before the bytes arrive. Past
/// `BYTE_BY_BYTE` digits the rest goes eight bytes at a time, and its length is computed from
/// the bytes instead of guessed.
#[inline(always)]
pub(super) fn read(bytes: &[u8], mut at: usize, mut mantissa: u64) -> (u64, usize) {
    for _ in 0..BYTE_BY_BYTE {
        match bytes.get(at) {
            Some(&b @ b'0'..=b'9') => mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0')),
            _ => return (mantissa, at),
        }
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0'..=b'9') => read_words(bytes, at, mantissa),
        _ => (mantissa, at),
    }
}

/// Runs of up to this many digits are read byte by byte.
const BYTE_BY_BYTE: usize = 3;

/// As `read`, eight bytes at a time, and the end of the run from the same word.
#[inline(always)]
fn read_words(bytes: &[u8], mut at: usize, mut mantissa: u64) -> (u64, usize) {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let count = leading_digits(word);
        if count < 8 {
            let value = value_of_leading_digits(word, count);
            return (
                mantissa.wrapping_mul(POWERS[count]).wrapping_add(value),
                at + count,
            );
        }
        mantissa = mantissa
            .wrapping_mul(100_000_000)
            .wrapping_add(eight_digits(word.wrapping_sub(0x30 * ONES)));
        at += 8;
    }
    // Fewer than eight bytes left (the end of the input): one at a time.
    while let Some(digit) = bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        at += 1;
    }
    (mantissa, at)
}

/// How many of the word's bytes, from its first (lowest), are ASCII digits: 0 to 8.
#[inline]
fn leading_digits(word: u64) -> usize {
    // Per byte b, the high bit is set when b >= 0x80, when b >= 0x3A (adding 0x46 to its low
    // seven bits reaches 0x80), or when b < 0x30 (subtracting 0x30 from it with the high bit set
    // clears the high bit). Neither the sum (at most 0x7F + 0x46) nor the difference (at least
    // 0x80 - 0x30) crosses into the next byte, so every byte is judged on its own.
    let at_least_0x3a = (word & !HIGH).wrapping_add(0x46 * ONES);
    let at_least_0x30 = (word | HIGH).wrapping_sub(0x30 * ONES);
    let not_digit = (word | at_least_0x3a | !at_least_0x30) & HIGH;
    (not_digit.trailing_zeros() / 8) as usize
}

/// The value of the word's first `count` bytes, all digits, read as a decimal number.
#[inline]
fn value_of_leading_digits(word: u64, count: usize) -> u64 {
    // Subtracting '0' from every byte can borrow from the bytes past the run, never from the
    // run itself (each of its bytes is at least '0'). Shifting the run to the top of the word
    // drops those bytes and leaves zeros, leading zero digits, below: the eight-digit conversion
    // then reads the run's value. A run of none shifts everything out.
    let digits = word.wrapping_sub(0x30 * ONES);
    let aligned = digits.checked_shl(64 - 8 * count as u32).unwrap_or(0);
    eight_digits(aligned)
}

/// Eight digit values (0-9, the first in the lowest byte) as one number, with three
/// multiplications instead of eight (as fast_float's `parse_eight_digits_unrolled`).
#[inline]
fn eight_digits(digits: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    // Pairs of digits in every other byte, then pairs of pairs, then both halves.
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    let quads = (pairs & MASK)
        .wrapping_mul(MUL1)
        .wrapping_add(((pairs >> 16) & MASK).wrapping_mul(MUL2));
    quads >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run length (0 to 20 digits, so whole words, partial words and the byte-by-byte end
    /// are all reached), followed by every byte that is not a digit or by the end of the input,
    /// with padding after it or none.
    #[test]
    fn reads_runs_of_every_length_before_any_byte_and_at_the_end() {
        let digits = "98765432109876543210";
        for length in 0..=digits.len() {
            let run = &digits[..length];
            let want = run
                .bytes()
                .fold(0u64, |n, d| n.wrapping_mul(10) + u64::from(d - b'0'));
            let stops = (0..=255u8)
                .filter(|b| !b.is_ascii_digit())
                .map(Some)
                .chain([None]);
            for stop in stops {
                for padding in [0, 3, 8] {
                    let mut text = b"-".to_vec();
                    text.extend_from_slice(run.as_bytes());
                    text.extend(stop);
                    text.extend(std::iter::repeat_n(b'7', padding * usize::from(stop.is_some())));
                    let (got, end) = read(&text, 1, 0);
                    assert_eq!((got, end), (want, 1 + length), "{run} then {stop:?}, +{padding}");
                }
            }
        }
    }

    #[test]
    fn continues_a_mantissa() {
        assert_eq!(read(b"123456789,", 0, 42), (42_123_456_789, 9));
        assert_eq!(read(b"0000000000000001]", 0, 0), (1, 16));
    }

    /// Each byte value in each position of a word, against `is_ascii_digit`.
    #[test]
    fn a_word_is_digits_exactly_up_to_its_first_other_byte() {
        for position in 0..8 {
            for byte in 0..=255u8 {
                let mut word = *b"55555555";
                word[position] = byte;
                let want = if byte.is_ascii_digit() { 8 } else { position };
                assert_eq!(
                    leading_digits(u64::from_le_bytes(word)),
                    want,
                    "{byte:#x} at {position}"
                );
            }
        }
    }
}
