//! Reading a request body whole: within the body limit, the body deadline and the minimum rate,
//! and charged to the in-flight memory budget before it is held.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::Instant;

use super::budget::{Charge, InflightBudget};
use super::{compression, ApiError, AppState};

/// How much body a request may send, and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// The whole body must arrive within this time, so that a client trickling bytes cannot
    /// hold a connection and its buffer forever.
    pub timeout: Duration,
    /// Bytes per second a body must average once `RATE_GRACE` has passed (0: no minimum), so
    /// that a trickle is cut long before the whole-body deadline.
    pub min_rate: u64,
}

/// How long a body may take before its rate is checked: the first bytes of a fresh connection
/// are slow (TCP slow start), as Kestrel's minimum data rate allows the same 5 s.
const RATE_GRACE: Duration = Duration::from_secs(5);

/// The memory charged per body byte before decoding: the body itself, and as much again for
/// the tensors decoded from it (a number in JSON takes about as many bytes as its value in
/// memory). The charge is corrected to the real tensor sizes once they are decoded.
pub(crate) const CHARGE_PER_BODY_BYTE: u64 = 2;

/// Reads the whole body of a scoring request, inflated when its `Content-Encoding` is gzip or
/// deflate (415 for any other): the body limit and the in-flight budget then count the inflated
/// bytes, as they are inflated.
pub(super) async fn read_request_body(
    headers: &HeaderMap,
    body: Body,
    state: &AppState,
) -> Result<(Bytes, Charge), ApiError> {
    let encoding = compression::request_encoding(headers)?;
    let (bytes, mut charge) = read_body(body, state.body, &state.budget, expects_continue(headers)).await?;
    let Some(encoding) = encoding else {
        return Ok((bytes, charge));
    };
    let inflated =
        compression::inflate(encoding, bytes, state.body.max_bytes, &state.budget, &mut charge).await?;
    Ok((inflated, charge))
}

/// Reads the whole body, refusing more than `limits.max_bytes`: at once when the declared
/// length is over it (nothing is read), else as soon as the bytes read pass it. The body's
/// charge is taken before it is read (from the declared length) or as it arrives.
///
/// Not `axum::body::to_bytes`: it keeps every frame until the end and then copies them into a
/// new buffer, holding the body twice; here each frame is copied into one buffer sized from the
/// declared length and dropped at once (faster and half the peak memory: BENCHMARKS.md,
/// "Measured choices in the code"). A body that arrives in one frame is kept as it is.
pub(super) async fn read_body(
    body: Body,
    limits: BodyLimits,
    budget: &InflightBudget,
    expects_continue: bool,
) -> Result<(Bytes, Charge), ApiError> {
    let declared = http_body::Body::size_hint(&body).upper();
    if declared.is_some_and(|len| len > limits.max_bytes as u64) {
        return Err(ApiError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut body = Limited::new(body, limits.max_bytes);
    let read = read_charged(&mut body, declared, limits, budget).await;
    if let Err(ApiError::Busy { .. }) = &read {
        // Closing on a client still sending its body resets the connection, and the client
        // sees that instead of the 429 it could retry: take the rest (discarding it) first,
        // unless the client waits for `100 Continue` and so has sent nothing.
        if !expects_continue {
            discard(&mut body).await;
        }
    }
    read
}

/// True when the client waits for `100 Continue` before it sends its body.
pub(super) fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The longest a refused body is read (and discarded) so that its client sees the answer.
const DISCARD_TIME: Duration = Duration::from_secs(5);

async fn discard(body: &mut Limited<Body>) {
    let deadline = Instant::now() + DISCARD_TIME;
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, body.frame()).await {}
}

/// `read_body` after the declared length's check: the charge, then the bytes.
async fn read_charged(
    body: &mut Limited<Body>,
    declared: Option<u64>,
    limits: BodyLimits,
    budget: &InflightBudget,
) -> Result<(Bytes, Charge), ApiError> {
    let limit = limits.max_bytes;
    let started = Instant::now();
    let mut charge = Charge::none();
    if let Some(len) = declared {
        budget.grow(&mut charge, len * CHARGE_PER_BODY_BYTE).await?;
    }
    let failed = |error: axum::BoxError| match error.downcast::<LengthLimitError>() {
        Ok(_) => ApiError::TooLarge { limit },
        Err(error) => ApiError::UnreadableBody(axum::Error::new(error)),
    };
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    let mut received = 0u64;
    loop {
        let deadline = frame_deadline(started, received, limits);
        let Ok(frame) = tokio::time::timeout_at(deadline, body.frame()).await else {
            return Err(timed_out(started, limits));
        };
        let Some(frame) = frame else {
            break;
        };
        let Ok(data) = frame.map_err(failed)?.into_data() else {
            continue;
        };
        received += data.len() as u64;
        if declared.is_none() {
            budget
                .grow(&mut charge, data.len() as u64 * CHARGE_PER_BODY_BYTE)
                .await?;
        }
        match first.take() {
            Some(previous) => {
                buffer.reserve(declared.map_or(previous.len() + data.len(), |len| len as usize));
                buffer.extend_from_slice(&previous);
                buffer.extend_from_slice(&data);
            }
            None if buffer.is_empty() => first = Some(data),
            None => buffer.extend_from_slice(&data),
        }
    }
    Ok((first.unwrap_or_else(|| Bytes::from(buffer)), charge))
}

/// When the next frame must have arrived: the whole-body deadline, or earlier when the bytes so
/// far would fall under the minimum rate (after the grace period).
fn frame_deadline(started: Instant, received: u64, limits: BodyLimits) -> Instant {
    let whole = started + limits.timeout;
    if limits.min_rate == 0 {
        return whole;
    }
    let earned = Duration::from_secs_f64(received as f64 / limits.min_rate as f64);
    whole.min(started + earned.max(RATE_GRACE))
}

/// The 408 for a body that stopped short: which bound fired.
fn timed_out(started: Instant, limits: BodyLimits) -> ApiError {
    if started.elapsed() >= limits.timeout {
        ApiError::BodyTimeout {
            timeout_ms: limits.timeout.as_millis() as u64,
        }
    } else {
        ApiError::BodyTooSlow {
            min_rate: limits.min_rate,
        }
    }
}
