//! Tensors as raw bytes, the layout both binary transports of the Open Inference Protocol share
//! (the HTTP binary tensor extension's data and gRPC's `raw_input_contents` /
//! `raw_output_contents`): row-major, little-endian, in the tensor's element type; BOOL one byte
//! per value; BYTES each value as a 4-byte little-endian length and that many bytes.
//!
//! Decoding copies the bytes once, into the typed buffer the model reads, and parses nothing else.
//! Raw floats are taken as sent, NaN and infinities included (a binary client can only mean them;
//! imputers read NaN as "missing").

use tract_onnx::prelude::f16;

use super::{ElementType, Values};

/// Why raw bytes are not the tensor they claim to be; the message reads after the tensor's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RawError(String);

/// The size of one value of `element` in raw form (`None` for strings, whose size varies).
pub fn raw_width(element: ElementType) -> Option<usize> {
    match element {
        ElementType::F64 | ElementType::I64 => Some(8),
        ElementType::F32 | ElementType::I32 => Some(4),
        ElementType::F16 | ElementType::I16 => Some(2),
        ElementType::I8 | ElementType::U8 | ElementType::Bool => Some(1),
        ElementType::String => None,
    }
}

/// The `count` values of `element` that `bytes` holds; every byte must belong to a value.
pub fn values_from_raw(element: ElementType, count: usize, bytes: &[u8]) -> Result<Values, RawError> {
    let Some(width) = raw_width(element) else {
        return strings_from_raw(count, bytes).map(Values::String);
    };
    let expected = count.checked_mul(width);
    if expected != Some(bytes.len()) {
        return Err(RawError(format!(
            "holds {} bytes of data; {count} {element} values take {}",
            bytes.len(),
            expected.map_or_else(
                || "more than this machine can address".to_owned(),
                |n| n.to_string()
            )
        )));
    }
    Ok(match element {
        ElementType::F32 => Values::F32(decode(bytes, f32::from_le_bytes)),
        ElementType::F64 => Values::F64(decode(bytes, f64::from_le_bytes)),
        ElementType::F16 => Values::F16(decode(bytes, |b| f16::from_bits(u16::from_le_bytes(b)))),
        ElementType::I8 => Values::I8(decode(bytes, i8::from_le_bytes)),
        ElementType::U8 => Values::U8(bytes.to_vec()),
        ElementType::I16 => Values::I16(decode(bytes, i16::from_le_bytes)),
        ElementType::I32 => Values::I32(decode(bytes, i32::from_le_bytes)),
        ElementType::I64 => Values::I64(decode(bytes, i64::from_le_bytes)),
        ElementType::Bool => Values::Bool(bools_from_raw(bytes)?),
        ElementType::String => unreachable!("strings have no fixed width"),
    })
}

/// Fixed-width values, one per `N` bytes (the caller checked that the length is a multiple).
fn decode<T, const N: usize>(bytes: &[u8], from_le: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|chunk| from_le(chunk.try_into().expect("chunks_exact yields N bytes")))
        .collect()
}

/// BOOL values as numpy writes them: one byte, 0 or 1.
fn bools_from_raw(bytes: &[u8]) -> Result<Vec<bool>, RawError> {
    bytes
        .iter()
        .enumerate()
        .map(|(index, &byte)| match byte {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(RawError(format!(
                "has byte {other} at BOOL value {index}; BOOL values are 0 or 1"
            ))),
        })
        .collect()
}

/// BYTES values: exactly `count` length-prefixed UTF-8 strings filling `bytes`.
fn strings_from_raw(count: usize, bytes: &[u8]) -> Result<Vec<String>, RawError> {
    bytes_values(count, bytes)?
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            std::str::from_utf8(value)
                .map(str::to_owned)
                .map_err(|_| RawError(format!("has BYTES value {index} that is not UTF-8 text")))
        })
        .collect()
}

/// BYTES values as they are: exactly `count` length-prefixed byte strings filling `bytes`.
pub fn bytes_values(count: usize, bytes: &[u8]) -> Result<Vec<&[u8]>, RawError> {
    // Each value takes at least its 4-byte length: a claimed count cannot reserve more than that.
    let mut values = Vec::with_capacity(count.min(bytes.len() / 4));
    let mut rest = bytes;
    for index in 0..count {
        let Some((length, after)) = rest.split_first_chunk::<4>() else {
            return Err(RawError(format!(
                "ends at BYTES value {index} of {count}: {} bytes left where a 4-byte length belongs",
                rest.len()
            )));
        };
        let length = u32::from_le_bytes(*length) as usize;
        if length > after.len() {
            return Err(RawError(format!(
                "has BYTES value {index} of length {length}, past the {} bytes left of the tensor",
                after.len()
            )));
        }
        let (value, after) = after.split_at(length);
        values.push(value);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(RawError(format!(
            "has {} bytes after its {count} BYTES values",
            rest.len()
        )));
    }
    Ok(values)
}

