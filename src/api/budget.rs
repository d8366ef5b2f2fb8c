//! The memory budget for work in flight: request bodies and the tensors decoded from them are
//! charged against one budget, so that a burst of large requests waits or is turned away (429,
//! as Azure ML's front end answers an overloaded deployment, and retries) instead of growing the
//! process past its container's memory limit, where an OOM kill would drop every request.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::sync::Notify;

use super::ApiError;
use crate::model::{Answered, Batch, Codec, Predictions, Predictor, Values};

/// How long a request waits for room before it is answered 429: short, because the client (or
/// Azure ML's front end) retries, and a waiting request holds its connection.
pub const INFLIGHT_WAIT: Duration = Duration::from_secs(1);

/// The bytes of request bodies and decoded tensors held at once, at most.
///
/// Room is not handed out in arrival order: a request that fits the room left takes it, even
/// while a larger one waits. In a queue (a fair semaphore), every byte given back went to the
/// request at its head, and small requests arriving behind a burst of large ones were answered
/// 429 when the burst's waits outlasted theirs. The cost falls on the largest requests: a waiting
/// one takes its room only when that much is free at once as it looks (it looks again each time
/// room comes back), so under sustained traffic the largest requests are the ones answered 429,
/// which clients and Azure ML's front end retry.
pub struct InflightBudget {
    room: Arc<Room>,
    bytes: u64,
    /// The body limit, named in the 413 for a request larger than the whole budget.
    max_body_bytes: usize,
    wait: Duration,
}

/// The bytes not charged to any request, and a signal to the waiting ones when some come back.
/// (Sequentially consistent throughout: a waiter counts itself in `waiting` and then looks at
/// `free`, a give-back adds to `free` and then looks at `waiting`, so at least one of the two
/// sees the other's write, and no waiter misses room given back while it was looking.)
struct Room {
    free: AtomicU64,
    /// Requests waiting for room, so that a give-back with none waiting skips the signal (and its
    /// lock): the usual case, every request's charge dropped with nothing queued.
    waiting: AtomicUsize,
    given_back: Notify,
}

impl Room {
    fn try_take(&self, bytes: u64) -> bool {
        self.free
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |free| free.checked_sub(bytes))
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        if bytes > 0 {
            self.free.fetch_add(bytes, Ordering::SeqCst);
            if self.waiting.load(Ordering::SeqCst) > 0 {
                // Every waiter looks again: any of them may fit now.
                self.given_back.notify_waiters();
            }
        }
    }
}

/// One request counted in `Room::waiting` until dropped (a wait given up or cancelled too).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request's share of the budget, given back when dropped.
pub struct Charge {
    room: Option<Arc<Room>>,
    bytes: u64,
}

impl InflightBudget {
    pub fn new(bytes: u64, max_body_bytes: usize, wait: Duration) -> Self {
        let room = Room {
            free: AtomicU64::new(bytes.max(1)),
            waiting: AtomicUsize::new(0),
            given_back: Notify::new(),
        };
        InflightBudget {
            room: Arc::new(room),
            bytes,
            max_body_bytes,
            wait,
        }
    }

    /// The whole budget, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes not charged to any request right now.
    pub fn available(&self) -> u64 {
        self.room.free.load(Ordering::SeqCst)
    }

    /// Adds `bytes` to `charge`, waiting for room up to the budget's wait: 413 when the charge
    /// could never fit, 429 when no room came in time.
    pub async fn grow(&self, charge: &mut Charge, bytes: u64) -> Result<(), ApiError> {
        let wanted = self.wanted(charge, bytes)?;
        if wanted == 0 {
            return Ok(());
        }
        // The usual case, room at once, without setting up the wait.
        if self.room.try_take(wanted) {
            charge.add(&self.room, wanted);
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        let _waiting = Waiting::count(&self.room.waiting);
        loop {
            // Listening before looking: room given back between the two still wakes this one.
            let given_back = self.room.given_back.notified();
            tokio::pin!(given_back);
            given_back.as_mut().enable();
            if self.room.try_take(wanted) {
                charge.add(&self.room, wanted);
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, given_back).await.is_err() {
                return Err(self.busy());
            }
        }
    }

    /// Adds `bytes` to `charge` if there is room now (for a correction made where nothing can
    /// wait): 429 otherwise.
    pub fn try_grow(&self, charge: &mut Charge, bytes: u64) -> Result<(), ApiError> {
        let wanted = self.wanted(charge, bytes)?;
        if wanted == 0 {
            return Ok(());
        }
        if !self.room.try_take(wanted) {
            return Err(self.busy());
        }
        charge.add(&self.room, wanted);
        Ok(())
    }

    /// The bytes to add for `bytes` more (none when they are 0), or 413 when the total could never fit.
    fn wanted(&self, charge: &Charge, bytes: u64) -> Result<u64, ApiError> {
        // Before anything is taken: bytes taken from this budget and then refused would be lost.
        if let Some(room) = &charge.room {
            assert!(Arc::ptr_eq(room, &self.room), "one charge, one budget");
        }
        let total = charge.bytes.saturating_add(bytes);
        if total > self.bytes.max(1) {
            return Err(ApiError::OverBudget {
                needed: total,
                budget: self.bytes,
                max_body_bytes: self.max_body_bytes,
            });
        }
        Ok(total - charge.bytes)
    }

    fn busy(&self) -> ApiError {
        ApiError::Busy {
            budget: self.bytes,
            retry_after_s: self.wait.as_secs().max(1),
        }
    }
}

impl Charge {
    /// Nothing charged yet.
    pub fn none() -> Self {
        Charge { room: None, bytes: 0 }
    }

    fn add(&mut self, room: &Arc<Room>, bytes: u64) {
        // `wanted` has checked that a charge already held is this budget's.
        self.room.get_or_insert_with(|| room.clone());
        self.bytes += bytes;
    }

    /// Gives back all but `bytes`, so that waiting requests get the room sooner.
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = bytes.min(self.bytes);
        if let Some(room) = &self.room {
            room.give_back(self.bytes - keep);
            self.bytes = keep;
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.shrink_to(0);
    }
}

/// A codec whose request keeps its charge until its answer is encoded, corrected to the real
/// size of the decoded tensors once they exist.
pub(crate) struct Charged<C> {
    pub codec: C,
    pub charge: Charge,
    pub budget: Arc<InflightBudget>,
}

impl<C: Codec<Error = ApiError>> Codec for Charged<C> {
    type Answer = C::Answer;
    type Error = ApiError;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        let batch = self.codec.decode(body, model)?;
        let held = body.len() + batch.inputs.iter().map(Values::bytes).sum::<usize>();
        // What preprocessing will decode (images), from their headers, before it runs.
        let held = held.saturating_add(usize::try_from(model.decoded_bytes(&batch)?).unwrap_or(usize::MAX));
        let charged = body.len() as u64 * super::body::CHARGE_PER_BODY_BYTE;
        match (held as u64).checked_sub(charged) {
            // Decoding runs where nothing may wait: the rest is taken only if there is room.
            Some(more) => self.budget.try_grow(&mut self.charge, more)?,
            None => self.charge.shrink_to(held as u64),
        }
        Ok(batch)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<C::Answer, ApiError> {
        self.codec.encode(predictions, model)
    }

    fn answered(&self, model: &dyn Predictor) -> Answered {
        self.codec.answered(model)
    }

    fn feature_names(&self, body: &[u8], model: &dyn Predictor) -> Option<Vec<String>> {
        self.codec.feature_names(body, model)
    }
}

#[cfg(test)]
mod tests;
