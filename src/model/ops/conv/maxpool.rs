//! A max pool for float32 2-D pools of channels-first images, replacing tract's where the
//! convolution's kernels run (`instructions::choose`): ResNet's 3x3 stride-2 pool after its first
//! convolution, which tract walks float by float along each strided row (2 % of ResNet-50's CPU
//! time at 8 concurrent requests).
//! This one lays each channel out in the convolution's phase planes (`layout.rs`), padded with the
//! lowest float, after which every tap of consecutive outputs is consecutive floats, and takes the
//! maximum of 16 outputs at a time (8 on AVX2).
//!
//! Its answers are tract's to the bit: it folds the taps in tract's order (kernel row, then
//! column) from tract's start (`f32::MIN`, which a padding tap never replaces) with tract's
//! comparison (a tap replaces the maximum only when greater: a NaN never does, and of two zeros
//! the first stays). A 2x2 pool stays tract's: tract takes it through `f32::max`, whose choice
//! between zeros is not that comparison's.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use tract_onnx::tract_core::ops::cnn::{MaxPool, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::layout::Geometry;
use super::{instructions, substitute::padding_beyond_kernel};
use crate::model::threads::current_pool;

/// Replaces every max pool this module runs in a decluttered model. Does nothing where no kernels
/// were chosen. A pool it cannot replace stays tract's: that is logged, never a failed load.
pub fn substitute(model: &mut TypedModel) -> TractResult<()> {
    super::patch_each(model, "max pool", replacement)
}

/// The widest kernel taken, per axis. With padding within the kernel's reach, the layout then
/// holds at most the input and three kernels' width per axis (a model file could otherwise ask
/// for a kernel, and so a padding, as large as it likes; tract walks it without laying it out).
/// CNNs pool over 3x3 kernels, YOLO's SPP up to 13x13.
const MAX_KERNEL: usize = 16;

/// The patch replacing node `id` if it is a max pool this module runs (whole before it is
/// applied, as `conv.rs`'s).
fn replacement(model: &TypedModel, id: usize) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let Some(pool) = node.op_as::<MaxPool>() else {
        return Ok(None);
    };
    let spec = &pool.pool_spec;
    let runs_here = pool.with_index_outputs.is_none()
        && matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        && spec.rank() == 2
        && spec.kernel_shape[..] != [2, 2]
        && spec.kernel_shape.iter().all(|k| (1..=MAX_KERNEL).contains(k))
        && spec.strides().iter().all(|&s| s >= 1)
        && spec.dilations().iter().all(|&d| d == 1)
        && !padding_beyond_kernel(spec)
        && model.outlet_fact(node.inputs[0])?.datum_type == f32::datum_type();
    if !runs_here {
        return Ok(None);
    }
    let op = DirectMaxPool {
        pool_spec: Arc::new(spec.clone()),
    };
    let mut patch = TypedModelPatch::new(format!("direct max pool {}", node.name));
    let input = patch.tap_model(model, node.inputs[0])?;
    let output = patch.wire_node(&node.name, op, &[input])?[0];
    patch.shunt_outside(model, OutletId::new(id, 0), output)?;
    Ok(Some(patch))
}

#[derive(Debug, Clone)]
pub struct DirectMaxPool {
    pool_spec: Arc<PoolSpec>,
}

op_by_identity!(DirectMaxPool, pool_spec, "DirectMaxPool");

impl DirectMaxPool {
    /// Where one channel of an image `spatial` in size is read from and written to.
    fn geometry(&self, spatial: &[usize]) -> Geometry {
        let kernel = [self.pool_spec.kernel_shape[0], self.pool_spec.kernel_shape[1]];
        Geometry::pooled(&self.pool_spec, kernel, 1, spatial)
    }
}

