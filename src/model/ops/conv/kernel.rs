//! The tile of the direct convolution: `ROWS` output channels by 32 or 48 output positions (2 or 3
//! vectors of 16 here; `avx2/tile.rs` runs the same tile as sub-tiles of 8-float vectors), summed
//! over every input channel and tap. The positions are consecutive floats of the laid-out input
//! (see `layout.rs`), so each tap is 2 or 3 unaligned vector loads and each weight one broadcast:
//! `vectors x ROWS` multiply-adds for `vectors + ROWS` loads, which keeps both FMA ports busy
//! without any patch gathering (im2col) or packing of the activation.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::avx2;
use super::epilogue::Step;
use super::instructions::{available, isa, Isa};

/// Output positions per tile: 2 or 3 vectors of 16 floats (`layout::Geometry` chooses).
pub const NARROW: usize = 32;
pub const WIDE: usize = 48;

/// Output channels per tile. Every channel count of the common CNNs is a multiple of 8; 8 rows
/// by 2 or 3 vectors is 16 or 24 independent accumulators, enough to hide the multiply-add
/// latency (12 rows by 2 ran 2.5 times slower: the compiler no longer kept them in registers).
pub const ROWS: usize = 8;

/// How far ahead (floats) the weights are prefetched: ResNet-50's 512-channel 3x3 convolutions
/// took 2.6 ms without, 2.1 with 4 KiB and 2.0-2.1 with 8 KiB.
pub(super) const WEIGHTS_AHEAD: usize = 2048;

/// One tile's operands.
pub struct Tile<'a> {
    /// The laid-out input from the tile's first position: channel `c`, tap `t` reads `width`
    /// floats at `c * channel_stride + offsets[t]`.
    pub input: &'a [f32],
    pub channel_stride: usize,
    pub channels: usize,
    pub offsets: &'a [usize],
    /// This tile's channel block of packed weights: `[channel][tap][ROWS]`.
    pub weights: &'a [f32],
    /// [`NARROW`] or [`WIDE`].
    pub width: usize,
}

/// What a tile does to its sums in registers before it stores them: the first steps of the
/// epilogue (`epilogue.rs`), the same operations in the same order, so the same bits. Done here
/// they cost no pass over the stored sums (the epilogue's passes were a twentieth of ResNet-50's
/// CPU time at 8 concurrent requests).
pub struct Finish<'a> {
    pub steps: &'a [Step],
    /// The output channel of the tile's first row: the steps' constants are per channel.
    pub first_channel: usize,
    /// For an `AddInput` step (else empty): the second input at the tile's first position, one
    /// row per output channel `residual_stride` floats apart, `residual_len` positions of each
    /// (the tile's positions past them are past the image's end, and read zeros).
    pub residual: &'a [f32],
    pub residual_stride: usize,
    pub residual_len: usize,
}

impl Tile<'_> {
    /// Writes the tile's sums, through `finish`'s steps: row `r`'s first `columns` at
    /// `output[r * output_stride..][..columns]`, for the first `rows` rows.
    pub fn run(
        &self,
        output: &mut [f32],
        output_stride: usize,
        rows: usize,
        columns: usize,
        finish: &Finish,
    ) {
        let taps = self.offsets.len();
        let furthest = self.offsets.iter().max().copied().unwrap_or(0);
        // Checked: a wrapped bound would pass the asserts the unchecked loads rely on.
        let last_read = self
            .channels
            .checked_sub(1)
            .and_then(|c| c.checked_mul(self.channel_stride));
        let last_read = last_read.and_then(|r| r.checked_add(furthest)?.checked_add(self.width));
        let weights = self.channels.checked_mul(taps).and_then(|w| w.checked_mul(ROWS));
        let written = (rows.max(1) - 1)
            .checked_mul(output_stride)
            .and_then(|w| w.checked_add(columns));
        // The bounds the unchecked loads and stores below rely on.
        assert!(available() && rows <= ROWS);
        assert!(self.width == NARROW || self.width == WIDE);
        assert!(columns <= self.width);
        assert!(last_read.is_some_and(|end| self.input.len() >= end));
        assert!(weights.is_some_and(|end| self.weights.len() >= end));
        assert!(written.is_some_and(|end| output.len() >= end));
        finish.assert_bounds(rows, self.width);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the machine has the instructions run (asserted available, and `isa` names
        // them), and every access is within the bounds asserted.
        unsafe {
            match (isa(), self.width == WIDE) {
                (Some(Isa::Avx512), true) => {
                    self.run_avx512::<{ WIDE / 16 }>(output, output_stride, rows, columns, finish)
                }
                (Some(Isa::Avx512), false) => {
                    self.run_avx512::<{ NARROW / 16 }>(output, output_stride, rows, columns, finish)
                }
                (Some(Isa::Avx2), true) => {
                    avx2::run_tile::<{ WIDE / 2 / 8 }>(self, output, output_stride, rows, columns, finish)
                }
                (Some(Isa::Avx2), false) => {
                    avx2::run_tile::<{ NARROW / 2 / 8 }>(self, output, output_stride, rows, columns, finish)
                }
                (None, _) => unreachable!("asserted available"),
            }
        }
    }

    /// # Safety
    ///
    /// The machine has AVX-512F, and the bounds `run` asserts hold: `channels` channels of every
    /// tap offset plus `VECTORS * 16` floats within `input`, `ROWS` weights per tap and channel,
    /// `rows` output rows of `columns <= VECTORS * 16` floats `output_stride` apart within
    /// `output`; `finish`'s bounds (`Finish::assert_bounds`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    // SAFETY: unsafe to call (the contract above); `run` is its only caller and asserts it.
    unsafe fn run_avx512<const VECTORS: usize>(
        &self,
        output: &mut [f32],
        output_stride: usize,
        rows: usize,
        columns: usize,
        finish: &Finish,
    ) {
        let mut sums = [[_mm512_setzero_ps(); VECTORS]; ROWS];
        let mut weight = self.weights.as_ptr();
        let input = self.input.as_ptr();
        // SAFETY: every read and write below is within the bounds `run` asserted: channel
        // `c < channels`, tap offsets at most their maximum, `VECTORS * 16 = width` floats each;
        // `ROWS` weights per tap of each channel; `rows` output rows of `columns` floats (masked
        // stores), and `finish`'s masked reads of the residual (`Finish::assert_bounds`).
        unsafe {
            for channel in 0..self.channels {
                let channel_input = input.add(channel * self.channel_stride);
                for &offset in self.offsets {
                    let at = channel_input.add(offset);
                    let mut x = [_mm512_setzero_ps(); VECTORS];
                    for (v, x) in x.iter_mut().enumerate() {
                        *x = _mm512_loadu_ps(at.add(16 * v));
                    }
                    // The same floats two channels on: the taps of a strided convolution jump
                    // between phase planes, and a 1x1 convolution's channels are a plane apart,
                    // which the hardware prefetchers do not follow.
                    let ahead = at.wrapping_add(2 * self.channel_stride);
                    for v in 0..VECTORS {
                        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16 * v) as *const i8);
                    }
                    for (row, sum) in sums.iter_mut().enumerate() {
                        let w = _mm512_set1_ps(*weight.add(row));
                        for (sum, &x) in sum.iter_mut().zip(&x) {
                            *sum = _mm512_fmadd_ps(x, w, *sum);
                        }
                    }
                    // The weights 8 KiB on: a block's weights come from memory once per image
                    // (9 MiB for a 512-channel 3x3 convolution). A prefetch never faults, so
                    // the address may run past the end.
                    _mm_prefetch::<_MM_HINT_T0>(weight.wrapping_add(WEIGHTS_AHEAD) as *const i8);
                    weight = weight.add(ROWS);
                }
            }
            let sums = finish.apply(sums, rows);
            let output = output.as_mut_ptr();
            for (row, sum) in sums.iter().enumerate().take(rows) {
                let at = output.add(row * output_stride);
                for (v, &sum) in sum.iter().enumerate() {
                    // Masked-off lanes are not written.
                    _mm512_mask_storeu_ps(at.wrapping_add(16 * v), lanes(columns, v), sum);
                }
            }
        }
    }
}

