//! Evaluating an ensemble: rows in blocks with the tree loop outside (each tree's nodes stay in
//! cache for the whole block), votes aggregated per row in tree order; `output` then applies
//! onnxruntime's rules to each row.

use super::float::Float;
use super::forest::Forest;
use super::output::Acc;
use super::transform::Transform;

/// Rows evaluated together against each tree.
const BLOCK_ROWS: usize = 64;

/// The most regression targets a model may declare (`n_targets`): each row of a block holds a
/// running score per target, allocated before any vote is read.
pub const MAX_TARGETS: usize = 65_536;

/// ONNX `aggregate_function` (classifiers always sum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

impl Aggregate {
    pub fn parse(name: &str) -> Option<Aggregate> {
        Some(match name {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Average,
            "MIN" => Aggregate::Min,
            "MAX" => Aggregate::Max,
            _ => return None,
        })
    }
}

/// What the votes become: regression targets, or class scores and a label.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    Regressor {
        targets: usize,
        aggregate: Aggregate,
    },
    Classifier {
        classes: usize,
        /// Two classes, and every vote for the same class id.
        binary: bool,
        /// No vote weight is negative (forests rather than boosting).
        all_positive: bool,
    },
}

impl Head {
    /// Output scores per row.
    pub fn width(&self) -> usize {
        match *self {
            Head::Regressor { targets, .. } => targets,
            Head::Classifier { classes, .. } => classes,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble<T> {
    pub forest: Forest<T>,
    pub head: Head,
    pub base: Vec<T>,
    pub transform: Transform,
}

impl<T: Float> Ensemble<T> {
    /// Scores per row (`width()` each) and, for a classifier, each row's class index. Rows are
    /// `row_width` wide, which is more than the forest's `max_feature()` (so never 0).
    pub fn run(&self, rows: &[T], row_width: usize, scores: &mut [f32], labels: &mut [usize]) {
        let width = self.width();
        // One block's running scores, no larger than the request: a wide model (up to
        // `MAX_TARGETS` a row) scoring one row needs one row of them, not `BLOCK_ROWS`.
        let block_rows = (rows.len() / row_width).min(BLOCK_ROWS);
        let mut acc = vec![Acc::EMPTY; block_rows * width];
        for (block_at, block) in rows.chunks(BLOCK_ROWS * row_width).enumerate() {
            let count = block.len() / row_width;
            acc[..count * width].fill(Acc::EMPTY);
            self.accumulate(block, row_width, &mut acc[..count * width]);
            for r in 0..count {
                let row = block_at * BLOCK_ROWS + r;
                let out = &mut scores[row * width..(row + 1) * width];
                let label = self.finish(&mut acc[r * width..(r + 1) * width], out);
                if let Some(slot) = labels.get_mut(row) {
                    *slot = label;
                }
            }
        }
    }

    /// Output scores per row.
    pub fn width(&self) -> usize {
        self.head.width()
    }

    fn accumulate(&self, block: &[T], row_width: usize, acc: &mut [Acc<T>]) {
        let forest = &self.forest;
        let per_row = self.width();
        match self.head {
            Head::Regressor {
                targets: 1,
                aggregate,
            } => {
                // One target: the leaf's first vote, held in the node.
                let apply = match aggregate {
                    Aggregate::Sum | Aggregate::Average => sum_one,
                    Aggregate::Min => min_one,
                    Aggregate::Max => max_one,
                };
                forest.walk(block, row_width, |r, leaf| apply(&mut acc[r], leaf.value));
            }
            Head::Regressor { aggregate, .. } => {
                let apply = match aggregate {
                    Aggregate::Sum | Aggregate::Average => sum_vote,
                    Aggregate::Min => min_vote,
                    Aggregate::Max => max_vote,
                };
                forest.walk(block, row_width, |r, leaf| {
                    for vote in forest.votes(leaf) {
                        apply(&mut acc[r * per_row + vote.target as usize], vote.weight);
                    }
                });
            }
            Head::Classifier { .. } => forest.walk(block, row_width, |r, leaf| {
                for vote in forest.votes(leaf) {
                    sum_vote(&mut acc[r * per_row + vote.target as usize], vote.weight);
                }
            }),
        }
    }
}

fn sum_one<T: Float>(a: &mut Acc<T>, weight: T) {
    a.score = a.score + weight;
}

fn min_one<T: Float>(a: &mut Acc<T>, weight: T) {
    if !a.has || weight < a.score {
        a.score = weight;
    }
    a.has = true;
}

fn max_one<T: Float>(a: &mut Acc<T>, weight: T) {
    if !a.has || weight > a.score {
        a.score = weight;
    }
    a.has = true;
}

fn sum_vote<T: Float>(a: &mut Acc<T>, weight: T) {
    a.score = a.score + weight;
    a.has = true;
}

fn min_vote<T: Float>(a: &mut Acc<T>, weight: T) {
    min_one(a, weight);
}

fn max_vote<T: Float>(a: &mut Acc<T>, weight: T) {
    max_one(a, weight);
}
