//! The TfIdfVectorizer's evaluation: counts each row's n-grams of the pool (skipping up to
//! `max_skip_count` tokens between items, 1-grams counted once) and weights the counts by `mode`
//! with each n-gram's weight.

use super::pool::{Pool, UNKNOWN};

/// What the output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The counts.
    Tf,
    /// The weight where the count is positive (1 without weights).
    Idf,
    /// The count times the weight.
    TfIdf,
}

#[derive(Debug)]
pub struct Counter {
    pub pool: Pool,
    pub lengths: (usize, usize),
    pub max_skip: usize,
    pub mode: Mode,
    /// By output column (the weight of the n-gram counted there).
    pub weights: Option<Vec<f32>>,
    pub width: usize,
}

impl Counter {
    /// Adds the n-grams of one row of token ids to `counts` (the row's output columns); `sample`
    /// is scratch space.
    pub fn count(&self, ids: &[u32], counts: &mut [u32], sample: &mut Vec<u32>) {
        let (mut shortest, longest) = self.lengths;
        if shortest == 1 {
            for &id in ids {
                if let Some(column) = self.pool.unigram(id) {
                    counts[column] += 1;
                }
            }
            if longest == 1 {
                return;
            }
            shortest = 2;
        }
        for skip in 1..=self.max_skip + 1 {
            for start in 0..ids.len() {
                if start + skip * (shortest - 1) >= ids.len() {
                    break;
                }
                sample.clear();
                for at in (start..ids.len()).step_by(skip).take(longest) {
                    if ids[at] == UNKNOWN {
                        break;
                    }
                    sample.push(ids[at]);
                    if sample.len() >= shortest {
                        if let Some(&column) = self.pool.ngrams.get(sample.as_slice()) {
                            counts[column] += 1;
                        }
                    }
                }
            }
        }
    }

    /// One output value from a count and its column.
    pub fn weigh(&self, count: u32, column: usize) -> f32 {
        let weight = self.weights.as_ref().map(|w| w[column]);
        match (self.mode, weight) {
            (Mode::Tf, _) | (Mode::TfIdf, None) => count as f32,
            (Mode::Idf, Some(w)) => {
                if count > 0 {
                    w
                } else {
                    0.0
                }
            }
            (Mode::Idf, None) => {
                if count > 0 {
                    1.0
                } else {
                    0.0
                }
            }
            (Mode::TfIdf, Some(w)) => count as f32 * w,
        }
    }
}
