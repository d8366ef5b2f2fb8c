//! Evaluating an ensemble: rows in blocks with the tree loop outside (each tree's nodes stay in
//! cache for the whole block), votes aggregated per row in tree order, then onnxruntime's rules
//! for base values, post transforms and binary classifiers, reproduced literally (including
//! where they surprise, so that answers match it).

use super::forest::{Equal, Forest, Gt, Gte, Leq, Lt, Mixed, Mode, Node, NotEqual, Test};
use super::score::{logistic, probit, Score, Transform};

/// Rows evaluated together against each tree.
const BLOCK_ROWS: usize = 64;

/// Rows that walk a tree side by side.
const LANES: usize = 8;

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

#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble<T> {
    pub forest: Forest<T>,
    pub head: Head,
    pub base: Vec<T>,
    pub transform: Transform,
}

/// A running score: onnxruntime's `ScoreValue` (a score counts only once something set it).
#[derive(Debug, Clone, Copy)]
struct Acc<T> {
    score: T,
    has: bool,
}

impl<T: Score> Acc<T> {
    const EMPTY: Self = Acc {
        score: T::ZERO,
        has: false,
    };

    /// The value onnxruntime writes: the score if set, else zero.
    fn written(self) -> f32 {
        if self.has {
            self.score.to_f32()
        } else {
            0.0
        }
    }
}

impl<T: Score> Ensemble<T> {
    /// Scores per row (`width()` each) and, for a classifier, each row's class index.
    pub fn run(&self, rows: &[T], row_width: usize, scores: &mut [f32], labels: &mut [usize]) {
        // The traversal reads features without bounds checks: this keeps it sound.
        assert!(
            row_width > self.forest.max_feature,
            "rows of {row_width} features for trees that read feature {}",
            self.forest.max_feature
        );
        let width = self.width();
        let per_row = self.width();
        let mut acc = vec![Acc::EMPTY; BLOCK_ROWS * per_row];
        for (block_at, block) in rows.chunks(BLOCK_ROWS * row_width).enumerate() {
            let count = block.len() / row_width;
            acc[..count * per_row].fill(Acc::EMPTY);
            self.accumulate(block, row_width, &mut acc[..count * per_row]);
            for r in 0..count {
                let row = block_at * BLOCK_ROWS + r;
                let out = &mut scores[row * width..(row + 1) * width];
                let label = self.finish(&mut acc[r * per_row..(r + 1) * per_row], out);
                if let Some(slot) = labels.get_mut(row) {
                    *slot = label;
                }
            }
        }
    }

