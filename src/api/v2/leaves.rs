//! A request tensor's `data`, flat or nested, read into its leaves.

use serde::{
    de::{self, DeserializeSeed, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::Value;

/// A request tensor's `data`, flat or nested: its leaves in row-major order, collected while
/// the body is parsed (no `Value` tree of nested arrays to build and walk).
pub(in crate::api) struct Leaves(pub(in crate::api) Vec<Value>);

impl<'de> Deserialize<'de> for Leaves {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut leaves = Vec::new();
        deserializer.deserialize_any(Collect(&mut leaves))?;
        Ok(Leaves(leaves))
    }
}

/// Pushes every leaf it visits; arrays are walked into. Numbers keep serde_json's kinds (an
/// integer stays an integer), as `Value` keeps them.
struct Collect<'a>(&'a mut Vec<Value>);

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("tensor data: values or nested arrays of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.0.push(Value::Bool(value));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.0.push(Value::from(value));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push(Value::Null);
        Ok(())
    }

    /// An object is a leaf too (and an error later, naming its place).
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0
            .push(Value::deserialize(de::value::MapAccessDeserializer::new(map))?);
        Ok(())
    }
}
