//! Nested lists of any rank into one input's buffer, read straight from the body's text (no
//! `Value` tree): every list's length checked against the input's shape on the way, a symbolic
//! dimension taking its size from the first item, and any mismatch named by its index path
//! (`data[1][2] has 223 values, the model takes 224`).

use std::fmt::Write as _;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

use super::InputError;
use crate::model::{TensorSpec, Values};

mod leaf;

use leaf::{describe, push, Leaf};

/// One input's items as they are read: the buffer, the item shape learnt so far, and where the
/// reader is (for messages).
pub(super) struct Reader<'s> {
    spec: &'s TensorSpec,
    /// The form's path to this input (`data`, `input_data.input_ids`), before the indices.
    path: String,
    pub(super) values: Values,
    /// One item's dimensions: fixed by the model, or learnt from the first item.
    pub(super) dims: Vec<Option<usize>>,
    pub(super) items: usize,
    indices: Vec<usize>,
    error: Option<InputError>,
}

impl<'s> Reader<'s> {
    pub(super) fn new(spec: &'s TensorSpec, path: String) -> Self {
        Reader {
            spec,
            path,
            values: Values::with_capacity(spec.element, 0),
            dims: spec.item_dims().to_vec(),
            items: 0,
            indices: Vec::new(),
            error: None,
        }
    }

    /// Where the reader is in the form (a record's input), for messages.
    pub(super) fn set_path(&mut self, path: String) {
        self.path = path;
    }

    /// Reads `raw`: a list of items, or one item without the batch level when its nesting says
    /// so. A scalar input takes one value, bare or in a list of one.
    pub(super) fn read(&mut self, raw: &str) -> Result<(), InputError> {
        let depth = raw
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .take_while(|&b| b == b'[')
            .count();
        let rank = self.dims.len();
        if self.spec.is_scalar() {
            self.parse(raw, depth == 1)?;
            if depth == 0 {
                self.items = 1;
            }
            if self.items != 1 {
                return Err(self.problem(format!(
                    "has {} values, the model takes one per request",
                    self.items
                )));
            }
            return Ok(());
        }
        if depth == rank + 1 {
            self.parse(raw, true)
        } else if depth == rank {
            self.read_item(raw)
        } else {
            Err(self.problem(format!(
                "nests {depth} lists deep, the model takes a list of items nested {} deep (or one item, {rank} deep)",
                rank + 1
            )))
        }
    }

    /// Reads one item (a record's value), at the next index.
    pub(super) fn read_item(&mut self, raw: &str) -> Result<(), InputError> {
        self.indices.clear();
        self.items += 1;
        self.parse(raw, false)
    }

    /// The shape of one item, once read.
    pub(super) fn item_shape(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.unwrap_or(0)).collect()
    }

    /// Parses `raw` as a list of items (`items`) or as one item.
    fn parse(&mut self, raw: &str, items: bool) -> Result<(), InputError> {
        let mut de = serde_json::Deserializer::from_str(raw);
        let parsed = if items {
            Items { reader: self }.deserialize(&mut de)
        } else {
            Level {
                reader: self,
                depth: 0,
            }
            .deserialize(&mut de)
        };
        match (parsed.and_then(|()| de.end()), self.error.take()) {
            (_, Some(error)) => Err(error),
            (Ok(()), None) => Ok(()),
            (Err(e), None) => Err(InputError::InvalidJson {
                detail: e.to_string(),
            }),
        }
    }

    /// An error at the current index path.
    fn problem(&self, problem: String) -> InputError {
        let mut path = self.path.clone();
        for index in &self.indices {
            let _ = write!(path, "[{index}]");
        }
        InputError::Tensor {
            input: self.spec.name.clone(),
            path,
            problem,
            shape: self.spec.shape_text(),
        }
    }

    fn fail<E: de::Error>(&mut self, problem: String) -> E {
        let error = self.problem(problem);
        let message = error.to_string();
        self.error = Some(error);
        E::custom(message)
    }

    /// Checks a list's length at `depth` against the item's dimension there.
    fn check_len<E: de::Error>(&mut self, depth: usize, found: usize) -> Result<(), E> {
        match self.dims[depth] {
            Some(expected) if expected != found => {
                let model = self.spec.item_dims()[depth].is_some();
                let who = if model {
                    "the model takes"
                } else {
                    "the items before it have"
                };
                Err(self.fail(format!("has {found} values, {who} {expected}")))
            }
            Some(_) => Ok(()),
            // A symbolic dimension (a sequence length, an image size) of 0 would run the model
            // on empty tensors, which few graphs expect.
            None if found == 0 => Err(self.fail(format!(
                "has no values; dimension {} of the input is symbolic and takes at least one",
                depth + 1
            ))),
            None => {
                self.dims[depth] = Some(found);
                Ok(())
            }
        }
    }

    fn push<E: de::Error>(&mut self, leaf: Leaf<'_>) -> Result<(), E> {
        push(&mut self.values, &leaf).map_err(|problem| self.fail(problem))
    }
}

/// The batch level: a list of items.
struct Items<'r, 's> {
    reader: &'r mut Reader<'s>,
}

/// One level of an item: a list at `depth` < the item's rank, a value at its rank.
struct Level<'r, 's> {
    reader: &'r mut Reader<'s>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let reader = self.reader;
        loop {
            reader.indices.clear();
            reader.indices.push(reader.items);
            if items
                .next_element_seed(Level {
                    reader: &mut *reader,
                    depth: 0,
                })?
                .is_none()
            {
                break;
            }
            reader.items += 1;
        }
        reader.indices.clear();
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Level<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Level<'_, '_> {
    fn leaf<E: de::Error>(self, leaf: Leaf<'_>) -> Result<(), E> {
        if self.depth < self.reader.dims.len() {
            let problem = format!("is {}, not a list", describe(&leaf));
            return Err(self.reader.fail(problem));
        }
        self.reader.push(leaf)
    }
}

impl<'de> Visitor<'de> for Level<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("nested lists of values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut list: A) -> Result<(), A::Error> {
        let Level { reader, depth } = self;
        if depth >= reader.dims.len() {
            let problem = format!("is a list, the model takes one {} there", reader.spec.element);
            return Err(reader.fail(problem));
        }
        let mut count = 0;
        reader.indices.push(0);
        loop {
            *reader.indices.last_mut().expect("pushed above") = count;
            let next = Level {
                reader: &mut *reader,
                depth: depth + 1,
            };
            if list.next_element_seed(next)?.is_none() {
                break;
            }
            count += 1;
        }
        reader.indices.pop();
        reader.check_len(depth, count)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.leaf(Leaf::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.leaf(Leaf::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.leaf(Leaf::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.leaf(Leaf::Bool(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.leaf(Leaf::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf(Leaf::Null)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        let problem = "is an object, not a list or a value".to_owned();
        Err(self.reader.fail(problem))
    }
}

#[cfg(test)]
mod tests;
