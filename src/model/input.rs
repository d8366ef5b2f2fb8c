//! Parses a scoring body (`{"data": [[...], ...]}` or `{"data": [...]}`) straight into one
//! contiguous buffer of the model's element type, checking every row's width on the way, with
//! no intermediate `serde_json::Value` or `Vec<Vec<_>>`.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::element::Element;
use super::{Batch, ElementType, InputSpec};

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
    #[error("the request body has no \"data\" field; send {{\"data\": [[...], ...]}}")]
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
}

/// Parses `body` for a model that takes `spec`.
pub fn parse_request(body: &[u8], spec: &InputSpec) -> Result<Batch, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::EmptyBody);
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Err(InputError::NotUtf8 {
            offset: e.valid_up_to(),
        });
    }
    match spec.element {
        ElementType::F32 => parse_typed::<f32>(body, spec.width),
        ElementType::F64 => parse_typed::<f64>(body, spec.width),
        ElementType::I32 => parse_typed::<i32>(body, spec.width),
        ElementType::I64 => parse_typed::<i64>(body, spec.width),
    }
}

fn parse_typed<T: Element>(body: &[u8], width: usize) -> Result<Batch, InputError> {
    let mut ctx = Context::<T> {
        width,
        values: Vec::new(),
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
        (Ok(()), None) => Ok(Batch {
            rows: ctx.rows,
            values: T::wrap(ctx.values),
        }),
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
enum Position {
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
struct Context<T> {
    width: usize,
    values: Vec<T>,
    rows: usize,
    error: Option<InputError>,
    at: Position,
}

impl<T> Context<T> {
    fn fail<E: serde::de::Error>(&mut self, error: InputError) -> E {
        let message = error.to_string();
        self.error = Some(error);
        E::custom(message)
    }
}

/// Describes a JSON value for error messages, from the serde visitor's point of view.
struct Found(&'static str);

macro_rules! reject_all_but {
    ($found_fn:ident) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            self.$found_fn(Found("a boolean"))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            self.$found_fn(Found("a string"))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            self.$found_fn(Found("null"))
        }
    };
}

struct BodySeed<'c, T> {
    ctx: &'c mut Context<T>,
}

impl<'de, T: Element> DeserializeSeed<'de> for BodySeed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<T: Element> BodySeed<'_, T> {
    fn found<E: serde::de::Error>(self, found: Found) -> Result<(), E> {
        Err(self.ctx.fail(InputError::NotAnObject { found: found.0 }))
    }
}

impl<'de, T: Element> Visitor<'de> for BodySeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"data\" field")
    }
    reject_all_but!(found);
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.found(Found("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_data = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "data" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if seen_data {
                return Err(self.ctx.fail(InputError::DuplicateData));
            }
            seen_data = true;
            map.next_value_seed(DataSeed { ctx: &mut *self.ctx })?;
        }
        if !seen_data {
            return Err(self.ctx.fail(InputError::MissingData));
        }
        Ok(())
    }
}

/// The value of `"data"`: one flat row of numbers, or an array of rows.
struct DataSeed<'c, T> {
    ctx: &'c mut Context<T>,
}

impl<'de, T: Element> DeserializeSeed<'de> for DataSeed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<T: Element> DataSeed<'_, T> {
    fn found<E: serde::de::Error>(self, found: Found) -> Result<(), E> {
        Err(self.ctx.fail(InputError::DataNotArray { found: found.0 }))
    }
}

impl<'de, T: Element> Visitor<'de> for DataSeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }
    reject_all_but!(found);
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.found(Found("a number"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.found(Found("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        if let Some(hint) = seq.size_hint() {
            ctx.values.reserve(hint.saturating_mul(ctx.width));
        }
        let mut shape: Option<Shape> = None;
        let mut index = 0;
        loop {
            ctx.at = match shape {
                Some(Shape::Rows) => Position::Cell { row: index, col: 0 },
                _ => Position::Flat { col: index },
            };
            let item = ItemSeed {
                ctx: &mut *ctx,
                index,
                first: shape,
            };
            let Some(item_shape) = seq.next_element_seed(item)? else {
                break;
            };
            shape.get_or_insert(item_shape);
            index += 1;
        }
        match shape {
            None => Err(ctx.fail(InputError::EmptyData)),
            Some(Shape::Rows) => {
                ctx.rows = index;
                Ok(())
            }
            Some(Shape::Flat) if index != ctx.width => Err(ctx.fail(InputError::WrongWidth {
                row: 0,
                found: index,
                expected: ctx.width,
            })),
            Some(Shape::Flat) => {
                ctx.rows = 1;
                Ok(())
            }
        }
    }
}

/// What an element of `"data"` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A number: `"data"` is one flat row.
    Flat,
    /// An array: `"data"` is a list of rows.
    Rows,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::Flat => "a number",
            Shape::Rows => "a row",
        }
    }
}

