//! The row level: each element of `"data"` (a number of a flat row, or a row) and each cell.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::document::{reject_all_but, Found};
use super::{Context, InputError, Position};
use crate::model::element::Element;

/// What an element of `"data"` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
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
pub(super) struct ItemSeed<'c, T> {
    pub(super) ctx: &'c mut Context<T>,
    pub(super) index: usize,
    pub(super) first: Option<Shape>,
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
