//! A V2 tensor's JSON `data` read into its input's element type, in one walk of its text.

use serde_json::Value;
use tract_onnx::prelude::f16;

use super::bad;
use crate::api::v2::leaves::{self, Halves, Leaf};
use crate::api::ApiError;
use crate::model::{threads, Element, ElementType, TensorSpec, Values};

/// A tensor's JSON leaves read into its input's type: the first `needed` values, how many
/// leaves there were, and the first that did not fit (its index and value), if any.
pub(super) struct Read {
    pub values: Values,
    pub count: usize,
    pub refused: Option<(usize, Value)>,
}

/// `text`'s leaves in `input`'s element type (no `Value` made per number): in one walk, or a long
/// text in two halves at once when the request may take the cores (`threads::both`).
pub(super) fn convert(text: &str, input: &TensorSpec, needed: usize) -> Result<Read, String> {
    fn each<T: Send>(
        text: &str,
        needed: usize,
        convert: impl Fn(&Leaf) -> Option<T> + Sync,
    ) -> Result<Read, String>
    where
        Values: From<Vec<T>>,
    {
        let halves = threads::both_at_once().then(|| Halves::of(text)).flatten();
        if let Some(read) = halves.and_then(|halves| in_halves(&halves, needed, &convert)) {
            return Ok(read);
        }
        let mut taken = Taken::new(text, needed);
        let count = leaves::each_leaf(text, |index, leaf| taken.take(index, leaf, &convert))?;
        Ok(taken.read(count))
    }
    match input.element {
        ElementType::F32 => each(text, needed, number::<f32>),
        ElementType::F64 => each(text, needed, number::<f64>),
        ElementType::F16 => each(text, needed, number::<f16>),
        ElementType::I8 => each(text, needed, number::<i8>),
        ElementType::U8 => each(text, needed, number::<u8>),
        ElementType::I16 => each(text, needed, number::<i16>),
        ElementType::I32 => each(text, needed, number::<i32>),
        ElementType::I64 => each(text, needed, number::<i64>),
        ElementType::Bool => each(text, needed, |leaf| leaf.other()?.as_bool()),
        ElementType::String => each(text, needed, |leaf| leaf.other()?.as_str().map(str::to_owned)),
    }
}

/// A walk's leaves as `T`: the first `needed` of them, until one does not fit (the rest only
/// counted).
struct Taken<T> {
    values: Vec<T>,
    refused: Option<(usize, Value)>,
    needed: usize,
}

impl<T> Taken<T>
where
    Values: From<Vec<T>>,
{
    fn new(text: &str, needed: usize) -> Self {
        Taken {
            values: Vec::with_capacity(leaves::reservation(text, needed)),
            refused: None,
            needed,
        }
    }

    fn take(&mut self, index: usize, leaf: Leaf, convert: impl Fn(&Leaf) -> Option<T>) {
        if self.refused.is_some() || index >= self.needed {
            return;
        }
        match convert(&leaf) {
            Some(value) => self.values.push(value),
            None => self.refused = Some((index, leaf.into_value())),
        }
    }

    fn read(self, count: usize) -> Read {
        Read {
            values: Values::from(self.values),
            count,
            refused: self.refused,
        }
    }
}

/// `halves` walked at once, then joined as one walk would have read them; `None` when either is
/// not JSON on its own (the whole is then walked again, for its message).
pub(super) fn in_halves<T: Send>(
    halves: &Halves<'_>,
    needed: usize,
    convert: &(impl Fn(&Leaf) -> Option<T> + Sync),
) -> Option<Read>
where
    Values: From<Vec<T>>,
{
    let first = || {
        // Reserved for both halves: the second's values are appended.
        let mut taken = Taken::new(halves.whole(), needed);
        let count = halves.each_leaf_of_first(|index, leaf| taken.take(index, leaf, convert))?;
        Some((taken, count))
    };
    let second = || {
        let mut taken = Taken::new(halves.second(), needed);
        let count = halves.each_leaf_of_second(|index, leaf| taken.take(index, leaf, convert))?;
        Some((taken, count))
    };
    let (first, second) = threads::both(first, second);
    let ((mut taken, before), (after, count)) = (first?, second?);
    // The second half's leaves are numbered from the comma on.
    let refused_after = after.refused.map(|(index, value)| (before + index, value));
    taken.refused = taken
        .refused
        .or(refused_after.filter(|(index, _)| *index < needed));
    if taken.refused.is_none() {
        taken
            .values
            .extend(after.values.into_iter().take(needed.saturating_sub(before)));
    }
    Some(taken.read(before + count))
}

/// The 400 for `data[index]`, a `value` that `input` does not take.
pub(super) fn refusal(input: &TensorSpec, index: usize, value: &Value) -> ApiError {
    let what = if input.element.is_numeric() && !value.is_number() {
        format!("holds a non-number ({value})")
    } else {
        format!("= {value} does not fit")
    };
    bad(format!(
        "input {:?}: data[{index}] {what}; the input takes {}",
        input.name, input.element
    ))
}

/// A number leaf as `T`, when it fits; `None` for any other leaf.
pub(super) fn number<T: Element>(leaf: &Leaf) -> Option<T> {
    match leaf {
        Leaf::Number(number) => number.element(),
        Leaf::Other(_) => None,
    }
}
