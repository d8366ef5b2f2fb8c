//! The document level: the body object and its `"data"` array.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::rows::{ItemSeed, Shape};
use super::{Context, InputError, Position};
use crate::model::element::Element;

/// Describes a JSON value for error messages, from the serde visitor's point of view.
pub(super) struct Found(pub(super) &'static str);

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

pub(super) use reject_all_but;

/// For the levels where a number is itself the mistake (the body, `"data"`).
macro_rules! reject_numbers {
    ($found_fn:ident) => {
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            self.$found_fn(Found("a number"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            self.$found_fn(Found("a number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            self.$found_fn(Found("a number"))
        }
    };
}

pub(super) struct BodySeed<'c, T> {
    pub(super) ctx: &'c mut Context<T>,
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
    reject_numbers!(found);
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
    reject_numbers!(found);
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.found(Found("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
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
