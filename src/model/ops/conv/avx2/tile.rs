//! `kernel.rs`'s tile on AVX2: 8 output channels by 32 or 48 positions, run as sub-tiles of 4
//! channels by half the positions (2 or 3 vectors of 8): 8 or 12 accumulators, the input's
//! vectors and a broadcast weight fit the 16 registers (the whole tile, 32 or 48 accumulators,
//! would spill every one of them). Each sub-tile is 2 or 3 loads and 4 broadcasts for 8 or 12
//! multiply-adds per channel and tap; sub-tiles past the rows or columns stored are skipped.
//! The two sub-tiles of the same columns run one after the other, the second reading the input
//! from L1 (a tile's input, 256 channels by 48 floats, is more than L1 holds).

use std::arch::x86_64::*;

use super::super::epilogue::Step;
use super::super::kernel::{Finish, Tile, ROWS, WEIGHTS_AHEAD};
use super::{load, store};

/// Output channels per sub-tile: half the tile's.
const SUB_ROWS: usize = ROWS / 2;

/// Writes the tile's sums as `Tile::run` describes, each sub-tile `VECTORS` vectors of 8 floats
/// wide (half the tile).
///
/// # Safety
///
/// The machine has AVX2 and FMA, `16 * VECTORS == tile.width`, and the bounds `Tile::run`
/// asserts hold.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn run_tile<const VECTORS: usize>(
    tile: &Tile,
    output: &mut [f32],
    output_stride: usize,
    rows: usize,
    columns: usize,
    finish: &Finish,
) {
    let sub = Sub {
        tile,
        output: output.as_mut_ptr(),
        output_stride,
        rows,
        columns,
        finish,
    };
    debug_assert_eq!(16 * VECTORS, tile.width);
    for first_column in (0..columns).step_by(8 * VECTORS) {
        for first_row in (0..rows).step_by(SUB_ROWS) {
            // SAFETY: the contract: `first_row + SUB_ROWS <= ROWS` and `first_column + 8 *
            // VECTORS <= tile.width` (a multiple of the sub-tile's width).
            unsafe { sub.run::<VECTORS>(first_row, first_column) }
        }
    }
}

/// A tile's operands, where each sub-tile reads them.
struct Sub<'a, 'b> {
    tile: &'a Tile<'b>,
    output: *mut f32,
    output_stride: usize,
    rows: usize,
    columns: usize,
    finish: &'a Finish<'b>,
}

impl Sub<'_, '_> {
    /// The sub-tile of rows `first_row..first_row + SUB_ROWS`, columns `first_column..first_column
    /// + 8 * VECTORS`.
    ///
    /// # Safety
    ///
    /// `run_tile`'s contract, and the sub-tile within the tile.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run<const VECTORS: usize>(&self, first_row: usize, first_column: usize) {
        let tile = self.tile;
        let mut sums = [[_mm256_setzero_ps(); VECTORS]; SUB_ROWS];
        // SAFETY: every read is within the bounds `Tile::run` asserted, the sub-tile's columns
        // and rows within the tile's: channel `c < channels`, tap offsets at most their maximum,
        // `8 * VECTORS` floats from `first_column`; `SUB_ROWS` of the `ROWS` weights per tap of
        // each channel from `first_row`.
        unsafe {
            let mut weight = tile.weights.as_ptr().add(first_row);
            let input = tile.input.as_ptr().add(first_column);
            for channel in 0..tile.channels {
                let channel_input = input.add(channel * tile.channel_stride);
                for &offset in tile.offsets {
                    let at = channel_input.add(offset);
                    let x: [__m256; VECTORS] = std::array::from_fn(|v| _mm256_loadu_ps(at.add(8 * v)));
                    // As on AVX-512: the same floats two channels on, a cache line at a time;
                    // the second sub-tile of these columns finds them in cache.
                    if first_row == 0 {
                        let ahead = at.wrapping_add(2 * tile.channel_stride);
                        for line in (0..8 * VECTORS).step_by(16) {
                            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line) as *const i8);
                        }
                    }
                    for (row, sum) in sums.iter_mut().enumerate() {
                        let w = _mm256_broadcast_ss(&*weight.add(row));
                        for (sum, &x) in sum.iter_mut().zip(&x) {
                            *sum = _mm256_fmadd_ps(x, w, *sum);
                        }
                    }
                    _mm_prefetch::<_MM_HINT_T0>(weight.wrapping_add(WEIGHTS_AHEAD) as *const i8);
                    // Wrapping: past the last channel it points past the weights (never read).
                    weight = weight.wrapping_add(ROWS);
                }
            }
            let sums = self.finish(sums, first_row, first_column);
            let stored = self.columns - first_column;
            for (row, sum) in sums.iter().enumerate().take(self.rows - first_row) {
                let at = self
                    .output
                    .add((first_row + row) * self.output_stride + first_column);
                for (v, &sum) in sum.iter().enumerate() {
                    store(at.wrapping_add(8 * v), stored.saturating_sub(8 * v), sum);
                }
            }
        }
    }

    /// `Finish::apply` on a sub-tile's sums: the same steps, in the same order.
    ///
    /// # Safety
    ///
    /// `Finish::assert_bounds(rows, width)` held, and the sub-tile is within the tile.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn finish<const VECTORS: usize>(
        &self,
        mut sums: [[__m256; VECTORS]; SUB_ROWS],
        first_row: usize,
        first_column: usize,
    ) -> [[__m256; VECTORS]; SUB_ROWS] {
        let finish = self.finish;
        // Rows past `rows` get zeros, and are not stored (loops of constant length keep `sums`
        // in registers, as on AVX-512).
        let constant = |k: &[f32], row: usize| {
            let row = first_row + row;
            let k = k
                .get(finish.first_channel + row)
                .copied()
                .filter(|_| row < self.rows);
            _mm256_set1_ps(k.unwrap_or(0.0))
        };
        for step in finish.steps {
            match step {
                Step::Mul(k) => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let k = constant(k, row);
                        sums.iter_mut().for_each(|sum| *sum = _mm256_mul_ps(*sum, k));
                    }
                }
                Step::Add(k) => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let k = constant(k, row);
                        sums.iter_mut().for_each(|sum| *sum = _mm256_add_ps(*sum, k));
                    }
                }
                // `max(x, +0)` as the epilogue's `f32::max` compiles: a NaN gives +0.
                Step::Relu => {
                    for sum in sums.iter_mut().flatten() {
                        *sum = _mm256_max_ps(*sum, _mm256_setzero_ps());
                    }
                }
                Step::AddInput => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let row = first_row + row;
                        let len = if row < self.rows {
                            finish.residual_len.saturating_sub(first_column)
                        } else {
                            0
                        };
                        let from = finish
                            .residual
                            .as_ptr()
                            .wrapping_add(row * finish.residual_stride + first_column);
                        for (v, sum) in sums.iter_mut().enumerate() {
                            // SAFETY: the lanes read are among the row's first `residual_len`
                            // floats, within `residual` (asserted); masked-off lanes are not
                            // read.
                            let read = unsafe { load(from.wrapping_add(8 * v), len.saturating_sub(8 * v)) };
                            *sum = _mm256_add_ps(*sum, read);
                        }
                    }
                }
            }
        }
        sums
    }
}
