//! `across.rs`'s sums, position by position (64 output channels each), written as the output's
//! rows, channel by channel: 16 x 16 floats at a time (8 x 8 in `avx2/transpose.rs`), transposed in
//! registers. Written float by float (a strided store each), this was a sixth of the time of
//! ResNet-50's 1x1 convolutions on 7x7 and 14x14 images.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::across::CHANNELS;
#[cfg(target_arch = "x86_64")]
use super::instructions::Isa;

/// Writes output channel `r`'s sums (`sums[p][r]` for every position `p`) at
/// `to[r * to_stride..][..sums.len()]`, for the first `rows` channels.
pub fn to_channels(sums: &[[f32; CHANNELS]], to: &mut [f32], to_stride: usize, rows: usize) {
    let written = (rows.max(1) - 1)
        .checked_mul(to_stride)
        .and_then(|w| w.checked_add(sums.len()));
    // The bounds the unchecked stores below rely on.
    assert!(super::instructions::available() && rows <= CHANNELS);
    assert!(written.is_some_and(|end| to.len() >= end));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the machine has the instructions run (asserted available, and `isa` names them),
    // and every store is within the bounds asserted.
    unsafe {
        match super::instructions::isa() {
            Some(Isa::Avx512) => to_channels_avx512(sums, to, to_stride, rows),
            Some(Isa::Avx2) => super::avx2::to_channels(sums, to, to_stride, rows),
            None => unreachable!("asserted available"),
        }
    }
}

/// # Safety
///
/// The machine has AVX-512F, `rows <= CHANNELS`, and `to` holds `rows` rows of `sums.len()`
/// floats `to_stride` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
// SAFETY: unsafe to call (the contract above); `to_channels` is its only caller and asserts it.
unsafe fn to_channels_avx512(sums: &[[f32; CHANNELS]], to: &mut [f32], to_stride: usize, rows: usize) {
    let to = to.as_mut_ptr();
    for (block, sums) in sums.chunks(16).enumerate() {
        let count = sums.len();
        let first = 16 * block;
        let mask = ((1u32 << count) - 1) as __mmask16;
        for v in 0..rows.div_ceil(16) {
            // Positions past `count` read as zeros (and are not stored): a loop of constant
            // length keeps the 16 vectors in registers.
            let mut square = [_mm512_setzero_ps(); 16];
            for (p, row) in square.iter_mut().enumerate() {
                if let Some(sums) = sums.get(p) {
                    *row = _mm512_loadu_ps(sums[16 * v..].as_ptr());
                }
            }
            let square = transpose(square);
            for (j, channel) in square.iter().enumerate().take(rows - 16 * v) {
                // SAFETY: channel `16 * v + j < rows`, positions `first..first + count` of
                // `sums.len()` (masked-off lanes are not written): within `to` (the contract).
                unsafe {
                    let at = to.add((16 * v + j) * to_stride + first);
                    _mm512_mask_storeu_ps(at, mask, *channel);
                }
            }
        }
    }
}

/// A 16 x 16 matrix of floats, one row per vector, transposed: pairs of floats, then of pairs,
/// then lanes of 4 and of 8 exchanged in turn.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose(rows: [__m512; 16]) -> [__m512; 16] {
    let mut a = [_mm512_setzero_ps(); 16];
    let mut b = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        a[2 * k] = _mm512_unpacklo_ps(rows[2 * k], rows[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_ps(rows[2 * k], rows[2 * k + 1]);
    }
    for k in (0..16).step_by(4) {
        b[k] = _mm512_shuffle_ps::<0x44>(a[k], a[k + 2]);
        b[k + 1] = _mm512_shuffle_ps::<0xEE>(a[k], a[k + 2]);
        b[k + 2] = _mm512_shuffle_ps::<0x44>(a[k + 1], a[k + 3]);
        b[k + 3] = _mm512_shuffle_ps::<0xEE>(a[k + 1], a[k + 3]);
    }
    for k in [0, 8] {
        for j in 0..4 {
            a[k + j] = _mm512_shuffle_f32x4::<0x88>(b[k + j], b[k + 4 + j]);
            a[k + 4 + j] = _mm512_shuffle_f32x4::<0xDD>(b[k + j], b[k + 4 + j]);
        }
    }
    for j in 0..8 {
        b[j] = _mm512_shuffle_f32x4::<0x88>(a[j], a[8 + j]);
        b[8 + j] = _mm512_shuffle_f32x4::<0xDD>(a[j], a[8 + j]);
    }
    b
}
