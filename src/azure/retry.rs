//! Retries for the identity endpoint: connection errors, timeouts, 404, 408, 410, 429 and 5xx are
//! retried with exponential backoff and full jitter (honouring `Retry-After`) until the budget is
//! spent; any other 4xx is final at once.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

/// The least time the attempt made at the deadline gets to answer.
const LAST_ATTEMPT: Duration = Duration::from_millis(500);

/// How long to keep trying, and how fast.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total time from the first attempt after which no new attempt starts (IMDS may answer 410
    /// for up to 70 s while it starts, so the default is above that).
    pub budget: Duration,
    /// Longest wait for one answer.
    pub attempt_timeout: Duration,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn with_budget(budget: Duration) -> Self {
        RetryPolicy {
            budget,
            attempt_timeout: Duration::from_secs(5),
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(8),
        }
    }

    /// The backoff before attempt `n + 1` (0-based): `initial * 2^n` capped, with jitter in
    /// the upper half so that retries from many replicas spread out.
    fn backoff(&self, n: u32) -> Duration {
        let exponential = self
            .initial_delay
            .saturating_mul(1u32 << n.min(16))
            .min(self.max_delay);
        let half = exponential / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The outcome of one attempt.
pub enum Attempt {
    Success(Vec<u8>),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Refused {
        status: u16,
        body: Vec<u8>,
    },
}

impl Attempt {
    /// Classifies an HTTP answer (or the failure to get one).
    pub async fn from_result(result: Result<reqwest::Response, reqwest::Error>) -> Attempt {
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Retry {
                    reason: describe_transport_error(&error),
                    retry_after: None,
                }
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(error) => {
                return Attempt::Retry {
                    reason: describe_transport_error(&error),
                    retry_after: None,
                }
            }
        };
        match status {
            200..=299 => Attempt::Success(body),
            404 | 408 | 410 | 429 | 500..=599 => Attempt::Retry {
                reason: format!("HTTP {status}"),
                retry_after,
            },
            _ => Attempt::Refused { status, body },
        }
    }
}

/// Why the loop gave up.
pub enum Failure {
    Refused {
        status: u16,
        body: Vec<u8>,
    },
    Exhausted {
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
}

/// Runs `attempt` until it succeeds, is refused, or the budget is spent.
pub async fn fetch_with_retries<F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<Vec<u8>, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt>,
{
    let started = Instant::now();
    let deadline = started + policy.budget;
    let mut attempts = 0;
    loop {
        attempts += 1;
        // An attempt does not run much past the budget, so a silent endpoint cannot stretch it;
        // the last one, at the deadline, still gets a short while to answer.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt_timeout = policy.attempt_timeout.min(remaining.max(LAST_ATTEMPT));
        let outcome = tokio::time::timeout(attempt_timeout, attempt())
            .await
            .unwrap_or_else(|_| Attempt::Retry {
                reason: format!("no answer within {} ms", attempt_timeout.as_millis()),
                retry_after: None,
            });
        let (reason, retry_after) = match outcome {
            Attempt::Success(body) => return Ok(body),
            Attempt::Refused { status, body } => return Err(Failure::Refused { status, body }),
            Attempt::Retry { reason, retry_after } => (reason, retry_after),
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::Exhausted {
                attempts,
                elapsed: started.elapsed(),
                last: reason,
            });
        }
        // The whole budget is used: a wait that would overshoot it ends at the deadline instead,
        // for one last attempt there.
        let wait = retry_after
            .unwrap_or_else(|| policy.backoff(attempts - 1))
            .min(remaining);
        tracing::warn!(attempt = attempts, %reason, wait_ms = wait.as_millis() as u64, "identity endpoint not answering with a token yet; retrying");
        tokio::time::sleep(wait).await;
    }
}

/// A transport error in words, without the URL (whose query is harmless, but keep logs short).
fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        let mut text = "request failed".to_owned();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let policy = RetryPolicy::with_budget(Duration::from_secs(70));
        for n in 0..20 {
            let wait = policy.backoff(n);
            let full = policy
                .initial_delay
                .saturating_mul(1 << n.min(16))
                .min(policy.max_delay);
            assert!(wait >= full / 2 && wait <= full, "attempt {n}: {wait:?}");
        }
    }
}
