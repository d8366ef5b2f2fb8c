//! Rows, records, columns and split frames into one buffer per model input. Each value is
//! converted to its input's type on the way; a mismatch names the column and the row.

use serde_json::{Map, Value};

use super::describe;
use super::optional::{mixed_forms, optional_names, wrong_width};
use crate::model::{input::InputError, Batch, ModelSpec, TensorSpec, Values};

mod value;

use value::push;

/// The most values reserved ahead for one input; past it the buffer grows as values arrive.
/// Rows counted from the body (even empty records) times a width from the model file could
/// otherwise reserve far more than the body holds.
const MAX_RESERVED: usize = 1 << 20;

/// The values to reserve for `rows` rows of `width`.
fn reserved(rows: usize, width: usize) -> usize {
    rows.saturating_mul(width).min(MAX_RESERVED)
}

/// Buffers for every input, sized for `rows`.
fn buffers(spec: &ModelSpec, rows: usize) -> Vec<Values> {
    spec.inputs
        .iter()
        .map(|input| Values::with_capacity(input.element, reserved(rows, input.width.unwrap_or(1))))
        .collect()
}

fn missing(name: &str, spec: &ModelSpec) -> InputError {
    InputError::MissingColumn {
        name: name.to_owned(),
        columns: spec.input_names(),
    }
}

/// Positional rows: each row's values fill the inputs in the model's order. A list of plain
/// values is one row, unless the model takes one value per row: then each value is a row (a list
/// of documents for a text model, as clients send them). A row may leave out the optional inputs
/// (they come last), if every row does.
pub(super) fn from_rows(path: &str, items: &[Value], spec: &ModelSpec) -> Result<Batch, InputError> {
    let flat = !items[0].is_array();
    let optional = spec.has_optional_inputs();
    let rows: Vec<&[Value]> = if flat && spec.required_width() == 1 {
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Array(values) if optional => Err(mixed_forms(path, index, values.len(), 1, spec)),
                _ => Ok(std::slice::from_ref(item)),
            })
            .collect::<Result<_, _>>()?
    } else if flat {
        vec![items]
    } else {
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Array(values) => Ok(values.as_slice()),
                _ if optional => Err(mixed_forms(
                    path,
                    index,
                    1,
                    items[0].as_array().map_or(1, Vec::len),
                    spec,
                )),
                _ => Err(InputError::NotARow {
                    index,
                    found: describe(item),
                }),
            })
            .collect::<Result<_, _>>()?
    };
    let mut inputs = buffers(spec, rows.len());
    let mut sends_optional = None;
    let (full, required) = (spec.row_width(), spec.required_width());
    for (row, values) in rows.iter().enumerate() {
        let sends = match values.len() {
            n if n == full => true,
            n if n == required => false,
            found => return Err(wrong_width(row, found, spec)),
        };
        if *sends_optional.get_or_insert(sends) != sends {
            return Err(mixed_forms(path, row, values.len(), rows[0].len(), spec));
        }
        let mut rest = *values;
        for (input, buffer) in spec.inputs.iter().zip(&mut inputs) {
            if input.optional && !sends {
                continue;
            }
            let (mine, others) = rest.split_at(input.width.unwrap_or(1));
            rest = others;
            for (col, value) in mine.iter().enumerate() {
                push(buffer, value).map_err(|found| bad_value(input, col, row, found, path))?;
            }
        }
    }
    Ok(Batch {
        rows: rows.len(),
        inputs,
        shapes: Vec::new(),
    })
}

/// Records: one object per row, keyed by column name.
pub(super) fn from_records(path: &str, items: &[Value], spec: &ModelSpec) -> Result<Batch, InputError> {
    if let Some(wide) = spec.inputs.iter().find(|i| i.width.unwrap_or(1) > 1) {
        return Err(InputError::RecordsForMatrix {
            input: wide.name.clone(),
            width: wide.width.unwrap_or(1),
        });
    }
    let mut inputs = buffers(spec, items.len());
    // Per input, whether the first record sends it (an optional input: every record or none).
    let mut sent: Vec<Option<bool>> = vec![None; spec.inputs.len()];
    for (row, item) in items.iter().enumerate() {
        let Value::Object(record) = item else {
            return Err(InputError::NotARecord {
                index: row,
                found: describe(item),
            });
        };
        for ((input, buffer), sent) in spec.inputs.iter().zip(&mut inputs).zip(&mut sent) {
            let value = record.get(&input.name);
            if input.optional && *sent.get_or_insert(value.is_some()) != value.is_some() {
                return Err(InputError::OptionalMixed {
                    item: format!("{path}[{row}]"),
                    detail: match value {
                        Some(_) => format!("has {:?}, {path}[0] has not", input.name),
                        None => format!("has no {:?}, {path}[0] has", input.name),
                    },
                    inputs: optional_names(spec),
                });
            }
            let Some(value) = value else {
                if input.optional {
                    continue;
                }
                return Err(missing(&input.name, spec));
            };
            push(buffer, value).map_err(|found| bad_value(input, 0, row, found, path))?;
        }
    }
    Ok(Batch {
        rows: items.len(),
        inputs,
        shapes: Vec::new(),
    })
}

