//! Writing values as JSON: keys escaped once, nested lists by shape, numbers as the answers
//! write them (non-finite floats as `null`, as pandas writes NaN).

use crate::model::Values;

/// `"name":`, escaped.
pub fn key(name: &str) -> Vec<u8> {
    let mut key = serde_json::to_vec(name).expect("a string always serialises");
    key.push(b':');
    key
}

/// The values from `start` as nested lists of `dims`.
pub fn write_nested(out: &mut Vec<u8>, values: &Values, start: usize, dims: &[usize]) {
    out.push(b'[');
    match dims {
        [] => {}
        [count] => {
            for index in 0..*count {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, values, start + index);
            }
        }
        [count, inner @ ..] => {
            let stride: usize = inner.iter().product();
            for index in 0..*count {
                if index > 0 {
                    out.push(b',');
                }
                write_nested(out, values, start + index * stride, inner);
            }
        }
    }
    out.push(b']');
}

/// One value as JSON: non-finite floats as `null`, as pandas writes NaN.
pub fn write_value(out: &mut Vec<u8>, values: &Values, index: usize) {
    fn float(out: &mut Vec<u8>, value: f64, short: impl FnOnce(&mut zmij::Buffer) -> &str) {
        if value.is_finite() {
            out.extend_from_slice(short(&mut zmij::Buffer::new()).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
    }
    fn int(out: &mut Vec<u8>, value: impl itoa::Integer) {
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }
    match values {
        Values::F32(v) => float(out, f64::from(v[index]), |b| b.format_finite(v[index])),
        Values::F64(v) => float(out, v[index], |b| b.format_finite(v[index])),
        Values::F16(v) => {
            let value = v[index].to_f32();
            float(out, f64::from(value), |b| b.format_finite(value));
        }
        Values::I8(v) => int(out, v[index]),
        Values::U8(v) => int(out, v[index]),
        Values::I16(v) => int(out, v[index]),
        Values::I32(v) => int(out, v[index]),
        Values::I64(v) => int(out, v[index]),
        Values::Bool(v) => out.extend_from_slice(if v[index] { b"true" } else { b"false" }),
        Values::String(v) => serde_json::to_writer(&mut *out, &v[index]).expect("a Vec takes any write"),
    }
}
