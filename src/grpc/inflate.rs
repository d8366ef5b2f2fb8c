//! Compressed messages (`grpc-encoding: gzip | deflate`, tritonclient's `compression_algorithm`)
//! inflated as REST inflates a compressed body: in chunks, each charged to the in-flight budget
//! before it is inflated and counted against the message limit, so that a zip bomb is refused
//! after at most the limit is inflated, and concurrent ones wait for room or are refused instead
//! of each holding up to the limit unseen. tonic is handed the message inflated (flag 0), and so
//! never inflates; it still checks `grpc-encoding` against the codings it accepts, and answers an
//! unknown one (whose messages are handed on untouched) as it always has.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use axum::http::HeaderMap;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

use super::budget::ChargedBody;
use super::framing::{prefix, Framing, Piece};
use super::outcome::Outcome;
use crate::api::{inflate_coded, ApiError, Charge, Encoding, InflightBudget, CHARGE_PER_BODY_BYTE};

/// The coding of a call's messages that is inflated here, from `grpc-encoding` as tonic reads
/// it (exactly `gzip` or `deflate`); `None` for none, and for any other, which tonic answers.
pub(super) fn message_encoding(headers: &HeaderMap) -> Option<Encoding> {
    match headers.get("grpc-encoding")?.as_bytes() {
        b"gzip" => Some(Encoding::Gzip),
        b"deflate" => Some(Encoding::Deflate),
        _ => None,
    }
}

type Inflating = Pin<Box<dyn Future<Output = (Charge, Result<Bytes, ApiError>)> + Send>>;

/// A request body whose compressed messages are inflated, charged, before tonic reads them.
pub(super) struct InflatingBody<B> {
    /// The body as sent, charged as it arrives; its charge is lent for each inflating message.
    body: ChargedBody<B>,
    /// `None`: the body is handed on untouched.
    encoding: Option<Encoding>,
    framing: Framing,
    /// What is left of the last frame read, not yet through `framing`.
    input: Bytes,
    /// Frames ready to hand on, in order: a message's prefix and its bytes, trailers.
    ready: VecDeque<Frame<Bytes>>,
    inflating: Option<Inflating>,
    /// The inner body has ended.
    ended: bool,
    /// A compressed message was inflated (or is being).
    inflated_one: bool,
    budget: Arc<InflightBudget>,
    limit: usize,
    outcome: Outcome,
}

impl<B> InflatingBody<B> {
    /// `body`, with messages of `encoding` inflated within `limit` bytes each, added to its
    /// charge on `budget`.
    pub(super) fn new(
        body: ChargedBody<B>,
        encoding: Option<Encoding>,
        budget: Arc<InflightBudget>,
        limit: usize,
        outcome: Outcome,
    ) -> Self {
        // gRPC's length prefix is a u32: an inflated message past 4 GiB could not be handed on
        // (the body limit itself has no such bound).
        let limit = limit.min(u32::MAX as usize);
        InflatingBody {
            body,
            encoding,
            framing: Framing::new(limit),
            input: Bytes::new(),
            ready: VecDeque::new(),
            inflating: None,
            ended: false,
            inflated_one: false,
            budget,
            limit,
            outcome,
        }
    }

    /// Starts inflating `message`, with the call's charge.
    fn start_inflating(&mut self, encoding: Encoding, message: Bytes) {
        let (budget, limit) = (self.budget.clone(), self.limit);
        let mut charge = self.body.lend_charge();
        self.inflating = Some(Box::pin(async move {
            let inflated =
                inflate_coded("grpc-encoding", encoding, message, limit, &budget, &mut charge).await;
            (charge, inflated)
        }));
    }
}

impl<B> Body for InflatingBody<B>
where
    ChargedBody<B>: Body<Data = Bytes, Error = Status> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let Some(encoding) = this.encoding else {
            return Pin::new(&mut this.body).poll_frame(cx);
        };
        loop {
            if let Some(inflating) = &mut this.inflating {
                let (charge, inflated) = ready!(inflating.as_mut().poll(cx));
                this.inflating = None;
                let message = match inflated {
                    Ok(message) => message,
                    Err(error) => {
                        this.body.repay_charge(charge, 0);
                        return Poll::Ready(Some(Err(this.outcome.failed(&error))));
                    }
                };
                // Counted as the inflated size, what the handler and `Charged` assume; the charge
                // itself holds up to a step more, as REST's does.
                this.body
                    .repay_charge(charge, message.len() as u64 * CHARGE_PER_BODY_BYTE);
                // Within the limit, which `new` keeps within a u32.
                let len = u32::try_from(message.len()).expect("a message within the limit");
                this.ready
                    .push_back(Frame::data(Bytes::copy_from_slice(&prefix(false, len))));
                this.ready.push_back(Frame::data(message));
            }
            if let Some(frame) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if !this.input.is_empty() {
                match this.framing.next(&mut this.input) {
                    Some(Piece::AsSent(bytes)) => this.ready.push_back(Frame::data(bytes)),
                    // Every method is unary: a second message would be inflated (a decoder
                    // and its first step each) only for tonic to throw it away.
                    Some(Piece::Compressed(_)) if this.inflated_one => {
                        let error = ApiError::BadRequest(
                            "a unary call takes one message; this one sent more".to_owned(),
                        );
                        return Poll::Ready(Some(Err(this.outcome.failed(&error))));
                    }
                    Some(Piece::Compressed(message)) => {
                        this.inflated_one = true;
                        this.start_inflating(encoding, message);
                    }
                    None => {}
                }
                continue;
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.input = data,
                    Err(trailers) => {
                        this.ready.extend(this.framing.finish().map(Frame::data));
                        this.ready.push_back(trailers);
                    }
                },
                Some(Err(status)) => return Poll::Ready(Some(Err(status))),
                None => {
                    this.ended = true;
                    this.ready.extend(this.framing.finish().map(Frame::data));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.encoding {
            None => self.body.is_end_stream(),
            Some(_) => {
                self.ended && self.ready.is_empty() && self.inflating.is_none() && self.input.is_empty()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.encoding {
            None => self.body.size_hint(),
            // Inflating changes the length.
            Some(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests;
