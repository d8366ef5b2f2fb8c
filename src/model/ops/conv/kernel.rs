//! The AVX-512 tile of the direct convolution: `ROWS` output channels by [`TILE_WIDTH`] output
//! positions, summed over every input channel and tap. The positions are 32 consecutive floats
//! of the laid-out input (see `layout.rs`), so each tap is two unaligned vector loads and each
//! weight one broadcast: 2 x `ROWS` multiply-adds for `ROWS` + 2 loads, which keeps both FMA
//! ports busy without any patch gathering (im2col) or packing of the activation.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Output positions per tile: two 16-float vectors.
pub const TILE_WIDTH: usize = 32;

/// Output channels per tile. Every channel count of the common CNNs is a multiple of 8; 8 rows
/// by 2 vectors is 16 independent accumulators, enough to hide the multiply-add latency.
pub const ROWS: usize = 8;

/// Whether this machine runs the kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One tile's operands.
pub struct Tile<'a> {
    /// The laid-out input from the tile's first position: channel `c`, tap `t` reads
    /// `TILE_WIDTH` floats at `c * channel_stride + offsets[t]`.
    pub input: &'a [f32],
    pub channel_stride: usize,
    pub channels: usize,
    pub offsets: &'a [usize],
    /// This tile's channel block of packed weights: `[channel][tap][ROWS]`.
    pub weights: &'a [f32],
}

impl Tile<'_> {
    /// Writes the tile's sums: row `r` at `output[r * output_stride..][..TILE_WIDTH]`, for the
    /// first `rows` rows.
    pub fn run(&self, output: &mut [f32], output_stride: usize, rows: usize) {
        let taps = self.offsets.len();
        let last_read = self.channels.saturating_sub(1) * self.channel_stride
            + self.offsets.iter().max().copied().unwrap_or(0)
            + TILE_WIDTH;
        // The bounds the unchecked loads and stores below rely on.
        assert!(available() && self.channels > 0 && rows <= ROWS);
        assert!(self.input.len() >= last_read);
        assert!(self.weights.len() >= self.channels * taps * ROWS);
        assert!(output.len() >= (rows.max(1) - 1) * output_stride + TILE_WIDTH);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx512f is present (asserted), and every access is within the bounds asserted.
        unsafe {
            self.run_avx512(output, output_stride, rows)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, output: &mut [f32], output_stride: usize, rows: usize) {
        let mut sums = [[_mm512_setzero_ps(); 2]; ROWS];
        let mut weight = self.weights.as_ptr();
        let input = self.input.as_ptr();
        // SAFETY: every read and write below is within the bounds `run` asserted: channel
        // `c < channels`, tap offsets at most their maximum, `TILE_WIDTH` floats each; `ROWS`
        // weights per tap of each channel; `rows` output rows of `TILE_WIDTH` floats.
        unsafe {
            for channel in 0..self.channels {
                let channel_input = input.add(channel * self.channel_stride);
                for &offset in self.offsets {
                    let at = channel_input.add(offset);
                    let (low, high) = (_mm512_loadu_ps(at), _mm512_loadu_ps(at.add(16)));
                    for (row, sum) in sums.iter_mut().enumerate() {
                        let w = _mm512_set1_ps(*weight.add(row));
                        sum[0] = _mm512_fmadd_ps(low, w, sum[0]);
                        sum[1] = _mm512_fmadd_ps(high, w, sum[1]);
                    }
                    weight = weight.add(ROWS);
                }
            }
            let output = output.as_mut_ptr();
            for (row, sum) in sums.iter().enumerate().take(rows) {
                let at = output.add(row * output_stride);
                _mm512_storeu_ps(at, sum[0]);
                _mm512_storeu_ps(at.add(16), sum[1]);
            }
        }
    }
}
