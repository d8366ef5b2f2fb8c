//! onnxruntime's post transforms, computed in float32 with its formulas (its PROBIT uses an
//! approximate inverse error function, which we match).

/// ONNX `post_transform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

impl Transform {
    pub fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "NONE" => Transform::None,
            "LOGISTIC" => Transform::Logistic,
            "SOFTMAX" => Transform::Softmax,
            "SOFTMAX_ZERO" => Transform::SoftmaxZero,
            "PROBIT" => Transform::Probit,
            _ => return None,
        })
    }

    /// The ml-opset-5 numbering as onnxruntime reads it: 1 is LOGISTIC and 2 SOFTMAX (its own
    /// enum's order), where the ONNX spec lists SOFTMAX first; answers follow onnxruntime.
    pub fn from_v5(code: i64) -> Option<Transform> {
        Some(match code {
            0 => Transform::None,
            1 => Transform::Logistic,
            2 => Transform::Softmax,
            3 => Transform::SoftmaxZero,
            4 => Transform::Probit,
            _ => return None,
        })
    }

    /// Transforms two or more scores in place (onnxruntime's `write_scores` for several values).
    pub fn apply(self, scores: &mut [f32]) {
        match self {
            Transform::None => {}
            Transform::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
            Transform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
            Transform::Softmax => softmax(scores),
            Transform::SoftmaxZero => softmax_zero(scores),
        }
    }
}

pub fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 {
        1.0 - v
    } else {
        v
    }
}

/// `sqrt(2) * erfinv(2x - 1)` with onnxruntime's approximation of `erfinv`.
pub fn probit(x: f32) -> f32 {
    std::f32::consts::SQRT_2 * erf_inv(2.0 * x - 1.0)
}

// 3.14159 is onnxruntime's constant, not π rounded to float32: the answers must match its.
#[allow(clippy::approx_constant)]
fn erf_inv(x: f32) -> f32 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let log = x.ln();
    let v = 2.0 / (3.14159_f32 * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147_f32 * log;
    let v3 = -v + (v * v - v2).sqrt();
    sign * v3.sqrt()
}

fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(-f32::MAX, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// Softmax that keeps (near) zero scores at zero, as onnxruntime's SOFTMAX_ZERO.
fn softmax_zero(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(-f32::MAX, f32::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        if *s > 0.000_000_1 || *s < -0.000_000_1 {
            *s = (*s - max).exp();
            sum += *s;
        } else {
            *s *= exp_neg_max;
        }
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}
