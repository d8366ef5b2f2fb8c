//! The cap on the access log's lines of their own (errors, slow requests): a flood of bad
//! requests must not turn into a flood of log lines. Lines are counted by the second they are
//! written in, not by when their request started: a slow request started seconds ago, and
//! counting it in its start's second would open a fresh second for every line after it.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Instant,
};

/// Lines of their own (errors, slow requests) per second at most with the default policy: a
/// flood of bad requests must not turn into a flood of log lines. The summary counts them all,
/// and how many lines were left out.
const MAX_LINES_PER_SECOND: u64 = 100;

/// The lines written in the current second.
pub struct LineCap {
    epoch: Instant,
    /// The second being counted (since `epoch`) in the high half, the lines written in it in the
    /// low half: one word, so that a new second and its count change together.
    second_and_lines: AtomicU64,
}

impl Default for LineCap {
    fn default() -> Self {
        LineCap {
            epoch: Instant::now(),
            second_and_lines: AtomicU64::new(0),
        }
    }
}

impl LineCap {
    /// Whether one more line may be written now; if so, it is counted.
    pub fn may_write_now(&self) -> bool {
        let second = self.epoch.elapsed().as_secs().min(u64::from(u32::MAX));
        self.second_and_lines
            .fetch_update(Relaxed, Relaxed, |window| one_more_line(window, second))
            .is_ok()
    }
}

/// The count after one more line written in `second`, or `None` when that second's lines are
/// all written. A second before the counted one (a writer that read the clock just before
/// another) counts in the counted one.
fn one_more_line(second_and_lines: u64, second: u64) -> Option<u64> {
    let (counted, lines) = (second_and_lines >> 32, second_and_lines & u64::from(u32::MAX));
    if second > counted {
        return Some(second << 32 | 1);
    }
    (lines < MAX_LINES_PER_SECOND).then_some(second_and_lines + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines written one after another in `seconds`, as `may_write_now` counts them: whether
    /// each may be written.
    fn admitted(seconds: &[u64]) -> Vec<bool> {
        let mut window = 0;
        seconds
            .iter()
            .map(|&second| match one_more_line(window, second) {
                Some(next) => {
                    window = next;
                    true
                }
                None => false,
            })
            .collect()
    }

    #[test]
    fn a_second_takes_100_lines_and_the_next_second_100_more() {
        let seconds: Vec<u64> = [vec![3; 101], vec![4; 101]].concat();
        let admitted = admitted(&seconds);
        assert_eq!(admitted.iter().filter(|&&a| a).count(), 200);
        assert!(
            !admitted[100] && !admitted[201],
            "the 101st line of a second is left out"
        );
    }

    #[test]
    fn a_line_that_read_an_earlier_second_counts_in_the_current_one() {
        let seconds: Vec<u64> = [vec![5; 100], vec![4, 5, 4]].concat();
        assert_eq!(&admitted(&seconds)[100..], [false, false, false]);
    }
}
