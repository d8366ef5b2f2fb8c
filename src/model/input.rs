//! Parses a scoring body, in any form Azure ML clients send, into the model's batch. The usual
//! numeric matrix of a one-input model (`{"data": [[...], ...]}` or `{"data": [...]}`) goes
//! straight into one contiguous buffer of the model's element type, rows checked for width on the
//! way and no intermediate `serde_json::Value`: by a byte scanner (`fast`) or, when it gives up,
//! by serde seeds that say what is wrong and where (`document`, `rows`). Every other form
//! (records, columns, named inputs; `forms`) is read through a `Value`.

use std::fmt;

use serde::de::DeserializeSeed;

use super::element::Element;
use super::{Batch, ElementType, ModelSpec, Values};

mod document;
mod fast;
mod forms;
mod rows;
mod tensors;

pub use forms::{Envelope, ScoringRequest};

use document::BodySeed;

/// Why a body cannot be scored; the message says what is wrong and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("the request body is empty; send {{\"data\": [[...], ...]}}")]
    EmptyBody,
    #[error("the request body is not valid UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("the request body is not valid JSON: {detail}")]
    InvalidJson { detail: String },
    #[error("the request body must be a JSON object with a \"data\" field, found {found}")]
    NotAnObject { found: &'static str },
    #[error(
        "the request body has no \"data\" field; send {{\"data\": [[...], ...]}} (or one of \
         input_data, Inputs, dataframe_split, dataframe_records, instances, inputs)"
    )]
    MissingData,
    #[error("the request body has \"data\" twice")]
    DuplicateData,
    #[error("\"data\" must be an array of rows, found {found}")]
    DataNotArray { found: &'static str },
    #[error("\"data\" is empty; send at least one row")]
    EmptyData,
    #[error("row {row} has {found} values, the model takes {expected}")]
    WrongWidth {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("row {row} has {found} values, the model takes {expected}")]
    WrongWidthOf {
        row: usize,
        found: usize,
        /// The widths the model takes, with and without its optional inputs, each naming them.
        expected: String,
    },
    /// Some items send an optional input, others do not (`{"data": ["a", ["b", "c"]]}`).
    #[error("{item} {detail}: every item of a request sends {inputs} or none does")]
    OptionalMixed {
        item: String,
        detail: String,
        inputs: String,
    },
    #[error("data[{index}] is {found}, but data[0] is {first}; send one row of numbers or a list of rows")]
    MixedRows {
        index: usize,
        found: &'static str,
        first: &'static str,
    },
    #[error("data[{index}] is not a row of numbers (found {found})")]
    NotARow { index: usize, found: &'static str },
    #[error("{path} is not a number (found {found})")]
    NotANumber { path: String, found: &'static str },
    #[error("{path} = {value} does not fit the model's input type {element}")]
    OutOfRange {
        path: String,
        value: String,
        element: ElementType,
    },
    #[error("{path}: number out of range")]
    NumberOverflow { path: String },
    #[error("the request has no column {name:?}; the model's columns are {columns}")]
    MissingColumn { name: String, columns: String },
    #[error("column {column:?} has {found} values, the columns before it have {expected}")]
    ColumnLengths {
        column: String,
        found: usize,
        expected: usize,
    },
    #[error(
        "records name columns, but this model takes one input ({input}) of {width} values per row: \
         send rows {{\"data\": [[...], ...]}} or the split form \
         {{\"input_data\": {{\"columns\": [...], \"data\": [[...], ...]}}}}"
    )]
    RecordsForMatrix { input: String, width: usize },
    #[error("the rows form reads float32, float64, int32 and int64 inputs, this one is {element}: send nested lists per item")]
    NotTabular { element: ElementType },
    #[error("{rows}; read as columns, {columns}")]
    NotRowsNorColumns { rows: String, columns: String },
    #[error("input {input:?}: {path} {problem} (the input's shape is {shape})")]
    Tensor {
        input: String,
        path: String,
        problem: String,
        shape: String,
    },
    #[error(
        "this model takes several inputs ({inputs}): send them by name, {{\"input_data\": {{\"<input>\": [...], ...}}}}, \
         or as records {{\"data\": [{{\"<input>\": ..., ...}}, ...]}}"
    )]
    NeedsNames { inputs: String },
    #[error("record {index} is {found}, not an object of column values")]
    NotARecord { index: usize, found: &'static str },
    #[error("{form}: column {column:?}, row {row}: expected {expected}, found {found}")]
    BadValue {
        column: String,
        row: usize,
        expected: ElementType,
        found: String,
        form: String,
    },
    /// An item the model's preprocessing refuses (an image that is not base64, does not decode
    /// or is too large); the message names the item.
    #[error("{0}")]
    BadItem(String),
}

impl InputError {
    /// Whether the matrix parser stopped because the body is another form (records, columns, a
    /// key other than `data`), which the form parser reads.
    fn is_another_form(&self) -> bool {
        match self {
            InputError::MissingData => true,
            InputError::DataNotArray { found } => *found == "an object",
            InputError::NotARow { found, .. } => *found == "an object",
            InputError::NotANumber { path, found } => path == "data[0]" && *found == "an object",
            _ => false,
        }
    }
}

