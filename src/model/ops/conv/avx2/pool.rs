//! `maxpool.rs`'s and `layout.rs`'s vector loops on AVX2: 8 floats at a time.

use std::arch::x86_64::*;

use super::super::layout::Geometry;
use super::{load, store};

/// One laid-out plane's maxima, as `maxpool::pool` describes.
///
/// # Safety
///
/// The machine has AVX2, `laid_out` holds every tap of every output (`pool` asserts it), and
/// `answers` one output plane.
#[target_feature(enable = "avx2")]
pub unsafe fn pool(geometry: &Geometry, laid_out: &[f32], answers: &mut [f32]) {
    let (plane_w, out_w) = (geometry.plane_w, geometry.out_w);
    for oy in 0..geometry.out_h {
        for first in (0..out_w).step_by(8) {
            let count = out_w - first;
            let at = oy * plane_w + first;
            let mut max = _mm256_set1_ps(f32::MIN);
            for &offset in &geometry.offsets {
                // SAFETY: output (oy, first + lane) of tap `offset` reads at most the last
                // output's furthest tap, within `laid_out` (the contract); masked-off lanes are
                // not read.
                let taps = unsafe { load(laid_out.as_ptr().add(at + offset), count) };
                // `taps` where greater, else `max`: tract's `if max < tap { tap }`.
                max = _mm256_max_ps(taps, max);
            }
            // SAFETY: positions `first..first + count.min(8)` of row `oy`, within `answers`.
            unsafe { store(answers.as_mut_ptr().add(oy * out_w + first), count, max) };
        }
    }
}

/// `layout::copy_strided` for a stride of 2: 8 floats picked out of 16 by a shuffle and a
/// permutation, the last few one by one.
///
/// # Safety
///
/// The machine has AVX2, and `from` holds `2 * (to.len() - 1) + 1` floats or more.
#[target_feature(enable = "avx2")]
pub unsafe fn copy_every_second(to: &mut [f32], from: &[f32]) {
    // Whole vectors while `from` holds all 16 floats of them.
    let vectors = (to.len() / 8).min(from.len() / 16);
    for index in 0..vectors {
        // SAFETY: floats `16 * index..16 * index + 16 <= from.len()` read, `8 * index..8 *
        // index + 8 <= to.len()` written.
        unsafe {
            let low = _mm256_loadu_ps(from.as_ptr().add(16 * index));
            let high = _mm256_loadu_ps(from.as_ptr().add(16 * index + 8));
            // [l0 l2 h0 h2 | l4 l6 h4 h6], then its pairs in the order 0, 2, 1, 3.
            let evens = _mm256_shuffle_ps::<0x88>(low, high);
            let evens = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(evens)));
            _mm256_storeu_ps(to.as_mut_ptr().add(8 * index), evens);
        }
    }
    for (i, to) in to.iter_mut().enumerate().skip(8 * vectors) {
        *to = from[2 * i];
    }
}
