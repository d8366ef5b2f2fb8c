//! `across.rs`'s tile on AVX2: 64 output channels by up to 6 positions, run as 4 sub-tiles of 16
//! channels (2 vectors of 8): 12 accumulators, 2 weight vectors and a broadcast fit the 16
//! registers. Each step (a channel's tap) is 2 loads and up to 6 broadcasts for up to 12
//! multiply-adds.

use std::arch::x86_64::*;

use super::super::across::{Tile, CHANNELS, WEIGHTS_AHEAD};

/// Output channels per sub-tile: 2 vectors.
const SUB_CHANNELS: usize = 16;

/// Writes the tile's sums as `across::Tile::run` describes.
///
/// # Safety
///
/// The machine has AVX2 and FMA, `POSITIONS_HERE == tile.at.len() == out.len()`, and the bounds
/// `across::Tile::run` asserts hold.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn run_tile<const POSITIONS_HERE: usize>(tile: &Tile, out: &mut [[f32; CHANNELS]]) {
    let (next_weights, next_lines) = (tile.next_weights.as_ptr(), tile.next_weights.len().div_ceil(16));
    let at: [*const f32; POSITIONS_HERE] =
        std::array::from_fn(|p| tile.input.as_ptr().wrapping_add(tile.at[p]));
    // Wrapping: these feed prefetches alone, which never fault.
    let ahead = tile.reads.channel_stride().wrapping_mul(4);
    let mut line = 0;
    for first in (0..CHANNELS).step_by(SUB_CHANNELS) {
        let mut sums = [[_mm256_setzero_ps(); 2]; POSITIONS_HERE];
        // SAFETY: every read is within the bounds `run` asserted: each step of each position,
        // `CHANNELS` weights per step (16 of them from `first`).
        unsafe {
            let mut weight = tile.weights.as_ptr().add(first);
            for &step in tile.reads.offsets() {
                let w = [_mm256_loadu_ps(weight), _mm256_loadu_ps(weight.add(8))];
                _mm_prefetch::<_MM_HINT_T0>(weight.wrapping_add(WEIGHTS_AHEAD) as *const i8);
                if line < next_lines {
                    _mm_prefetch::<_MM_HINT_T1>(next_weights.wrapping_add(16 * line) as *const i8);
                    line += 1;
                }
                if first == 0 {
                    // The same tap 4 channels on, a plane away, which the prefetchers do not
                    // follow (the later sub-tiles find them in cache).
                    _mm_prefetch::<_MM_HINT_T0>(at[0].wrapping_add(step.wrapping_add(ahead)) as *const i8);
                    _mm_prefetch::<_MM_HINT_T0>(
                        at[POSITIONS_HERE - 1].wrapping_add(step.wrapping_add(ahead)) as *const i8,
                    );
                }
                for (p, sums) in sums.iter_mut().enumerate() {
                    let x = _mm256_broadcast_ss(&*at[p].add(step));
                    for (sum, &w) in sums.iter_mut().zip(&w) {
                        *sum = _mm256_fmadd_ps(x, w, *sum);
                    }
                }
                // Wrapping: past the last step it points past the weights (never read).
                weight = weight.wrapping_add(CHANNELS);
            }
        }
        for (out, sums) in out.iter_mut().zip(&sums) {
            for (v, &sum) in sums.iter().enumerate() {
                // SAFETY: `out` holds `CHANNELS` floats, `first + 8 * v + 8` of them at most.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(first + 8 * v), sum) };
            }
        }
    }
}