    /// Output scores per row.
    pub fn width(&self) -> usize {
        match self.head {
            Head::Regressor { targets, .. } => targets,
            Head::Classifier { classes, .. } => classes,
        }
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
                walk(forest, block, row_width, |r, leaf| apply(&mut acc[r], leaf.value));
            }
            Head::Regressor { aggregate, .. } => {
                let apply = match aggregate {
                    Aggregate::Sum | Aggregate::Average => sum_vote,
                    Aggregate::Min => min_vote,
                    Aggregate::Max => max_vote,
                };
                walk(forest, block, row_width, |r, leaf| {
                    for vote in votes(forest, leaf) {
                        apply(&mut acc[r * per_row + vote.target as usize], vote.weight);
                    }
                });
            }
            Head::Classifier { .. } => walk(forest, block, row_width, |r, leaf| {
                for vote in votes(forest, leaf) {
                    sum_vote(&mut acc[r * per_row + vote.target as usize], vote.weight);
                }
            }),
        }
    }

    /// Writes one row's outputs; returns its class index (0 for a regressor).
    fn finish(&self, acc: &mut [Acc<T>], out: &mut [f32]) -> usize {
        let trees = T::from_count(self.forest.roots.len());
        match self.head {
            Head::Regressor {
                targets: 1,
                aggregate,
            } => {
                let origin = if self.base.len() == 1 {
                    self.base[0]
                } else {
                    T::ZERO
                };
                let a = acc[0];
                let score = match aggregate {
                    Aggregate::Sum => a.score + origin,
                    Aggregate::Average => a.score / trees + origin,
                    Aggregate::Min | Aggregate::Max if a.has => a.score + origin,
                    Aggregate::Min | Aggregate::Max => origin,
                };
                // A single target takes PROBIT only; onnxruntime ignores the other transforms.
                out[0] = match self.transform {
                    Transform::Probit => probit(score.to_f32()),
                    _ => score.to_f32(),
                };
                0
            }
            Head::Regressor { aggregate, .. } => {
                let base = (self.base.len() == acc.len()).then_some(&self.base);
                for (k, a) in acc.iter_mut().enumerate() {
                    let b = base.map_or(T::ZERO, |b| b[k]);
                    a.score = match aggregate {
                        Aggregate::Sum => a.score + b,
                        Aggregate::Average => a.score / trees + b,
                        Aggregate::Min | Aggregate::Max if a.has => b + a.score,
                        Aggregate::Min | Aggregate::Max => b,
                    };
                }
                write(acc, out);
                self.transform.apply(out);
                0
            }
            Head::Classifier { classes: 2, .. } => self.finish_binary(acc, out),
            Head::Classifier { .. } => {
                for (a, b) in acc.iter_mut().zip(&self.base) {
                    a.score = if a.has { a.score + *b } else { *b };
                    a.has = true;
                }
                write(acc, out);
                self.transform.apply(out);
                // The first class with the highest raw score, among those that have one.
                let mut best: Option<(usize, T)> = None;
                for (k, a) in acc.iter().enumerate() {
                    if a.has && best.is_none_or(|(_, score)| a.score > score) {
                        best = Some((k, a.score));
                    }
                }
                best.map_or(0, |(k, _)| k)
            }
        }
    }

    /// Two classes, with onnxruntime's rules for one class id (one score, its complement
    /// derived) and for base values.
    fn finish_binary(&self, acc: &mut [Acc<T>], out: &mut [f32]) -> usize {
        let (binary, all_positive) = match self.head {
            Head::Classifier {
                binary, all_positive, ..
            } => (binary, all_positive),
            Head::Regressor { .. } => unreachable!("a classifier's rule"),
        };
        #[derive(PartialEq)]
        enum Second {
            /// Positive weights: the second probability is the score, the first its complement.
            Complement,
            /// Mixed weights: the score and its negation (through LOGISTIC when set).
            Mirror,
            None,
        }
        let mut second = Second::None;
        let mut scores = 2;
        match self.base.len() {
            2 if acc[1].has => {
                // onnxruntime reads class 0's sum here (it assumes the votes are for class 0).
                acc[1].score = self.base[1] + acc[0].score;
                acc[0].score = -acc[1].score;
            }
            2 => {
                acc[1].score = acc[1].score + self.base[1];
                acc[0].score = acc[0].score + self.base[0];
            }
            1 => {
                acc[0].score = acc[0].score + self.base[0];
                if !acc[1].has {
                    scores = 1;
                }
            }
            0 => {
                second = Second::Mirror;
                if !acc[1].has {
                    scores = 1;
                }
            }
            _ => {}
        }
        let positive = if scores == 2 && acc[1].has {
            acc[1].score
        } else if acc[0].has {
            acc[0].score
        } else {
            T::ZERO
        };
        let label = if binary && all_positive {
            second = Second::Complement;
            usize::from(positive > T::from_f32(0.5))
        } else {
            if binary {
                second = Second::Mirror;
            }
            usize::from(positive > T::ZERO)
        };
        if scores == 2 {
            write(acc, out);
            self.transform.apply(out);
            return label;
        }
        let s = acc[0].written();
        let (first, other) = match (self.transform, second) {
            (Transform::Probit, _) => (probit(s), 0.0),
            // onnxruntime's code reads as if LOGISTIC were skipped here; 1.32 applies it.
            (Transform::Logistic, Second::Complement) => (1.0 - logistic(s), logistic(s)),
            (_, Second::Complement) => (1.0 - s, s),
            (Transform::Logistic, Second::Mirror) => (logistic(-s), logistic(s)),
            (_, Second::Mirror) => (-s, s),
            (_, Second::None) => (s, 0.0),
        };
        out[0] = first;
        out[1] = other;
        label
    }
}

