//! The access log's default policy: every error and every slow request gets its own line (in
//! `observe`), and the rest are counted here and summarised in one line per interval (requests,
//! errors, rows, latency quantiles). At thousands of requests a second a line per request is
//! gigabytes a day of log ingestion saying "200"; the summary keeps what an operator reads.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

/// Sub-buckets per power of two of the latency histogram: quantiles within 12.5 %.
const SUB_BUCKETS: u64 = 8;
/// Buckets for 0 us to 2^40 us (12 days): the first `SUB_BUCKETS` are one microsecond each.
const BUCKETS: usize = (SUB_BUCKETS as usize) * 38;

/// Counts of one interval, kept with relaxed atomics: a request adds to them without a lock.
pub struct AccessSummary {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    slow: AtomicU64,
    rows: AtomicU64,
    max_us: AtomicU64,
    /// Lines of their own (errors, slow requests) left out by the per-second cap.
    lines_left_out: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    window_started: std::sync::Mutex<Instant>,
}

/// One interval's counts, taken (and reset) by `AccessSummary::take`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub seconds: f64,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub slow: u64,
    pub rows: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub lines_left_out: u64,
}

impl Default for AccessSummary {
    fn default() -> Self {
        AccessSummary {
            requests: AtomicU64::new(0),
            client_errors: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
            lines_left_out: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            window_started: std::sync::Mutex::new(Instant::now()),
        }
    }
}

/// The histogram bucket of `us` microseconds: linear below `SUB_BUCKETS`, then `SUB_BUCKETS`
/// equal steps per power of two.
fn bucket(us: u64) -> usize {
    if us < SUB_BUCKETS {
        return us as usize;
    }
    let octave = u64::from(63 - us.leading_zeros()) - SUB_BUCKETS.trailing_zeros() as u64;
    let step = (us >> octave) & (SUB_BUCKETS - 1);
    ((SUB_BUCKETS * (octave + 1) + step) as usize).min(BUCKETS - 1)
}

/// The largest value of bucket `index`, in microseconds.
fn bucket_top(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let octave = index / SUB_BUCKETS - 1;
    let step = index % SUB_BUCKETS;
    ((SUB_BUCKETS + step + 1) << octave) - 1
}

impl AccessSummary {
    /// Counts one finished request.
    pub fn record(&self, status: u16, rows: usize, duration: Duration, slow: bool) {
        let us = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.requests.fetch_add(1, Relaxed);
        self.latency[bucket(us)].fetch_add(1, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
        if rows > 0 {
            self.rows.fetch_add(rows as u64, Relaxed);
        }
        match status {
            400..=499 => self.client_errors.fetch_add(1, Relaxed),
            500.. => self.server_errors.fetch_add(1, Relaxed),
            _ => 0,
        };
        if slow {
            self.slow.fetch_add(1, Relaxed);
        }
    }

    /// Counts an error or slow request whose line the per-second cap left out.
    pub fn line_left_out(&self) {
        self.lines_left_out.fetch_add(1, Relaxed);
    }

    /// The counts since the last call, reset to zero. Requests finishing meanwhile land in one
    /// window or the next, never in none.
    pub fn take(&self) -> Window {
        let seconds = {
            let mut started = self
                .window_started
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let seconds = started.elapsed().as_secs_f64();
            *started = Instant::now();
            seconds
        };
        let counts: Vec<u64> = self.latency.iter().map(|b| b.swap(0, Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let max_us = self.max_us.swap(0, Relaxed);
        // A bucket's top, but never above the slowest request seen.
        let quantile = |q: f64| {
            let wanted = ((total as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (index, count) in counts.iter().enumerate() {
                seen += count;
                if seen >= wanted {
                    return bucket_top(index).min(max_us) as f64 / 1000.0;
                }
            }
            0.0
        };
        Window {
            seconds,
            requests: self.requests.swap(0, Relaxed),
            client_errors: self.client_errors.swap(0, Relaxed),
            server_errors: self.server_errors.swap(0, Relaxed),
            slow: self.slow.swap(0, Relaxed),
            rows: self.rows.swap(0, Relaxed),
            p50_ms: quantile(0.5),
            p99_ms: quantile(0.99),
            max_ms: max_us as f64 / 1000.0,
            lines_left_out: self.lines_left_out.swap(0, Relaxed),
        }
    }

    /// Logs the interval's summary, if anything was served in it.
    pub fn report(&self) {
        let window = self.take();
        if window.requests == 0 {
            return;
        }
        let Window {
            seconds,
            requests,
            client_errors,
            server_errors,
            slow,
            rows,
            p50_ms,
            p99_ms,
            max_ms,
            lines_left_out,
        } = window;
        tracing::info!(
            window_s = (seconds * 10.0).round() / 10.0,
            requests,
            client_errors,
            server_errors,
            slow,
            rows,
            p50_ms,
            p99_ms,
            max_ms,
            lines_left_out,
            "requests summary"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_falls_in_a_bucket_whose_top_is_within_an_eighth() {
        for us in (0..5000).chain([65_535, 1 << 30, u64::MAX / 4]) {
            let index = bucket(us);
            let top = bucket_top(index);
            assert!(top >= us || index == BUCKETS - 1, "{us} -> {index} top {top}");
            assert!(
                index == 0 || bucket_top(index - 1) < us || index == BUCKETS - 1,
                "{us}"
            );
            assert!(top as f64 <= (us as f64) * 1.125 + 1.0, "{us} -> {top}");
        }
    }

    #[test]
    fn a_window_counts_requests_errors_and_quantiles_then_resets() {
        let summary = AccessSummary::default();
        for ms in 1..=100u64 {
            summary.record(200, 2, Duration::from_millis(ms), false);
        }
        summary.record(400, 0, Duration::from_micros(50), false);
        summary.record(503, 0, Duration::from_micros(50), false);
        summary.record(200, 1, Duration::from_secs(3), true);
        let window = summary.take();
        assert_eq!(window.requests, 103);
        assert_eq!(
            (window.client_errors, window.server_errors, window.slow),
            (1, 1, 1)
        );
        assert_eq!(window.rows, 201);
        assert!((50.0..=57.0).contains(&window.p50_ms), "{window:?}");
        assert!((99.0..=112.0).contains(&window.p99_ms), "{window:?}");
        assert_eq!(window.max_ms, 3000.0);
        assert_eq!(summary.take().requests, 0);
    }
}