impl Finish<'_> {
    /// The bounds `apply` (and `avx2::finish`) rely on for `rows` rows of a tile `width` positions
    /// wide.
    fn assert_bounds(&self, rows: usize, width: usize) {
        let channels = self.first_channel.checked_add(rows);
        for step in self.steps {
            match step {
                Step::Mul(k) | Step::Add(k) => assert!(channels.is_some_and(|end| k.len() >= end)),
                Step::AddInput => {
                    let read = (rows.max(1) - 1)
                        .checked_mul(self.residual_stride)
                        .and_then(|r| r.checked_add(self.residual_len));
                    assert!(self.residual_len <= width);
                    assert!(read.is_some_and(|end| self.residual.len() >= end));
                }
                Step::Relu => {}
            }
        }
    }

    /// The steps on the first `rows` rows of a tile's sums.
    ///
    /// # Safety
    ///
    /// The machine has AVX-512F, and `assert_bounds(rows, VECTORS * 16)` held.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn apply<const VECTORS: usize>(
        &self,
        mut sums: [[__m512; VECTORS]; ROWS],
        rows: usize,
    ) -> [[__m512; VECTORS]; ROWS] {
        // Every row, whatever `rows`: loops of constant length keep `sums` in registers (a
        // slice of it, of `rows` rows, put it on the stack, the multiply-adds' too, and the
        // kernel ran 2.5 times slower). Rows past `rows` get zeros, and are not stored.
        let constant = |k: &[f32], row: usize| {
            let k = k.get(self.first_channel + row).copied().filter(|_| row < rows);
            _mm512_set1_ps(k.unwrap_or(0.0))
        };
        for step in self.steps {
            match step {
                Step::Mul(k) => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let k = constant(k, row);
                        sums.iter_mut().for_each(|sum| *sum = _mm512_mul_ps(*sum, k));
                    }
                }
                Step::Add(k) => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let k = constant(k, row);
                        sums.iter_mut().for_each(|sum| *sum = _mm512_add_ps(*sum, k));
                    }
                }
                // `max(x, +0)` as the epilogue's `f32::max` compiles: a NaN gives +0.
                Step::Relu => {
                    for sum in sums.iter_mut().flatten() {
                        *sum = _mm512_max_ps(*sum, _mm512_setzero_ps());
                    }
                }
                Step::AddInput => {
                    for (row, sums) in sums.iter_mut().enumerate() {
                        let len = if row < rows { self.residual_len } else { 0 };
                        let from = self.residual.as_ptr().wrapping_add(row * self.residual_stride);
                        for (v, sum) in sums.iter_mut().enumerate() {
                            // SAFETY: the lanes read are among the row's first `residual_len`
                            // floats, within `residual` (asserted); masked-off lanes are not
                            // read.
                            let read =
                                unsafe { _mm512_maskz_loadu_ps(lanes(len, v), from.wrapping_add(16 * v)) };
                            *sum = _mm512_add_ps(*sum, read);
                        }
                    }
                }
            }
        }
        sums
    }
}

/// The lanes of vector `v` (floats `16 * v..16 * v + 16`) among the first `count` floats.
#[cfg(target_arch = "x86_64")]
fn lanes(count: usize, v: usize) -> __mmask16 {
    let count = count.saturating_sub(16 * v).min(16);
    ((1u32 << count) - 1) as __mmask16
}