fn write<T: Score>(acc: &[Acc<T>], out: &mut [f32]) {
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a.written();
    }
}

fn votes<'f, T>(forest: &'f Forest<T>, leaf: &Node<T>) -> &'f [super::forest::Vote<T>] {
    let first = leaf.jump as usize;
    &forest.votes[first..first + usize::from(leaf.count)]
}

fn sum_one<T: Score>(a: &mut Acc<T>, weight: T) {
    a.score = a.score + weight;
}

fn min_one<T: Score>(a: &mut Acc<T>, weight: T) {
    if !a.has || weight < a.score {
        a.score = weight;
    }
    a.has = true;
}

fn max_one<T: Score>(a: &mut Acc<T>, weight: T) {
    if !a.has || weight > a.score {
        a.score = weight;
    }
    a.has = true;
}

fn sum_vote<T: Score>(a: &mut Acc<T>, weight: T) {
    a.score = a.score + weight;
    a.has = true;
}

fn min_vote<T: Score>(a: &mut Acc<T>, weight: T) {
    min_one(a, weight);
}

fn max_vote<T: Score>(a: &mut Acc<T>, weight: T) {
    max_one(a, weight);
}

/// Calls `visit(row, leaf)` for every tree (outer loop) and row of the block (inner loop), with
/// the traversal loop specialised for the forest's node mode and missing-value tracking.
fn walk<T: Score, F: FnMut(usize, &Node<T>)>(forest: &Forest<T>, block: &[T], row_width: usize, visit: F) {
    fn each<T: Score, M: Test, const MISSING: bool, F: FnMut(usize, &Node<T>)>(
        forest: &Forest<T>,
        block: &[T],
        row_width: usize,
        mut visit: F,
    ) {
        let rows = block.len() / row_width;
        let side_by_side = rows - rows % LANES;
        for (&root, &depth) in forest.roots.iter().zip(&forest.depths) {
            // LANES rows walk the tree together, one level at a time for its whole depth (a row
            // at a leaf stays there): no branch depends on the data, and the rows' loads overlap.
            // Twice as fast as walking each row alone, whose exit branch is unpredictable.
            for first in (0..side_by_side).step_by(LANES) {
                let lanes: [&[T]; LANES] =
                    std::array::from_fn(|k| &block[(first + k) * row_width..(first + k + 1) * row_width]);
                let mut at = [root as usize; LANES];
                for _ in 0..depth {
                    for k in 0..LANES {
                        at[k] = forest.step::<M, MISSING>(at[k], lanes[k]);
                    }
                }
                for (k, leaf) in at.iter().enumerate() {
                    visit(first + k, &forest.nodes[*leaf]);
                }
            }
            for r in side_by_side..rows {
                let row = &block[r * row_width..(r + 1) * row_width];
                visit(r, forest.leaf::<M, MISSING>(root as usize, row));
            }
        }
    }
    match (forest.same_mode, forest.has_missing) {
        (Some(Mode::Leq), false) => each::<T, Leq, false, F>(forest, block, row_width, visit),
        (Some(Mode::Leq), true) => each::<T, Leq, true, F>(forest, block, row_width, visit),
        (Some(Mode::Lt), false) => each::<T, Lt, false, F>(forest, block, row_width, visit),
        (Some(Mode::Lt), true) => each::<T, Lt, true, F>(forest, block, row_width, visit),
        (Some(Mode::Gte), _) => each::<T, Gte, true, F>(forest, block, row_width, visit),
        (Some(Mode::Gt), _) => each::<T, Gt, true, F>(forest, block, row_width, visit),
        (Some(Mode::Eq), _) => each::<T, Equal, true, F>(forest, block, row_width, visit),
        (Some(Mode::Neq), _) => each::<T, NotEqual, true, F>(forest, block, row_width, visit),
        _ => each::<T, Mixed, true, F>(forest, block, row_width, visit),
    }
}