/// One element of `"data"`: a number (flat row) or a row (array of numbers), of the same kind
/// as the first element.
struct ItemSeed<'c, T> {
    ctx: &'c mut Context<T>,
    index: usize,
    first: Option<Shape>,
}

impl<'de, T: Element> DeserializeSeed<'de> for ItemSeed<'_, T> {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Shape, D::Error> {
        de.deserialize_any(self)
    }
}

impl<T: Element> ItemSeed<'_, T> {
    fn found<E: serde::de::Error>(self, found: Found) -> Result<Shape, E> {
        let error = match self.first {
            Some(Shape::Rows) => InputError::NotARow {
                index: self.index,
                found: found.0,
            },
            _ => InputError::NotANumber {
                path: format!("data[{}]", self.index),
                found: found.0,
            },
        };
        Err(self.ctx.fail(error))
    }
    fn mixed<E: serde::de::Error>(self, found: Shape, first: Shape) -> E {
        let error = InputError::MixedRows {
            index: self.index,
            found: found.describe(),
            first: first.describe(),
        };
        self.ctx.fail(error)
    }
    fn push<E: serde::de::Error>(self, value: Option<T>, shown: impl fmt::Display) -> Result<Shape, E> {
        if self.first == Some(Shape::Rows) {
            return Err(self.mixed(Shape::Flat, Shape::Rows));
        }
        let path = Position::Flat { col: self.index };
        push_value(self.ctx, value, path, shown).map(|()| Shape::Flat)
    }
}

impl<'de, T: Element> Visitor<'de> for ItemSeed<'_, T> {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a row of numbers")
    }
    reject_all_but!(found);
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Shape, A::Error> {
        self.found(Found("an object"))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Shape, E> {
        self.push(T::from_f64(v), v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Shape, E> {
        self.push(T::from_i64(v), v)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Shape, E> {
        self.push(T::from_u64(v), v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        if self.first == Some(Shape::Flat) {
            return Err(self.mixed(Shape::Rows, Shape::Flat));
        }
        let (ctx, row) = (self.ctx, self.index);
        let mut col = 0;
        while col < ctx.width {
            ctx.at = Position::Cell { row, col };
            if seq
                .next_element_seed(CellSeed {
                    ctx: &mut *ctx,
                    row,
                    col,
                })?
                .is_none()
            {
                break;
            }
            col += 1;
        }
        // Count the extra values of a too-long row so the message can say how many there were.
        let mut found = col;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            found += 1;
        }
        if found != ctx.width {
            return Err(ctx.fail(InputError::WrongWidth {
                row,
                found,
                expected: ctx.width,
            }));
        }
        Ok(Shape::Rows)
    }
}

/// One value inside a row.
struct CellSeed<'c, T> {
    ctx: &'c mut Context<T>,
    row: usize,
    col: usize,
}

impl<'de, T: Element> DeserializeSeed<'de> for CellSeed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<T: Element> CellSeed<'_, T> {
    fn position(&self) -> Position {
        Position::Cell {
            row: self.row,
            col: self.col,
        }
    }
    fn found<E: serde::de::Error>(self, found: Found) -> Result<(), E> {
        let path = self.position().to_string();
        Err(self.ctx.fail(InputError::NotANumber { path, found: found.0 }))
    }
    fn push<E: serde::de::Error>(self, value: Option<T>, shown: impl fmt::Display) -> Result<(), E> {
        let path = self.position();
        push_value(self.ctx, value, path, shown)
    }
}

impl<'de, T: Element> Visitor<'de> for CellSeed<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    reject_all_but!(found);
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.found(Found("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        // Rejected before descending, so deeply nested arrays cost nothing.
        self.found(Found("an array"))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.push(T::from_f64(v), v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.push(T::from_i64(v), v)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.push(T::from_u64(v), v)
    }
}

fn push_value<T: Element, E: serde::de::Error>(
    ctx: &mut Context<T>,
    value: Option<T>,
    path: Position,
    shown: impl fmt::Display,
) -> Result<(), E> {
    match value {
        Some(value) => {
            ctx.values.push(value);
            Ok(())
        }
        None => Err(ctx.fail(InputError::OutOfRange {
            path: path.to_string(),
            value: shown.to_string(),
            element: T::TYPE,
        })),
    }
}

#[cfg(test)]
mod tests;
