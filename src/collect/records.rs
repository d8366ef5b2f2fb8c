//! The payloads: a request's inputs or answered outputs as JSON records, the way pandas writes
//! a DataFrame with `df.to_json(orient="records")` (a list of row objects keyed by column name;
//! NaN as `null`). The request path only copies values into a `Capture`; the sender task writes
//! the JSON.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Collection;
use crate::model::{Answered, Batch, ModelSpec, Predictions, Values};
use json::{key, write_nested, write_value};

/// One payload waiting to be written and sent.
#[derive(Debug, Clone)]
pub struct Capture {
    pub collection: Collection,
    /// Shared with the request's other capture.
    pub request_id: Arc<str>,
    /// When the request was scored, in Unix seconds (`ce-time`).
    pub time: u64,
    pub rows: usize,
    pub columns: Vec<Column>,
}

/// Values of one input or output, and the columns they make.
#[derive(Debug, Clone)]
pub struct Column {
    pub values: Values,
    /// Values per row.
    pub per_row: usize,
    pub layout: Layout,
}

/// How one tensor's row becomes record fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// One value per row, under this name.
    Scalar(String),
    /// One field per value of the row, named in order (a request's feature names, a
    /// classifier's class labels).
    Split(Vec<String>),
    /// One field per value of the row, named `"0"`, `"1"`, ... as pandas names the columns of a
    /// 2-D array (the names are made in the sender, not on the request path).
    Numbered,
    /// The row's values as nested lists of `shape` under `name` (flat when the shape does not
    /// match the row).
    Nested { name: String, shape: Vec<usize> },
}

impl Capture {
    fn new(collection: Collection, request_id: Arc<str>, rows: usize, columns: Vec<Column>) -> Self {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        Capture {
            collection,
            request_id,
            time,
            rows,
            columns,
        }
    }

    /// A request's decoded inputs: named inputs keep their names; the one 2-D input of a model
    /// that takes a matrix (one feature wide too, as pandas names a 1-column array) gets a column
    /// per feature, named as the request named them
    /// (`features`, when there are as many) or `"0"`, `"1"`, ...; inputs of higher rank (or wider
    /// than one value among several inputs) one column of nested lists each.
    pub fn inputs(
        request_id: Arc<str>,
        batch: &Batch,
        spec: &ModelSpec,
        features: Option<Vec<String>>,
    ) -> Self {
        let rows = batch.rows;
        let columns = batch
            .inputs
            .iter()
            .zip(&spec.inputs)
            .enumerate()
            // An optional input the request left out (a text model's text_pair) is no column.
            .filter(|(_, (values, input))| !(input.optional && values.is_empty() && rows > 0))
            .map(|(index, (values, input))| {
                let per_row = per_row(values, rows);
                let shape = match batch.shapes.get(index) {
                    Some(shape) => shape.clone(),
                    None => input.item_dims().iter().map(|d| d.unwrap_or(per_row)).collect(),
                };
                let layout = match input.item_dims() {
                    [Some(width)] if spec.inputs.len() == 1 && *width >= 1 => match &features {
                        Some(names) if names.len() == *width => Layout::Split(names.clone()),
                        _ => Layout::Numbered,
                    },
                    _ => layout(&input.name, per_row, shape),
                };
                Column {
                    values: values.clone(),
                    per_row,
                    layout,
                }
            })
            .collect();
        Capture::new(Collection::Inputs, request_id, rows, columns)
    }

    /// The outputs a request was answered: one column per output, named by the output; a
    /// classifier's probabilities (`predict_proba`) one column per class, named by its label
    /// when the model gives as many labels, else `"0"`, `"1"`, ... in class order.
    pub fn outputs(
        request_id: Arc<str>,
        predictions: &Predictions,
        answered: &Answered,
        spec: &ModelSpec,
        labels: Option<&[String]>,
    ) -> Self {
        let rows = predictions.rows;
        let column = |index: usize, split: bool| {
            let output = &predictions.outputs[index];
            let layout = if split {
                match labels {
                    Some(labels) if labels.len() == output.per_row => Layout::Split(labels.to_vec()),
                    _ => Layout::Numbered,
                }
            } else {
                let shape = if output.shape.is_empty() {
                    vec![output.per_row]
                } else {
                    output.shape.clone()
                };
                layout(&spec.outputs[index].name, output.per_row, shape)
            };
            Column {
                values: output.values.clone(),
                per_row: output.per_row,
                layout,
            }
        };
        let columns = match answered {
            Answered::Probabilities(index) => vec![column(*index, true)],
            Answered::Outputs(indices) => indices.iter().map(|&index| column(index, false)).collect(),
        };
        Capture::new(Collection::Outputs, request_id, rows, columns)
    }

