//! `transpose.rs` on AVX2: 8 x 8 floats at a time.

use std::arch::x86_64::*;

use super::super::across::CHANNELS;
use super::store;

/// Writes output channel `r`'s sums as `transpose::to_channels` describes.
///
/// # Safety
///
/// The machine has AVX2, `rows <= CHANNELS`, and `to` holds `rows` rows of `sums.len()` floats
/// `to_stride` apart.
#[target_feature(enable = "avx2")]
pub unsafe fn to_channels(sums: &[[f32; CHANNELS]], to: &mut [f32], to_stride: usize, rows: usize) {
    let to = to.as_mut_ptr();
    for (block, sums) in sums.chunks(8).enumerate() {
        let (first, count) = (8 * block, sums.len());
        for v in 0..rows.div_ceil(8) {
            // Positions past the block's read as zeros (and are not stored).
            let square: [__m256; 8] = std::array::from_fn(|p| match sums.get(p) {
                Some(sums) => {
                    // SAFETY: `sums` holds `CHANNELS` floats, `8 * v + 8` of them at most.
                    unsafe { _mm256_loadu_ps(sums[8 * v..].as_ptr()) }
                }
                None => _mm256_setzero_ps(),
            });
            for (j, channel) in transpose(square).iter().enumerate().take(rows - 8 * v) {
                // SAFETY: channel `8 * v + j < rows`, positions `first..first + count` of
                // `sums.len()` (masked-off lanes are not written): within `to` (the contract).
                unsafe { store(to.add((8 * v + j) * to_stride + first), count, *channel) };
            }
        }
    }
}

/// An 8 x 8 matrix of floats, one row per vector, transposed: pairs of floats, then of pairs
/// (within each half), then the halves exchanged.
#[target_feature(enable = "avx2")]
#[inline]
fn transpose(rows: [__m256; 8]) -> [__m256; 8] {
    let pairs: [__m256; 8] = std::array::from_fn(|k| {
        let (a, b) = (rows[k & !1], rows[k | 1]);
        if k % 2 == 0 {
            _mm256_unpacklo_ps(a, b)
        } else {
            _mm256_unpackhi_ps(a, b)
        }
    });
    // Column `c` of rows 0-3 then of rows 4-7 at `quads[c % 4]` (low half: c < 4) and
    // `quads[4 + c % 4]`.
    let mut quads = [_mm256_setzero_ps(); 8];
    for base in [0, 4] {
        quads[base] = _mm256_shuffle_ps::<0x44>(pairs[base], pairs[base + 2]);
        quads[base + 1] = _mm256_shuffle_ps::<0xEE>(pairs[base], pairs[base + 2]);
        quads[base + 2] = _mm256_shuffle_ps::<0x44>(pairs[base + 1], pairs[base + 3]);
        quads[base + 3] = _mm256_shuffle_ps::<0xEE>(pairs[base + 1], pairs[base + 3]);
    }
    std::array::from_fn(|c| {
        let (low, high) = (quads[c % 4], quads[4 + c % 4]);
        if c < 4 {
            _mm256_permute2f128_ps::<0x20>(low, high)
        } else {
            _mm256_permute2f128_ps::<0x31>(low, high)
        }
    })
}