/// The raw size of `values` (what `write_raw` appends).
pub fn raw_len(values: &Values) -> usize {
    match (values, raw_width(values.element())) {
        (Values::String(strings), _) => strings.iter().map(|s| 4 + s.len()).sum(),
        (_, Some(width)) => values.len() * width,
        (_, None) => unreachable!("only strings have no fixed width"),
    }
}

/// Appends `values` in raw form to `out`.
pub fn write_raw(values: &Values, out: &mut Vec<u8>) {
    out.reserve(raw_len(values));
    match values {
        Values::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::F16(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_bits().to_le_bytes())),
        Values::I8(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::U8(v) => out.extend_from_slice(v),
        Values::I16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        Values::String(v) => v.iter().for_each(|s| {
            // A model's string output longer than 4 GiB cannot be framed; none fits the limits.
            let length = u32::try_from(s.len()).expect("a string output under 4 GiB");
            out.extend_from_slice(&length.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn every_type() -> Vec<Values> {
        vec![
            Values::F32(vec![1.5, -0.0, f32::NAN, f32::INFINITY]),
            Values::F64(vec![14.285714285714286, f64::MIN_POSITIVE / 4.0]),
            Values::F16(vec![f16::from_f32(0.5), f16::MAX]),
            Values::I8(vec![-128, 127]),
            Values::U8(vec![0, 255]),
            Values::I16(vec![i16::MIN, 3]),
            Values::I32(vec![i32::MAX, -7]),
            Values::I64(vec![i64::MIN, 1 << 60]),
            Values::Bool(vec![true, false, true]),
            Values::String(vec!["".into(), "ünïcode".into(), "a\0b".into()]),
        ]
    }

    #[test]
    fn every_type_round_trips_bit_for_bit() {
        for values in every_type() {
            let mut raw = Vec::new();
            write_raw(&values, &mut raw);
            assert_eq!(raw.len(), raw_len(&values));
            let back = values_from_raw(values.element(), values.len(), &raw).unwrap();
            // Compare the raw forms: NaN != NaN as floats, but its bits survive.
            let mut again = Vec::new();
            write_raw(&back, &mut again);
            assert_eq!(raw, again, "{:?}", values.element());
        }
    }

    #[test]
    fn numpy_layouts_decode() {
        // np.array([1.0, 2.0], dtype="<f4").tobytes(), np.array([True, False]).tobytes(),
        // tritonclient's serialize_byte_tensor(np.array([b"ab", b""], dtype=object)).
        let floats = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];
        assert_eq!(
            values_from_raw(ElementType::F32, 2, &floats).unwrap(),
            Values::F32(vec![1.0, 2.0])
        );
        assert_eq!(
            values_from_raw(ElementType::Bool, 2, &[1, 0]).unwrap(),
            Values::Bool(vec![true, false])
        );
        let strings = [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0];
        assert_eq!(
            values_from_raw(ElementType::String, 2, &strings).unwrap(),
            Values::String(vec!["ab".into(), "".into()])
        );
    }

    #[test]
    fn sizes_that_do_not_add_up_are_named() {
        let short = values_from_raw(ElementType::F32, 3, &[0; 8]).unwrap_err();
        assert_eq!(
            short.to_string(),
            "holds 8 bytes of data; 3 float32 values take 12"
        );
        let huge = values_from_raw(ElementType::F64, usize::MAX, &[0; 8]).unwrap_err();
        assert!(huge.to_string().contains("more than this machine"), "{huge}");
        let bool_byte = values_from_raw(ElementType::Bool, 1, &[2]).unwrap_err();
        assert!(bool_byte.to_string().contains("0 or 1"), "{bool_byte}");
    }

    #[test]
    fn malformed_strings_are_named() {
        let past = values_from_raw(ElementType::String, 1, &[9, 0, 0, 0, b'a']).unwrap_err();
        assert_eq!(
            past.to_string(),
            "has BYTES value 0 of length 9, past the 1 bytes left of the tensor"
        );
        let missing = values_from_raw(ElementType::String, 2, &[1, 0, 0, 0, b'a', 0]).unwrap_err();
        assert!(
            missing.to_string().starts_with("ends at BYTES value 1 of 2"),
            "{missing}"
        );
        let extra = values_from_raw(ElementType::String, 1, &[0, 0, 0, 0, 7]).unwrap_err();
        assert_eq!(extra.to_string(), "has 1 bytes after its 1 BYTES values");
        let binary = values_from_raw(ElementType::String, 1, &[1, 0, 0, 0, 0xff]).unwrap_err();
        assert!(binary.to_string().contains("not UTF-8"), "{binary}");
    }

    #[test]
    fn a_claimed_count_reserves_no_more_than_the_bytes_allow() {
        // A count of a billion strings in 4 bytes fails after one value, without reserving them.
        let error = values_from_raw(ElementType::String, 1 << 30, &[0, 0, 0, 0]).unwrap_err();
        assert!(error.to_string().starts_with("ends at BYTES value 1"), "{error}");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(element in 0usize..10, count in 0usize..64, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let element = every_type()[element].element();
            let _ = values_from_raw(element, count, &bytes);
        }
    }
}