/// Columns: an object of lists, one value (or one row of an input's values) per row.
pub(super) fn from_columns(
    path: &str,
    columns: &Map<String, Value>,
    spec: &ModelSpec,
) -> Result<Batch, InputError> {
    let mut rows = None;
    let mut inputs = Vec::with_capacity(spec.inputs.len());
    for input in &spec.inputs {
        let column = match columns.get(&input.name) {
            Some(column) => column,
            None if input.optional => {
                inputs.push(Values::with_capacity(input.element, 0));
                continue;
            }
            None => return Err(missing(&input.name, spec)),
        };
        let cells: &[Value] = match column {
            Value::Array(cells) => cells,
            single => std::slice::from_ref(single),
        };
        let count = *rows.get_or_insert(cells.len());
        if cells.len() != count {
            return Err(InputError::ColumnLengths {
                column: input.name.clone(),
                found: cells.len(),
                expected: count,
            });
        }
        let width = input.width.unwrap_or(1);
        let mut buffer = Values::with_capacity(input.element, reserved(count, width));
        for (row, cell) in cells.iter().enumerate() {
            // A cell is one value, or (for an input of several values per row) a list of them.
            let values = match cell {
                Value::Array(values) if values.len() == width => values.as_slice(),
                _ if width == 1 => std::slice::from_ref(cell),
                _ => {
                    return Err(InputError::WrongWidth {
                        row,
                        found: cell.as_array().map_or(1, Vec::len),
                        expected: width,
                    })
                }
            };
            for (col, value) in values.iter().enumerate() {
                push(&mut buffer, value).map_err(|found| bad_value(input, col, row, found, path))?;
            }
        }
        inputs.push(buffer);
    }
    match rows {
        Some(0) | None => Err(InputError::EmptyData),
        Some(rows) => Ok(Batch::new(rows, inputs)),
    }
}

/// A split frame: column names and rows of values in that order. A model with one input of
/// several values per row takes the rows as they are.
pub(super) fn from_split(
    path: &str,
    columns: &[&str],
    rows: &[Value],
    spec: &ModelSpec,
) -> Result<Batch, InputError> {
    let by_position = columns.is_empty() || spec.inputs.iter().any(|i| i.width.unwrap_or(1) > 1);
    if by_position {
        return from_rows(path, rows, spec);
    }
    // Per input, its column; an optional input the frame lacks is left out.
    let positions = spec
        .inputs
        .iter()
        .map(|input| match columns.iter().position(|c| *c == input.name) {
            Some(at) => Ok(Some(at)),
            None if input.optional => Ok(None),
            None => Err(missing(&input.name, spec)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut inputs = buffers(spec, rows.len());
    for (row, item) in rows.iter().enumerate() {
        let values = item.as_array().ok_or(InputError::NotARow {
            index: row,
            found: describe(item),
        })?;
        if values.len() != columns.len() {
            return Err(InputError::WrongWidth {
                row,
                found: values.len(),
                expected: columns.len(),
            });
        }
        for ((input, buffer), at) in spec.inputs.iter().zip(&mut inputs).zip(&positions) {
            let Some(at) = *at else { continue };
            push(buffer, &values[at]).map_err(|found| bad_value(input, 0, row, found, path))?;
        }
    }
    Ok(Batch {
        rows: rows.len(),
        inputs,
        shapes: Vec::new(),
    })
}

fn bad_value(input: &TensorSpec, col: usize, row: usize, found: String, path: &str) -> InputError {
    let column = if input.width.unwrap_or(1) > 1 {
        format!("{}[{col}]", input.name)
    } else {
        input.name.clone()
    };
    InputError::BadValue {
        column,
        row,
        expected: input.element,
        found,
        form: path.to_owned(),
    }
}
