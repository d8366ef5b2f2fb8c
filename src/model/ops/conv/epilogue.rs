//! What the direct convolution does to its sums before writing them: the element-wise operations
//! that followed it in the graph (the bias, a batch normalisation's scale and shift, a residual
//! connection, the ReLU), in the graph's order, as tract fuses them into its matrix product. The
//! same operations in the same order, so the answers stay tract's to the bit.

/// One operation on every answer of output channel `c`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `x * k[c]`.
    Mul(Vec<f32>),
    /// `x + k[c]`.
    Add(Vec<f32>),
    /// `x + r`, `r` the element at the same place in the op's second input.
    AddInput,
    /// `max(x, 0)`.
    Relu,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Mul(_) => "mul",
            Step::Add(_) => "add",
            Step::AddInput => "add input",
            Step::Relu => "relu",
        }
    }
}

/// Applies `steps` to `answers` of output `channel`; `residual` holds the second input's elements
/// at the same places.
pub fn apply(steps: &[Step], channel: usize, answers: &mut [f32], residual: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use super::instructions::{isa, Isa};
        match isa() {
            // SAFETY: the machine has AVX-512 (`isa` names it).
            Some(Isa::Avx512) => return unsafe { apply_avx512(steps, channel, answers, residual) },
            // SAFETY: the machine has AVX2 (`isa` names it).
            Some(Isa::Avx2) => return unsafe { apply_avx2(steps, channel, answers, residual) },
            None => {}
        }
    }
    apply_any(steps, channel, answers, residual)
}

/// The same loops compiled for AVX2, where the machine has no AVX-512: 8 floats a step where the
/// crate's baseline (SSE2) takes 4.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn apply_avx2(steps: &[Step], channel: usize, answers: &mut [f32], residual: &[f32]) {
    apply_any(steps, channel, answers, residual)
}

/// The same loops compiled for AVX-512: the epilogue was a tenth of ResNet-50's run with the
/// crate's baseline (SSE2) vectors, a pass per step over every output.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn apply_avx512(steps: &[Step], channel: usize, answers: &mut [f32], residual: &[f32]) {
    apply_any(steps, channel, answers, residual)
}

#[inline(always)]
fn apply_any(steps: &[Step], channel: usize, answers: &mut [f32], residual: &[f32]) {
    for step in steps {
        match step {
            Step::Mul(k) => {
                let k = k[channel];
                answers.iter_mut().for_each(|x| *x *= k)
            }
            Step::Add(k) => {
                let k = k[channel];
                answers.iter_mut().for_each(|x| *x += k)
            }
            Step::AddInput => answers.iter_mut().zip(residual).for_each(|(x, r)| *x += r),
            Step::Relu => answers.iter_mut().for_each(|x| *x = x.max(0.0)),
        }
    }
}
