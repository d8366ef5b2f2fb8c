//! Linear models computed directly: a graph that is only `X · W` (`MatMul`, then an optional
//! `Add` of a bias and an optional `Reshape` to `[N, K]`) or one `Gemm`, with constant weights.
//! Such graphs are common (scikit-learn's linear regressions as Azure's sample exports them,
//! PyTorch's `nn.Linear`), and tract runs them through its general matrix product: it packs the
//! whole input first, runs a generic kernel for float64 (no SIMD float64 kernel on x86), and adds
//! the bias in a second pass. For the sample's 228,000-row request that was a fifth of the
//! request's time; a plain dot product per row and output is several times faster, and for a
//! 2-row request it saves tract's per-run cost (a run state, tensors, a plan walk).
//!
//! It is kept only when it answers bit for bit as tract's plan on a probe batch (`verified`),
//! so the answers do not change with it: the accumulation order (and whether tract fuses the
//! multiply and the add) is the one that matched.

use tract_onnx::prelude::*;

use super::super::{Batch, Output, Predictions, Values};

mod load;
mod verify;

pub(super) use load::detect;

/// A linear graph's constants, in the input's element type.
#[derive(Debug, Clone)]
pub(super) enum Linear {
    F32(Affine<f32>),
    F64(Affine<f64>),
}

/// `y[n, k] = Σ_f x[n, f] · w[f, k] (+ b[k])`.
#[derive(Debug, Clone)]
pub(super) struct Affine<T> {
    features: usize,
    /// `w` by output: output `k`'s `features` weights are contiguous.
    columns: Vec<T>,
    /// Absent when the graph adds none: adding `0.0` would turn a `-0.0` into `0.0`.
    bias: Option<Vec<T>>,
    /// Whether each product is accumulated with a fused multiply-add (as tract's SIMD kernels
    /// do) or multiplied and then added (its generic kernels); chosen by `verified`.
    fused: bool,
}

/// The float types a linear graph is computed in.
pub(super) trait Real:
    Copy + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + Datum
{
    fn fused(self, times: Self, plus: Self) -> Self;
}

impl Real for f32 {
    fn fused(self, times: f32, plus: f32) -> f32 {
        self.mul_add(times, plus)
    }
}

impl Real for f64 {
    fn fused(self, times: f64, plus: f64) -> f64 {
        self.mul_add(times, plus)
    }
}

impl<T: Real> Affine<T> {
    fn outputs(&self) -> usize {
        self.columns.len() / self.features
    }

    /// The outputs of `rows` rows of `x` (row-major), or `None` when `x` is not that size.
    fn run(&self, x: &[T], rows: usize) -> Option<Vec<T>> {
        if rows.checked_mul(self.features) != Some(x.len()) {
            return None;
        }
        let mut y = vec![T::default(); rows * self.outputs()];
        // Two loops rather than a branch per product: the inner loop is the whole cost.
        if self.fused {
            self.dots(x, &mut y, |acc, a, w| a.fused(w, acc));
        } else {
            self.dots(x, &mut y, |acc, a, w| acc + a * w);
        }
        Some(y)
    }

    /// Every row's outputs into `y`. Each sum is taken in feature order (the order whose bits
    /// the probe checked), four rows at a time: four independent sums keep the multiply and add
    /// units busy where one sum waits on its previous add at every feature.
    #[inline(always)]
    fn dots(&self, x: &[T], y: &mut [T], step: impl Fn(T, T, T) -> T) {
        const ROWS: usize = 4;
        let (features, outputs) = (self.features, self.outputs());
        let mut x_blocks = x.chunks_exact(ROWS * features);
        let mut y_blocks = y.chunks_exact_mut(ROWS * outputs);
        for (xs, ys) in (&mut x_blocks).zip(&mut y_blocks) {
            for (k, column) in self.columns.chunks_exact(features).enumerate() {
                let mut sums = [T::default(); ROWS];
                for (f, &w) in column.iter().enumerate() {
                    for (r, sum) in sums.iter_mut().enumerate() {
                        *sum = step(*sum, xs[r * features + f], w);
                    }
                }
                for (r, sum) in sums.into_iter().enumerate() {
                    ys[r * outputs + k] = self.biased(sum, k);
                }
            }
        }
        let rest = x_blocks.remainder().chunks_exact(features);
        for (row, out) in rest.zip(y_blocks.into_remainder().chunks_exact_mut(outputs)) {
            for ((k, column), out) in self.columns.chunks_exact(features).enumerate().zip(out) {
                let sum = row
                    .iter()
                    .zip(column)
                    .fold(T::default(), |acc, (&a, &w)| step(acc, a, w));
                *out = self.biased(sum, k);
            }
        }
    }

    #[inline(always)]
    fn biased(&self, sum: T, k: usize) -> T {
        match &self.bias {
            Some(bias) => sum + bias[k],
            None => sum,
        }
    }
}

impl Linear {
    /// The predictions of `batch` (one input of this type), or `None` when it is not one. A
    /// batch of no rows is the plan's too: its answer's details (`per_row` 0) are the plan's.
    pub(super) fn predict(&self, batch: &Batch) -> Option<Predictions> {
        let ([values], [] | [_]) = (&batch.inputs[..], &batch.shapes[..]) else {
            return None;
        };
        if batch.rows == 0 {
            return None;
        }
        let (values, per_row) = match (self, values) {
            (Linear::F32(affine), Values::F32(x)) => {
                (Values::F32(affine.run(x, batch.rows)?), affine.outputs())
            }
            (Linear::F64(affine), Values::F64(x)) => {
                (Values::F64(affine.run(x, batch.rows)?), affine.outputs())
            }
            _ => return None,
        };
        Some(Predictions {
            rows: batch.rows,
            outputs: vec![Output {
                per_row,
                values,
                shape: vec![per_row],
            }],
        })
    }

    /// Both accumulations, for `verified` to keep the one that answers as tract.
    pub(super) fn variants(self) -> [Linear; 2] {
        let with = |fused| match &self {
            Linear::F32(a) => Linear::F32(Affine { fused, ..a.clone() }),
            Linear::F64(a) => Linear::F64(Affine { fused, ..a.clone() }),
        };
        [with(false), with(true)]
    }
}

#[cfg(test)]
mod tests;
