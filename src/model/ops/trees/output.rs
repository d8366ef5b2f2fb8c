//! onnxruntime's rules for a row's outputs: base values, aggregates, post transforms and the
//! binary classifiers' one-score forms, reproduced literally (including where they surprise, so
//! that answers match it).

use super::ensemble::{Aggregate, Ensemble, Head};
use super::float::Float;
use super::transform::{logistic, probit, Transform};

/// A running score: onnxruntime's `ScoreValue` (a score counts only once something set it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Acc<T> {
    pub(super) score: T,
    pub(super) has: bool,
}

impl<T: Float> Acc<T> {
    pub(super) const EMPTY: Self = Acc {
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

impl<T: Float> Ensemble<T> {
    /// Writes one row's outputs; returns its class index (0 for a regressor).
    pub(super) fn finish(&self, acc: &mut [Acc<T>], out: &mut [f32]) -> usize {
        let trees = T::from_count(self.forest.trees());
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
fn write<T: Float>(acc: &[Acc<T>], out: &mut [f32]) {
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a.written();
    }
}