/// Parses `body`, in any supported form, for a model that takes `spec`.
pub fn parse_scoring_request(body: &[u8], spec: &ModelSpec) -> Result<ScoringRequest, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::EmptyBody);
    }
    // A numeric matrix in the usual form is read straight into its buffer; only a body in
    // another form goes through the general parser.
    if let Some((width, element)) = spec.numeric_matrix() {
        match parse_matrix(body, width, element) {
            Ok((rows, values)) => {
                return Ok(ScoringRequest {
                    batch: Batch {
                        rows,
                        inputs: vec![values],
                        shapes: Vec::new(),
                    },
                    envelope: Envelope::Bare,
                    method: None,
                })
            }
            Err(error) if !error.is_another_form() => return Err(error),
            Err(as_rows) => {
                return forms::parse_form(body, spec).map_err(|as_form| match as_form {
                    // Neither rows nor the columns the model takes: say both.
                    InputError::MissingColumn { .. } => InputError::NotRowsNorColumns {
                        rows: as_rows.to_string(),
                        columns: as_form.to_string(),
                    },
                    other => other,
                });
            }
        }
    }
    forms::parse_form(body, spec)
}

/// Parses `body` into the model's batch (any form; the envelope and method are dropped).
pub fn parse_request(body: &[u8], spec: &ModelSpec) -> Result<Batch, InputError> {
    parse_scoring_request(body, spec).map(|request| request.batch)
}

/// Parses `{"data": [[...], ...]}` (or one flat row) into one buffer of `element`.
fn parse_matrix(body: &[u8], width: usize, element: ElementType) -> Result<(usize, Values), InputError> {
    match element {
        ElementType::F32 => parse_typed::<f32>(body, width),
        ElementType::F64 => parse_typed::<f64>(body, width),
        ElementType::I32 => parse_typed::<i32>(body, width),
        ElementType::I64 => parse_typed::<i64>(body, width),
        // `numeric_matrix` answers only the four tabular number types; should it answer
        // another, the request is refused rather than the thread ended.
        other => Err(InputError::NotTabular { element: other }),
    }
}

fn parse_typed<T: Element>(body: &[u8], width: usize) -> Result<(usize, Values), InputError> {
    // Every value but the last of a row is followed by a comma, so the commas (plus one) bound the
    // number of values: one exact reservation instead of repeated growth and copies.
    let mut values = Vec::with_capacity(count_commas(body) + 1);
    if let Some(rows) = fast::parse::<T>(body, width, &mut values) {
        return Ok((rows, T::wrap(values)));
    }
    values.clear();
    parse_full(body, width, values)
}

/// The commas in `body`. Counted in a byte per chunk of 255, which the compiler turns into
/// vector compares and adds; counting into a `usize` per byte (`filter().count()`) was not, and
/// took 10-18 % of a whole-body decode.
fn count_commas(body: &[u8]) -> usize {
    body.chunks(255)
        .map(|chunk| usize::from(chunk.iter().map(|&b| u8::from(b == b',')).sum::<u8>()))
        .sum()
}

/// The full parser: any JSON, with an error that says what is wrong and where.
fn parse_full<T: Element>(body: &[u8], width: usize, values: Vec<T>) -> Result<(usize, Values), InputError> {
    // The fast path reads ASCII only, so only the full parser needs the UTF-8 check.
    if let Err(e) = std::str::from_utf8(body) {
        return Err(InputError::NotUtf8 {
            offset: e.valid_up_to(),
        });
    }
    let mut ctx = Context::<T> {
        width,
        values,
        rows: 0,
        error: None,
        at: Position::Top,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = BodySeed { ctx: &mut ctx }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match (parsed, ctx.error) {
        (_, Some(error)) => Err(error),
        (Ok(()), None) => Ok((ctx.rows, T::wrap(ctx.values))),
        (Err(e), None) if e.to_string().starts_with("number out of range") => {
            Err(InputError::NumberOverflow {
                path: ctx.at.to_string(),
            })
        }
        (Err(e), None) => Err(InputError::InvalidJson {
            detail: e.to_string(),
        }),
    }
}

/// Where the parser is, for error messages.
#[derive(Debug, Clone, Copy)]
pub(super) enum Position {
    Top,
    Flat { col: usize },
    Cell { row: usize, col: usize },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Top => f.write_str("the request body"),
            Position::Flat { col } => write!(f, "data[{col}]"),
            Position::Cell { row, col } => write!(f, "data[{row}][{col}]"),
        }
    }
}

/// Parse state shared by the seeds. The structured error is kept here because serde_json would
/// otherwise append a line/column to our message.
pub(super) struct Context<T> {
    pub(super) width: usize,
    pub(super) values: Vec<T>,
    pub(super) rows: usize,
    pub(super) error: Option<InputError>,
    pub(super) at: Position,
}

impl<T> Context<T> {
    pub(super) fn fail<E: serde::de::Error>(&mut self, error: InputError) -> E {
        let message = error.to_string();
        self.error = Some(error);
        E::custom(message)
    }
}

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod tests;
