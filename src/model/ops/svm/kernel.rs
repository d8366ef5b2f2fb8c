//! The kernel of a support vector machine and the pairwise-coupling probabilities of libsvm, in
//! float32 as onnxruntime computes them.

use super::super::trees::logistic;

/// ONNX `kernel_type` with its `kernel_params` (gamma, coef0, degree).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    Linear,
    Poly { gamma: f32, coef0: f32, degree: f32 },
    Rbf { gamma: f32 },
    Sigmoid { gamma: f32, coef0: f32 },
}

impl Kernel {
    pub fn parse(name: &str, params: &[f32]) -> Option<Kernel> {
        let param = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let (gamma, coef0, degree) = (param(0), param(1), param(2));
        Some(match name {
            "LINEAR" => Kernel::Linear,
            "POLY" => Kernel::Poly { gamma, coef0, degree },
            "RBF" => Kernel::Rbf { gamma },
            "SIGMOID" => Kernel::Sigmoid { gamma, coef0 },
            _ => return None,
        })
    }

    /// `k(x, v)` for one row and one support vector (or coefficient row), plus `offset` for the
    /// linear kernel (onnxruntime adds the intercept inside the same product there).
    pub fn apply(self, x: &[f32], v: &[f32], offset: f32) -> f32 {
        let dot = || x.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
        match self {
            Kernel::Linear => dot() + offset,
            Kernel::Poly { gamma, coef0, degree } => {
                let base = gamma * dot() + coef0;
                match degree {
                    2.0 => base * base,
                    3.0 => base * base * base,
                    _ => base.powf(degree),
                }
            }
            Kernel::Rbf { gamma } => {
                let distance: f32 = x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
                (-gamma * distance).exp()
            }
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}

/// libsvm's probability of the first class of a pair from its decision value.
pub fn sigmoid_probability(score: f32, a: f32, b: f32) -> f32 {
    1.0 - logistic(score * a + b)
}

/// libsvm's pairwise coupling (Wu, Lin and Weng): class probabilities from the pairwise
/// probabilities `r` (`classes x classes`, row-major), as onnxruntime computes it in float32.
pub fn multiclass_probability(classes: usize, r: &[f32], p: &mut [f32]) {
    let k = classes;
    let mut q = vec![0f32; k * k];
    let mut qp = vec![0f32; k];
    let eps = 0.005 / k as f32;
    for i in 0..k {
        p[i] = 1.0 / k as f32;
        for j in 0..i {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = q[j * k + i];
        }
        for j in i + 1..k {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = -r[j * k + i] * r[i * k + j];
        }
    }
    for _ in 0..100 {
        let mut pqp = 0.0;
        for i in 0..k {
            qp[i] = (0..k).map(|j| q[i * k + j] * p[j]).sum();
            pqp += p[i] * qp[i];
        }
        let max_error = (0..k).map(|i| (qp[i] - pqp).abs()).fold(0.0, f32::max);
        if max_error < eps {
            break;
        }
        for i in 0..k {
            let diff = (-qp[i] + pqp) / q[i * k + i];
            p[i] += diff;
            pqp = (pqp + diff * (diff * q[i * k + i] + 2.0 * qp[i])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[i * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}
