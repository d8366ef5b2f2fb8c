//! The mutations the fuzzer applies to a valid body: bytes deleted, inserted (JSON's pieces and
//! values of other types) and duplicated.

use proptest::prelude::*;

/// What a mutation may insert: JSON's punctuation, digits, signs, and values of other types.
const PIECES: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "-",
    "0",
    "9",
    ".",
    "e",
    "1e400",
    "-1e400",
    "null",
    "true",
    "\"a\"",
    "[]",
    "{}",
    "NaN",
    "\\u0000",
    "\u{00e9}",
    "99999999999999999999",
    "-0",
    "",
];

#[derive(Debug, Clone)]
pub(super) enum Mutation {
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, &'static str),
    Duplicate(prop::sample::Index, usize),
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1usize..8).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<prop::sample::Index>(), prop::sample::select(PIECES))
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

pub(super) fn mutate(body: impl AsRef<[u8]>, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = body.as_ref().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Delete(at, n) => {
                let start = at.index(len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(at, piece) => {
                let start = at.index(len).min(bytes.len());
                bytes.splice(start..start, piece.bytes());
            }
            Mutation::Duplicate(at, n) => {
                let start = at.index(len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
    }
    bytes
}