impl EvalOp for DirectMaxPool {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let rank = input.rank();
        ensure!(rank >= 3, "a max pool of channels-first images");
        let geometry = self.geometry(&input.shape()[rank - 2..]);
        let mut out_shape: TVec<usize> = input.shape().into();
        out_shape[rank - 2] = geometry.out_h;
        out_shape[rank - 1] = geometry.out_w;
        // SAFETY: f32 has no invalid bit patterns, and `pool` writes every element (every
        // output position of every plane).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape)? };
        let (in_plane, out_plane) = (geometry.in_h * geometry.in_w, geometry.out_h * geometry.out_w);
        if out_plane == 0 {
            return Ok(tvec!(output.into_tvalue()));
        }
        let pixels = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut view = output.try_as_plain_ram_mut()?;
        let answers = view.as_slice_mut::<f32>()?;
        let planes = answers.len() / out_plane;
        ensure!(pixels.len() == planes * in_plane);
        let geometry = &geometry;
        match current_pool() {
            // (Planes without pixels have no shares to cut.)
            Some(pool) if planes > 1 && in_plane > 0 => {
                let share = planes.div_ceil(pool.current_num_threads());
                pool.scope(|scope| {
                    let shares = pixels
                        .chunks(share * in_plane)
                        .zip(answers.chunks_mut(share * out_plane));
                    for (pixels, answers) in shares {
                        scope.spawn(move |_| pool_planes(geometry, pixels, answers));
                    }
                });
            }
            _ => pool_planes(geometry, pixels, answers),
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

/// Each plane of `pixels` (`in_h x in_w` floats) pooled into the next `out_h x out_w` of
/// `answers`.
fn pool_planes(geometry: &Geometry, pixels: &[f32], answers: &mut [f32]) {
    let in_plane = geometry.in_h * geometry.in_w;
    let mut laid_out = Vec::new();
    for (index, answers) in answers.chunks_mut(geometry.out_h * geometry.out_w).enumerate() {
        // Empty for a plane without pixels: its planes are all padding.
        let plane = &pixels[index * in_plane..(index + 1) * in_plane];
        geometry.lay_out_planes(plane, &mut laid_out, f32::MIN);
        pool(geometry, &laid_out, answers);
    }
}

/// One laid-out plane's maxima, row by row of the output.
fn pool(geometry: &Geometry, laid_out: &[f32], answers: &mut [f32]) {
    // The bounds the unchecked loads and stores below rely on: the last output's furthest tap
    // within `laid_out` (checked: a wrapped bound would pass), every output within `answers`.
    let furthest = geometry.offsets.iter().max().copied().unwrap_or(0);
    let last_read = (geometry.out_h.max(1) - 1)
        .checked_mul(geometry.plane_w)
        .and_then(|row| row.checked_add(furthest)?.checked_add(geometry.out_w));
    assert!(instructions::available());
    assert!(last_read.is_some_and(|end| laid_out.len() >= end));
    assert_eq!(Some(answers.len()), geometry.out_h.checked_mul(geometry.out_w));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the machine has the instructions run (asserted available, and `isa` names them),
    // and every access is within the bounds asserted.
    unsafe {
        match instructions::isa() {
            Some(instructions::Isa::Avx512) => pool_avx512(geometry, laid_out, answers),
            Some(instructions::Isa::Avx2) => super::avx2::pool(geometry, laid_out, answers),
            None => unreachable!("asserted available"),
        }
    }
}

/// # Safety
///
/// The machine has AVX-512F, `laid_out` holds every tap of every output (`pool` asserts it),
/// and `answers` one output plane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
// SAFETY: unsafe to call (the contract above); `pool` is its only caller and asserts it.
unsafe fn pool_avx512(geometry: &Geometry, laid_out: &[f32], answers: &mut [f32]) {
    let (plane_w, out_w) = (geometry.plane_w, geometry.out_w);
    for oy in 0..geometry.out_h {
        for first in (0..out_w).step_by(16) {
            let lanes = ((1u32 << (out_w - first).min(16)) - 1) as __mmask16;
            let at = oy * plane_w + first;
            let mut max = _mm512_set1_ps(f32::MIN);
            for &offset in &geometry.offsets {
                // SAFETY: output (oy, first + lane) of tap `offset` (`oy < out_h`, `first +
                // lane < out_w`) reads at most the last output's furthest tap, within
                // `laid_out` (asserted); masked-off lanes are not read.
                let taps = unsafe { _mm512_maskz_loadu_ps(lanes, laid_out.as_ptr().add(at + offset)) };
                // `taps` where greater, else `max`: tract's `if max < tap { tap }`.
                max = _mm512_max_ps(taps, max);
            }
            // SAFETY: positions `first..first + lanes` of row `oy`, within `answers`.
            unsafe { _mm512_mask_storeu_ps(answers.as_mut_ptr().add(oy * out_w + first), lanes, max) };
        }
    }
}

impl TypedOp for DirectMaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}
