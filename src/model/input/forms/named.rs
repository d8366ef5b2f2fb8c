//! The forms of models that take tensors (any rank, any element type): a list of items (or one
//! item) for a one-input model, an object of named inputs, or records of named inputs, under
//! `data`, `input_data`, or MLflow's `instances`, `inputs` and `dataframe_records`.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::{Envelope, TopLevel};
use crate::model::input::{tensors::Reader, InputError};
use crate::model::{Batch, ModelSpec};

/// The batch of the first form `top` holds, and how its answer is wrapped.
pub(super) fn parse(top: &TopLevel, spec: &ModelSpec) -> Result<(Batch, Envelope), InputError> {
    let forms = [
        ("data", top.data, Envelope::Bare),
        ("input_data", top.input_data, Envelope::Bare),
        ("instances", top.instances, Envelope::Predictions),
        ("inputs", top.inputs, Envelope::Predictions),
        ("dataframe_records", top.dataframe_records, Envelope::Predictions),
    ];
    let (key, raw, envelope) = forms
        .into_iter()
        .find_map(|(key, raw, envelope)| Some((key, raw?, envelope)))
        .ok_or(InputError::MissingData)?;
    Ok((read(key, raw.get(), spec)?, envelope))
}

/// Told apart by the first characters: `{` named inputs, `[{` records, else items.
fn read(key: &str, raw: &str, spec: &ModelSpec) -> Result<Batch, InputError> {
    let mut start = raw.bytes().filter(|b| !b.is_ascii_whitespace());
    match (start.next(), start.next()) {
        (Some(b'{'), _) => named(key, raw, spec),
        (Some(b'['), Some(b'{')) => records(key, raw, spec),
        _ => items(key, raw, spec),
    }
}

fn finish(readers: Vec<Reader<'_>>, rows: usize) -> Batch {
    let mut batch = Batch::new(rows, Vec::with_capacity(readers.len()));
    for reader in readers {
        batch.shapes.push(reader.item_shape());
        batch.inputs.push(reader.values);
    }
    batch
}

/// `{"data": [item, ...]}` or `{"data": item}`, for a model of one input.
fn items(key: &str, raw: &str, spec: &ModelSpec) -> Result<Batch, InputError> {
    let [input] = spec.inputs.as_slice() else {
        return Err(InputError::NeedsNames {
            inputs: spec.input_names(),
        });
    };
    let mut reader = Reader::new(input, key.to_owned());
    reader.read(raw)?;
    let rows = if input.is_scalar() { 1 } else { reader.items };
    if rows == 0 {
        return Err(InputError::EmptyData);
    }
    Ok(finish(vec![reader], rows))
}

fn missing(name: &str, spec: &ModelSpec) -> InputError {
    InputError::MissingColumn {
        name: name.to_owned(),
        columns: spec.input_names(),
    }
}

/// `{"<input>": [item, ...], ...}`: every input by name (others ignored), the same number of
/// items in each; a scalar input's one value.
fn named(key: &str, raw: &str, spec: &ModelSpec) -> Result<Batch, InputError> {
    let object: HashMap<String, &RawValue> =
        serde_json::from_str(raw).map_err(|e| InputError::InvalidJson {
            detail: e.to_string(),
        })?;
    let mut readers = Vec::with_capacity(spec.inputs.len());
    let mut rows: Option<usize> = None;
    for input in &spec.inputs {
        let raw = object
            .get(&input.name)
            .ok_or_else(|| missing(&input.name, spec))?;
        let mut reader = Reader::new(input, format!("{key}.{}", input.name));
        reader.read(raw.get())?;
        if !input.is_scalar() {
            let count = *rows.get_or_insert(reader.items);
            if reader.items != count {
                return Err(InputError::ColumnLengths {
                    column: input.name.clone(),
                    found: reader.items,
                    expected: count,
                });
            }
        }
        readers.push(reader);
    }
    match rows.unwrap_or(1) {
        0 => Err(InputError::EmptyData),
        rows => Ok(finish(readers, rows)),
    }
}

/// `[{"<input>": item, ...}, ...]`: one item of every input per record. A scalar input is given
/// once, in the first record that has it.
fn records(key: &str, raw: &str, spec: &ModelSpec) -> Result<Batch, InputError> {
    let records: Vec<&RawValue> = serde_json::from_str(raw).map_err(|e| InputError::InvalidJson {
        detail: e.to_string(),
    })?;
    let mut readers: Vec<Reader> = spec
        .inputs
        .iter()
        .map(|input| Reader::new(input, key.to_owned()))
        .collect();
    for (index, record) in records.iter().enumerate() {
        let record: HashMap<String, &RawValue> =
            serde_json::from_str(record.get()).map_err(|_| InputError::NotARecord {
                index,
                found: "not an object",
            })?;
        for (input, reader) in spec.inputs.iter().zip(&mut readers) {
            let value = record.get(&input.name);
            if input.is_scalar() && (reader.items > 0 || value.is_none()) {
                continue;
            }
            let value = value.ok_or_else(|| missing(&input.name, spec))?;
            reader.set_path(format!("{key}[{index}].{}", input.name));
            if input.is_scalar() {
                reader.read(value.get())?;
            } else {
                reader.read_item(value.get())?;
            }
        }
    }
    if let Some(input) = spec.inputs.iter().zip(&readers).find(|(_, r)| r.items == 0) {
        return Err(missing(&input.0.name, spec));
    }
    Ok(finish(readers, records.len()))
}
