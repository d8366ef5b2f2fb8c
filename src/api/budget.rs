//! The memory budget for work in flight: request bodies and the tensors decoded from them are
//! charged against one budget, so that a burst of large requests waits or is turned away (429,
//! as Azure ML's front end answers an overloaded deployment, and retries) instead of growing the
//! process past its container's memory limit, where an OOM kill would drop every request.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ApiError;
use crate::model::{Answered, Batch, Codec, Predictions, Predictor, Values};

/// The budget is counted in KiB so that one charge of up to 4 TiB fits a semaphore's `u32`.
const UNIT: u64 = 1024;

/// How long a request waits for room before it is answered 429: short, because the client (or
/// Azure ML's front end) retries, and a waiting request holds its connection.
pub const INFLIGHT_WAIT: Duration = Duration::from_secs(1);

/// The bytes of request bodies and decoded tensors held at once, at most.
pub struct InflightBudget {
    permits: Arc<Semaphore>,
    bytes: u64,
    /// The body limit, named in the 413 for a request larger than the whole budget.
    max_body_bytes: usize,
    wait: Duration,
}

/// A request's share of the budget, given back when dropped.
pub struct Charge {
    permit: Option<OwnedSemaphorePermit>,
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT)
}

impl InflightBudget {
    pub fn new(bytes: u64, max_body_bytes: usize, wait: Duration) -> Self {
        let units = units(bytes).clamp(1, u64::from(u32::MAX));
        InflightBudget {
            permits: Arc::new(Semaphore::new(units as usize)),
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
        self.permits.available_permits() as u64 * UNIT
    }

    /// Adds `bytes` to `charge`, waiting for room up to the budget's wait: 413 when the charge
    /// could never fit, 429 when no room came in time.
    pub async fn grow(&self, charge: &mut Charge, bytes: u64) -> Result<(), ApiError> {
        let wanted = self.wanted(charge, bytes)?;
        if wanted == 0 {
            return Ok(());
        }
        // The usual case, room at once, without setting up the wait.
        if let Ok(permit) = self.permits.clone().try_acquire_many_owned(wanted) {
            charge.merge(permit);
            return Ok(());
        }
        let acquire = self.permits.clone().acquire_many_owned(wanted);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => {
                charge.merge(permit);
                Ok(())
            }
            _ => Err(self.busy()),
        }
    }

    /// Adds `bytes` to `charge` if there is room now (for a correction made where nothing can
    /// wait): 429 otherwise.
    pub fn try_grow(&self, charge: &mut Charge, bytes: u64) -> Result<(), ApiError> {
        let wanted = self.wanted(charge, bytes)?;
        if wanted == 0 {
            return Ok(());
        }
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(wanted)
            .map_err(|_| self.busy())?;
        charge.merge(permit);
        Ok(())
    }

    /// The units to add for `bytes` more, or 413 when the total could never fit.
    fn wanted(&self, charge: &Charge, bytes: u64) -> Result<u32, ApiError> {
        let held = charge.units();
        let total = u64::from(held) + units(bytes);
        if total * UNIT > self.bytes.max(UNIT) {
            return Err(ApiError::OverBudget {
                needed: total * UNIT,
                budget: self.bytes,
                max_body_bytes: self.max_body_bytes,
            });
        }
        Ok((total - u64::from(held)) as u32)
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
        Charge { permit: None }
    }

    fn units(&self) -> u32 {
        self.permit.as_ref().map_or(0, |p| p.num_permits() as u32)
    }

    fn merge(&mut self, permit: OwnedSemaphorePermit) {
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
    }

    /// Gives back all but `bytes`, so that waiting requests get the room sooner.
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = units(bytes).min(u64::from(self.units())) as usize;
        if let Some(held) = &mut self.permit {
            let surplus = held.num_permits() - keep;
            drop(held.split(surplus));
        }
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn charges_wait_for_room_then_answer_429_and_give_room_back_when_dropped() {
        let budget = InflightBudget::new(10 * UNIT, 100, Duration::from_millis(50));
        let mut first = Charge::none();
        budget.grow(&mut first, 6 * UNIT).await.unwrap();
        assert_eq!(budget.available(), 4 * UNIT);
        let mut second = Charge::none();
        let busy = budget.grow(&mut second, 6 * UNIT).await.unwrap_err();
        assert_eq!(busy.status(), 429);
        assert!(budget.try_grow(&mut second, 6 * UNIT).is_err());
        first.shrink_to(2 * UNIT);
        assert_eq!(budget.available(), 8 * UNIT);
        budget.try_grow(&mut second, 6 * UNIT).unwrap();
        drop(first);
        drop(second);
        assert_eq!(budget.available(), 10 * UNIT);
    }

    #[tokio::test]
    async fn a_charge_larger_than_the_whole_budget_is_413_at_once() {
        let budget = InflightBudget::new(10 * UNIT, 100, Duration::from_secs(60));
        let mut charge = Charge::none();
        budget.grow(&mut charge, 4 * UNIT).await.unwrap();
        let error = budget.grow(&mut charge, 7 * UNIT).await.unwrap_err();
        assert_eq!(error.status(), 413);
        let message = error.to_string();
        assert!(message.contains("AML_SCORER_MAX_INFLIGHT_BYTES"), "{message}");
        assert!(message.contains("AML_SCORER_MAX_BODY_BYTES"), "{message}");
    }
}