    /// The memory a copy of `batch` takes at most, known before it is made (the queue's bound
    /// is checked first).
    pub fn input_bytes(request_id: &str, batch: &Batch) -> usize {
        batch.inputs.iter().map(Values::bytes).sum::<usize>() + request_id.len()
    }

    /// The memory a copy of the answered outputs takes at most, known before it is made.
    pub fn output_bytes(request_id: &str, predictions: &Predictions, answered: &Answered) -> usize {
        let bytes = |index: &usize| predictions.outputs.get(*index).map_or(0, |o| o.values.bytes());
        let values = match answered {
            Answered::Probabilities(index) => bytes(index),
            Answered::Outputs(indices) => indices.iter().map(bytes).sum(),
        };
        values + request_id.len()
    }

    /// The memory the copied values hold.
    pub fn bytes(&self) -> usize {
        self.columns.iter().map(|c| c.values.bytes()).sum::<usize>() + self.request_id.len()
    }

    /// The records as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.bytes() * 2);
        // Every name written once, escaped, then copied into every row; numbered columns need
        // no escaping and are written in place.
        let keys: Vec<Vec<Vec<u8>>> = self
            .columns
            .iter()
            .map(|column| match &column.layout {
                Layout::Scalar(name) | Layout::Nested { name, .. } => vec![key(name)],
                Layout::Split(names) => names.iter().map(|name| key(name)).collect(),
                Layout::Numbered => Vec::new(),
            })
            .collect();
        out.push(b'[');
        for row in 0..self.rows {
            if row > 0 {
                out.push(b',');
            }
            out.push(b'{');
            let mut first = true;
            for (column, keys) in self.columns.iter().zip(&keys) {
                let start = row * column.per_row;
                let mut field = |out: &mut Vec<u8>, key: &[u8]| {
                    if !std::mem::take(&mut first) {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                };
                match &column.layout {
                    Layout::Scalar(_) => {
                        field(&mut out, &keys[0]);
                        write_value(&mut out, &column.values, start);
                    }
                    Layout::Split(_) => {
                        for (offset, key) in keys.iter().enumerate().take(column.per_row) {
                            field(&mut out, key);
                            write_value(&mut out, &column.values, start + offset);
                        }
                    }
                    Layout::Numbered => {
                        for offset in 0..column.per_row {
                            field(&mut out, b"\"");
                            out.extend_from_slice(itoa::Buffer::new().format(offset).as_bytes());
                            out.extend_from_slice(b"\":");
                            write_value(&mut out, &column.values, start + offset);
                        }
                    }
                    Layout::Nested { shape, .. } => {
                        field(&mut out, &keys[0]);
                        let fits = shape.iter().product::<usize>() == column.per_row && !shape.is_empty();
                        let flat = [column.per_row];
                        let dims = if fits { shape.as_slice() } else { &flat };
                        write_nested(&mut out, &column.values, start, dims);
                    }
                }
            }
            out.push(b'}');
        }
        out.push(b']');
        out
    }
}

fn per_row(values: &Values, rows: usize) -> usize {
    values.len().checked_div(rows).unwrap_or(0)
}

/// A scalar column for one value per row of a rank-0 or rank-1 item, else nested lists.
fn layout(name: &str, per_row: usize, shape: Vec<usize>) -> Layout {
    if per_row == 1 && shape.len() <= 1 {
        Layout::Scalar(name.to_owned())
    } else {
        Layout::Nested {
            name: name.to_owned(),
            shape,
        }
    }
}

mod json;
#[cfg(test)]
mod tests;
