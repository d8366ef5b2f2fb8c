//! gRPC's message framing in a request body, read as the body arrives: each message is a prefix
//! (a compressed flag byte, a big-endian `u32` length) and its bytes; a message may span many
//! HTTP/2 DATA frames, and a frame may hold several messages. The framing picks out the
//! compressed messages whole, for `inflate.rs` to inflate while charging the budget, and hands
//! every other byte on as it came, without holding it.

use bytes::{Buf, Bytes, BytesMut};

/// A message's prefix: the compressed flag, then the length.
pub(super) const PREFIX_LEN: usize = 5;

/// The prefix of a message of `len` bytes, compressed or not.
pub(super) fn prefix(compressed: bool, len: u32) -> [u8; PREFIX_LEN] {
    let [a, b, c, d] = len.to_be_bytes();
    [u8::from(compressed), a, b, c, d]
}

/// What the framing took from the body.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece {
    /// Bytes to hand on as they came: the prefixes and bytes of messages not compressed, and of
    /// those tonic refuses from their prefix (longer than the limit, or with a flag neither 0
    /// nor 1), so that tonic answers them as it answers any.
    AsSent(Bytes),
    /// A compressed message, whole, without its prefix.
    Compressed(Bytes),
}

enum State {
    /// Reading a prefix: `have` of its bytes so far.
    Prefix { bytes: [u8; PREFIX_LEN], have: usize },
    /// Handing on `left` more bytes of a message, as they come.
    Passing { left: usize },
    /// Collecting a compressed message of `len` bytes: `have` bytes so far.
    Collecting { len: usize, parts: Parts, have: usize },
}

/// A message's bytes as they arrive: the first frame's as it came; from the second on, copied
/// into one growing buffer, so that a message sent in tiny frames holds its bytes and not a
/// frame buffer and a `Bytes` per frame (many times the bytes the budget charges).
enum Parts {
    One(Bytes),
    Many(BytesMut),
}

impl Parts {
    fn push(&mut self, part: Bytes) {
        match self {
            Parts::One(first) if first.is_empty() => *first = part,
            Parts::One(first) => {
                let mut many = BytesMut::with_capacity(first.len() + part.len());
                many.extend_from_slice(first);
                many.extend_from_slice(&part);
                *self = Parts::Many(many);
            }
            Parts::Many(many) => many.extend_from_slice(&part),
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Parts::One(bytes) => bytes,
            Parts::Many(many) => many.freeze(),
        }
    }
}

const NEXT_PREFIX: State = State::Prefix {
    bytes: [0; PREFIX_LEN],
    have: 0,
};

/// The framing of one call's body.
pub(super) struct Framing {
    state: State,
    /// The message limit: a longer compressed message is handed on for tonic to refuse from its
    /// prefix, before any of it is held.
    limit: usize,
}

impl Framing {
    pub(super) fn new(limit: usize) -> Self {
        Framing {
            state: NEXT_PREFIX,
            limit,
        }
    }

    /// The next piece taken from the front of `input`; `None` once `input` is used up without
    /// completing one (what was taken is kept for the next input).
    pub(super) fn next(&mut self, input: &mut Bytes) -> Option<Piece> {
        while !input.is_empty() {
            match &mut self.state {
                State::Prefix { bytes, have } => {
                    let take = (PREFIX_LEN - *have).min(input.len());
                    bytes[*have..*have + take].copy_from_slice(&input[..take]);
                    input.advance(take);
                    *have += take;
                    if *have == PREFIX_LEN {
                        let bytes = *bytes;
                        if let Some(sent) = self.after_prefix(bytes) {
                            return Some(sent);
                        }
                    }
                }
                State::Passing { left } => {
                    let part = input.split_to((*left).min(input.len()));
                    *left -= part.len();
                    if *left == 0 {
                        self.state = NEXT_PREFIX;
                    }
                    return Some(Piece::AsSent(part));
                }
                State::Collecting { len, parts, have } => {
                    let part = input.split_to((*len - *have).min(input.len()));
                    *have += part.len();
                    parts.push(part);
                    if *have == *len {
                        return Some(Piece::Compressed(self.take_collected()));
                    }
                }
            }
        }
        None
    }

    /// Starts the message whose prefix is `bytes`: a piece when one is complete at once.
    fn after_prefix(&mut self, bytes: [u8; PREFIX_LEN]) -> Option<Piece> {
        let [flag, len @ ..] = bytes;
        let len = u32::from_be_bytes(len) as usize;
        if flag == 1 && len <= self.limit {
            self.state = State::Collecting {
                len,
                parts: Parts::One(Bytes::new()),
                have: 0,
            };
            // An empty message is whole with its prefix (and tonic's answer to it is ours).
            return (len == 0).then(|| Piece::Compressed(self.take_collected()));
        }
        self.state = if len == 0 {
            NEXT_PREFIX
        } else {
            State::Passing { left: len }
        };
        Some(Piece::AsSent(Bytes::copy_from_slice(&bytes)))
    }

    /// The compressed message collected, in one buffer; the framing reads the next prefix.
    fn take_collected(&mut self) -> Bytes {
        let State::Collecting { parts, .. } = std::mem::replace(&mut self.state, NEXT_PREFIX) else {
            unreachable!("only a message being collected is taken")
        };
        // A message that came in one frame is kept as it is; one in many was copied as it came,
        // into a buffer grown with what arrived (never sized from what the prefix claims).
        parts.into_bytes()
    }

    /// At the end of the body: what is held of an unfinished message, as it was sent, so that
    /// tonic answers a body cut short as it answers any.
    pub(super) fn finish(&mut self) -> Option<Bytes> {
        match std::mem::replace(&mut self.state, NEXT_PREFIX) {
            State::Prefix { bytes, have } if have > 0 => Some(Bytes::copy_from_slice(&bytes[..have])),
            State::Collecting { len, parts, .. } => {
                let mut sent = BytesMut::new();
                sent.extend_from_slice(&prefix(true, len as u32));
                sent.extend_from_slice(&parts.into_bytes());
                Some(sent.freeze())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
