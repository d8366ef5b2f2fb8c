//! The in-flight memory budget, charged while a call's message arrives, as REST charges a body
//! while it reads it: a burst of large calls waits for room or is refused, instead of being
//! buffered whole first. The charge is handed to the call's handler when tonic has read the
//! message, with the bytes it covers, and kept until the answer is encoded. The frames are the
//! message as sent: a compressed one's inflated bytes are added to the same charge as they are
//! inflated (`inflate.rs`).

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

use super::outcome::Outcome;
use crate::api::{ApiError, Charge, InflightBudget, CHARGE_PER_BODY_BYTE};

/// Where a call's body leaves its charge for the handler (in the request's extensions).
#[derive(Clone, Default)]
pub(super) struct Handover(Arc<Mutex<Option<(Charge, u64)>>>);

impl Handover {
    /// The charge of the message read so far, and the bytes charged (none when nothing was).
    pub(super) fn take(&self) -> (Charge, u64) {
        self.0
            .lock()
            .expect("a handover is taken under no other lock")
            .take()
            .unwrap_or_else(|| (Charge::none(), 0))
    }
}

type Growing = Pin<Box<dyn Future<Output = (Charge, Result<(), ApiError>)> + Send>>;

/// A request body that charges the budget for each frame before tonic sees it.
pub(super) struct ChargedBody<B> {
    body: B,
    budget: Arc<InflightBudget>,
    /// `None` while `growing` holds it.
    charge: Option<Charge>,
    /// Bytes charged so far.
    charged: u64,
    /// Waiting for room for `held`.
    growing: Option<Growing>,
    held: Option<Frame<Bytes>>,
    handover: Handover,
    outcome: Outcome,
}

impl<B> ChargedBody<B> {
    pub(super) fn new(body: B, budget: Arc<InflightBudget>, handover: Handover, outcome: Outcome) -> Self {
        ChargedBody {
            body,
            budget,
            charge: Some(Charge::none()),
            charged: 0,
            growing: None,
            held: None,
            handover,
            outcome,
        }
    }

    /// Lends the call's charge, to grow while a message read is inflated (`inflate.rs`): one
    /// charge, so that a call that could never fit is told so at once, as REST tells a body.
    pub(super) fn lend_charge(&mut self) -> Charge {
        self.charge
            .take()
            .expect("frames are handed on charged, so the charge is not growing while lent")
    }

    /// Takes back the lent charge, grown by `bytes`: inflating charges each step before it
    /// inflates, so a message ends with up to a step charged that it did not fill, trimmed here.
    pub(super) fn repay_charge(&mut self, charge: Charge, bytes: u64) {
        self.charge = Some(charge);
        self.add_charged(bytes);
    }

    /// Counts `bytes` more as charged and trims the charge to the count: what was charged ahead
    /// (an inflating step before it is inflated) beyond what arrived goes back.
    fn add_charged(&mut self, bytes: u64) {
        self.charged += bytes;
        if let Some(charge) = &mut self.charge {
            charge.shrink_to(self.charged);
        }
    }
}

impl<B> Drop for ChargedBody<B> {
    fn drop(&mut self) {
        if let Some(charge) = self.charge.take() {
            *self
                .handover
                .0
                .lock()
                .expect("a handover is set under no other lock") = Some((charge, self.charged));
        }
    }
}

impl<B> Body for ChargedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if let Some(growing) = &mut this.growing {
            let (charge, charged) = ready!(growing.as_mut().poll(cx));
            this.growing = None;
            this.charge = Some(charge);
            return Poll::Ready(match charged {
                Ok(()) => this.held.take().map(|frame| {
                    this.add_charged(charge_of(&frame));
                    Ok(frame)
                }),
                Err(error) => Some(Err(this.outcome.failed(&error))),
            });
        }
        let frame = match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(Status::from_error(error.into())))),
            None => return Poll::Ready(None),
        };
        let bytes = charge_of(&frame);
        let mut charge = this.charge.take().expect("no charge is growing here");
        match this.budget.try_grow(&mut charge, bytes) {
            // The usual case: room at once.
            Ok(()) => {
                this.charge = Some(charge);
                this.add_charged(bytes);
                Poll::Ready(Some(Ok(frame)))
            }
            // No room now: wait for it, as REST does, up to the budget's wait.
            Err(ApiError::Busy { .. }) => {
                let budget = this.budget.clone();
                this.held = Some(frame);
                this.growing = Some(Box::pin(async move {
                    let grown = budget.grow(&mut charge, bytes).await;
                    (charge, grown)
                }));
                Pin::new(this).poll_frame(cx)
            }
            Err(error) => {
                this.charge = Some(charge);
                Poll::Ready(Some(Err(this.outcome.failed(&error))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.growing.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What a frame is charged: its data, as REST charges a body's.
fn charge_of(frame: &Frame<Bytes>) -> u64 {
    frame.data_ref().map_or(0, |data| data.len() as u64) * CHARGE_PER_BODY_BYTE
}
