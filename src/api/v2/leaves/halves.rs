//! A long `data` text cut in two, so that a request alone on several cores reads it in two walks
//! at once (`tensor::json`), each checked as JSON from where it starts to where it must end.

use super::{walk, Leaf, Place};

/// Texts from this long on are walked in two halves at once when the request runs alone on
/// several cores (`threads::both`): a 224x224 image is 3 MB, about 6 ms of numbers on one core.
const SPLIT_BYTES: usize = 1 << 20;

/// A text cut in two at a comma near its middle, for two walks at once.
pub(in crate::api) struct Halves<'a> {
    whole: &'a str,
    first: &'a str,
    second: &'a str,
    /// Arrays open at the comma.
    depth: usize,
}

impl<'a> Halves<'a> {
    /// `text` cut in two, when it is long and holds no string (a comma or a bracket in a string
    /// would mislead the cut); `None` otherwise, and for a comma outside every array.
    pub(in crate::api) fn of(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() < SPLIT_BYTES || memchr::memchr(b'"', bytes).is_some() {
            return None;
        }
        let comma = bytes.len() / 2 + memchr::memchr(b',', &bytes[bytes.len() / 2..])?;
        let (first, second) = (&text[..comma], &text[comma + 1..]);
        let opened = memchr::memchr_iter(b'[', first.as_bytes()).count();
        let closed = memchr::memchr_iter(b']', first.as_bytes()).count();
        let depth = opened.checked_sub(closed).filter(|&depth| depth > 0)?;
        Some(Halves {
            whole: text,
            first,
            second,
            depth,
        })
    }

    pub(in crate::api) fn whole(&self) -> &'a str {
        self.whole
    }

    pub(in crate::api) fn second(&self) -> &'a str {
        self.second
    }

    /// `each_leaf` over the first half: its leaves' count, when it is JSON up to the comma.
    pub(in crate::api) fn each_leaf_of_first(&self, each: impl FnMut(usize, Leaf)) -> Option<usize> {
        let (count, end) = walk(self.first, Place::START, each).ok()?;
        let at_the_comma = Place {
            depth: self.depth,
            wants_value: false,
            opened: false,
        };
        (end == at_the_comma).then_some(count)
    }

    /// `each_leaf` over the second half, indexed from 0: its leaves' count, when it is JSON from
    /// the comma to the end of the value.
    pub(in crate::api) fn each_leaf_of_second(&self, each: impl FnMut(usize, Leaf)) -> Option<usize> {
        let after_the_comma = Place {
            depth: self.depth,
            wants_value: true,
            opened: false,
        };
        let (count, end) = walk(self.second, after_the_comma, each).ok()?;
        end.is_past_the_value().then_some(count)
    }
}
