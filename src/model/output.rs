//! Writes predictions as a JSON array into one preallocated buffer: a number per row when the
//! model gives one value per row, an array per row otherwise. Only standard JSON goes out.

use super::{Output, Predictions, Values};
use crate::hf::{config::ModelConfig, labels};

/// A prediction that JSON cannot carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the model produced a non-finite value ({value}) for row {row}; check that row's values and scale")]
pub struct OutputError {
    pub row: usize,
    pub value: String,
}

/// Serialises the first output of `predictions` (what scikit-learn's `predict` answers) to JSON.
pub fn write_predictions(predictions: &Predictions) -> Result<Vec<u8>, OutputError> {
    let mut out = Vec::new();
    if let Some(output) = predictions.outputs.first() {
        write_output(&mut out, output, predictions.rows)?;
    } else {
        out.extend_from_slice(b"[]");
    }
    Ok(out)
}

/// Appends `output`, `rows` rows of it, as a JSON array to `out`: a value per row when the
/// output has one value per row, an array per row for `[N, k]` (an empty one for `[N, 0]`),
/// nested arrays per row for higher ranks.
pub fn write_output(out: &mut Vec<u8>, output: &Output, rows: usize) -> Result<(), OutputError> {
    let per_row = output.per_row;
    let shape = output.shape.as_slice();
    fn float(out: &mut Vec<u8>, value: f64, text: &str) -> bool {
        write_float(out, value.is_finite(), text)
    }
    fn int(out: &mut Vec<u8>, value: impl itoa::Integer) -> bool {
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        true
    }
    match &output.values {
        Values::F64(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &f64| {
            float(out, *v, zmij::Buffer::new().format_finite(*v))
        }),
        Values::F32(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &f32| {
            float(out, f64::from(*v), zmij::Buffer::new().format_finite(*v))
        }),
        // Half precision goes out as the float32 it widens to exactly.
        Values::F16(values) => write_rows(out, values, (rows, per_row), shape, |out, v| {
            let wide = v.to_f32();
            float(out, f64::from(wide), zmij::Buffer::new().format_finite(wide))
        }),
        Values::I64(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &i64| int(out, *v)),
        Values::I32(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &i32| int(out, *v)),
        Values::I16(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &i16| int(out, *v)),
        Values::I8(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &i8| int(out, *v)),
        Values::U8(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &u8| int(out, *v)),
        Values::Bool(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &bool| {
            out.extend_from_slice(if *v { b"true" } else { b"false" });
            true
        }),
        Values::String(values) => write_rows(out, values, (rows, per_row), shape, |out, v: &String| {
            serde_json::to_writer(&mut *out, v).expect("writing to a Vec cannot fail");
            true
        }),
    }
}

/// Appends a classifier's first output as labels, `rows` items of `config.labels.len()` values:
/// per item the best `{"label": ..., "score": ...}`, or with `top_k` a list of the `k` best, as
/// the `transformers` pipelines answer.
pub fn write_labels(
    out: &mut Vec<u8>,
    output: &Output,
    rows: usize,
    config: &ModelConfig,
    top_k: Option<usize>,
) -> Result<(), OutputError> {
    let logits: Vec<f32> = match &output.values {
        Values::F32(values) => values.clone(),
        Values::F64(values) => values.iter().map(|&v| v as f32).collect(),
        Values::F16(values) => values.iter().map(|v| v.to_f32()).collect(),
        _ => Vec::new(),
    };
    let width = config.labels.len();
    out.push(b'[');
    for row in 0..rows {
        if row > 0 {
            out.push(b',');
        }
        let item = logits.get(row * width..(row + 1) * width).unwrap_or_default();
        let scores = labels::scores(item, config.problem);
        let best = labels::top_k(&config.labels, &scores, top_k.unwrap_or(1));
        if top_k.is_some() {
            out.push(b'[');
        }
        for (n, scored) in best.iter().enumerate() {
            if !scored.score.is_finite() {
                return Err(OutputError {
                    row,
                    value: scored.score.to_string(),
                });
            }
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"label":"#);
            serde_json::to_writer(&mut *out, scored.label).expect("writing to a Vec cannot fail");
            out.extend_from_slice(br#","score":"#);
            out.extend_from_slice(zmij::Buffer::new().format_finite(scored.score).as_bytes());
            out.push(b'}');
        }
        if top_k.is_some() {
            out.push(b']');
        }
    }
    out.push(b']');
    Ok(())
}

fn write_float(out: &mut Vec<u8>, finite: bool, text: &str) -> bool {
    if finite {
        out.extend_from_slice(text.as_bytes());
    }
    finite
}

/// Writes `values` as rows of `per_row` (nested as `shape` says when it has two dimensions or
/// more); `write` returns false for a value JSON cannot carry.
fn write_rows<T: std::fmt::Debug>(
    out: &mut Vec<u8>,
    values: &[T],
    (rows, per_row): (usize, usize),
    shape: &[usize],
    write: impl Fn(&mut Vec<u8>, &T) -> bool,
) -> Result<(), OutputError> {
    // Rows of no values (an output `[N, 0]`) are still rows; otherwise the values say how many.
    let rows = match values.len().checked_div(per_row) {
        Some(whole) => whole,
        None => rows,
    };
    // About 20 bytes per number covers zmij's usual output plus the separator (longer ones grow it).
    out.reserve(2 + values.len() * 20 + rows * 2);
    out.push(b'[');
    let nested = shape.len() >= 2 && shape.iter().product::<usize>() == per_row;
    for row in 0..rows {
        if row > 0 {
            out.push(b',');
        }
        let chunk = &values[row * per_row..(row + 1) * per_row];
        let written = if nested {
            write_nested(out, chunk, shape, &write)
        } else {
            write_row(out, chunk, per_row != 1, &write)
        };
        if let Err(value) = written {
            return Err(OutputError { row, value });
        }
    }
    out.push(b']');
    Ok(())
}

/// One row's values, as a list when `listed`; the value JSON cannot carry, if any.
fn write_row<T: std::fmt::Debug>(
    out: &mut Vec<u8>,
    chunk: &[T],
    listed: bool,
    write: &impl Fn(&mut Vec<u8>, &T) -> bool,
) -> Result<(), String> {
    if listed {
        out.push(b'[');
    }
    for (col, value) in chunk.iter().enumerate() {
        if col > 0 {
            out.push(b',');
        }
        if !write(out, value) {
            return Err(format!("{value:?}"));
        }
    }
    if listed {
        out.push(b']');
    }
    Ok(())
}

/// One row's values as nested lists of `shape` (whose product is the chunk's length).
fn write_nested<T: std::fmt::Debug>(
    out: &mut Vec<u8>,
    chunk: &[T],
    shape: &[usize],
    write: &impl Fn(&mut Vec<u8>, &T) -> bool,
) -> Result<(), String> {
    let [_, inner @ ..] = shape else {
        return Ok(());
    };
    if inner.is_empty() {
        return write_row(out, chunk, true, write);
    }
    out.push(b'[');
    let size = inner.iter().product::<usize>();
    for index in 0..shape[0] {
        if index > 0 {
            out.push(b',');
        }
        write_nested(out, &chunk[index * size..(index + 1) * size], inner, write)?;
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests;
