//! The tile of a convolution of a small image: 64 output channels across the vector lanes (4
//! vectors of 16 here, 8 of 8 in `avx2/across.rs`) by up to 6 output positions, each input float
//! broadcast. The tile of `kernel.rs` puts positions across the lanes, 32 or 48 at a time, and
//! computes the extra columns of the laid-out rows (`layout.rs`) with them: on a 7x7 image (49
//! positions) it computes 64 positions for 49 answers, and ResNet-50's convolutions there ran at
//! half onnxruntime's speed (1x1) or 1.12 times its time (3x3). Here every position computed is an
//! answer: each position reads its taps where the layout put it. Each step (an input channel's
//! tap) is 4 weight loads and up to 6 broadcasts for up to 24 multiply-adds, summed in the same
//! order (input channel by input channel, tap by tap, from zero) as the other tile, so the answers
//! are the same bits.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::avx2;
use super::instructions;
#[cfg(target_arch = "x86_64")]
use super::instructions::Isa;

/// Output channels per tile: 4 vectors. Every channel count of ResNet's convolutions past its
/// first is a multiple of 64.
pub const CHANNELS: usize = 64;

/// Output positions per tile, at most: 6 x 4 accumulators and the 4 weight vectors fill 28 of
/// the 32 vector registers.
pub const POSITIONS: usize = 6;

/// How far ahead (floats) the weights are prefetched: 32 steps (8 KiB). A block's weights come
/// from memory or L3 once per image (its first tile), then from L2 while they fit (a 3x3 block of
/// 512 channels, 1.2 MB, does not); ResNet-50's 1x1 convolutions on 7x7 and 14x14 images ran at
/// 90-110 GFLOP/s 8 steps ahead, 130-170 at 32, and lower again at 64 and 128.
pub(super) const WEIGHTS_AHEAD: usize = 32 * CHANNELS;

/// Where a tile reads at each step (an input channel's tap), in the order the steps are summed,
/// from a position's first tap: `c * channel_stride + offsets[t]`. One list for every
/// tile of a convolution: a tile's loop over it is a single loop, which keeps its sums in
/// registers (a loop over the taps within a loop over the channels spilled them, and ran 2.3-2.6
/// times slower).
pub struct Reads {
    offsets: Vec<usize>,
    /// The largest of `offsets`.
    furthest: usize,
    /// Floats from one input channel to the next (for prefetches only).
    channel_stride: usize,
}

impl Reads {
    /// `channels` channels `channel_stride` floats apart, each read at the taps' `offsets`.
    pub fn new(channels: usize, channel_stride: usize, offsets: &[usize]) -> Reads {
        let offsets: Vec<usize> = (0..channels)
            .flat_map(|c| offsets.iter().map(move |&offset| c * channel_stride + offset))
            .collect();
        Reads {
            furthest: offsets.iter().max().copied().unwrap_or(0),
            offsets,
            channel_stride,
        }
    }

    /// Where each step reads, from a position's first tap.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Floats from one input channel to the next.
    pub fn channel_stride(&self) -> usize {
        self.channel_stride
    }
}

/// One tile's operands.
pub struct Tile<'a> {
    /// The laid-out input (or the image itself, which a 1x1 convolution reads as is): step `s`
    /// of position `p` reads the float at `reads.offsets[s] + at[p]`.
    pub input: &'a [f32],
    pub reads: &'a Reads,
    /// Where each position's first tap is, 1 to [`POSITIONS`] of them: consecutive output
    /// positions, which skip the extra columns of the laid-out rows.
    pub at: &'a [usize],
    /// This tile's block of packed weights: `[channel][tap][CHANNELS]`, `CHANNELS` per step.
    pub weights: &'a [f32],
    /// Weights to bring into L2 while the tile runs (its share of the next block's), a cache
    /// line per step: the first tile of a block reads its weights from memory, where at its pace
    /// (256 bytes per 24 multiply-adds) it would wait for them.
    pub next_weights: &'a [f32],
}

impl Tile<'_> {
    /// Writes the tile's sums position by position: position `p`'s, of every output channel of
    /// the block, at `sums[p]` (`transpose.rs` turns them into the output's rows).
    pub fn run(&self, sums: &mut [[f32; CHANNELS]]) {
        let furthest_position = self.at.iter().max().copied().unwrap_or(0);
        // Checked: a wrapped bound would pass the asserts the unchecked loads rely on.
        let last_read = self.reads.furthest.checked_add(furthest_position);
        let weights = self.reads.offsets.len().checked_mul(CHANNELS);
        // The bounds the unchecked loads below rely on (one read at least: the AVX2 tile offsets
        // its weight pointer before its first).
        assert!(instructions::available());
        assert!(!self.reads.offsets.is_empty() && (1..=POSITIONS).contains(&self.at.len()));
        assert!(last_read.is_some_and(|last| self.input.len() > last));
        assert!(weights.is_some_and(|end| self.weights.len() >= end));
        assert!(sums.len() >= self.at.len());
        let sums = &mut sums[..self.at.len()];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the machine has the instructions run (asserted available, and `isa` names
        // them), and every read is within the bounds asserted.
        unsafe {
            match instructions::isa() {
                Some(Isa::Avx512) => match self.at.len() {
                    1 => self.run_avx512::<1>(sums),
                    2 => self.run_avx512::<2>(sums),
                    3 => self.run_avx512::<3>(sums),
                    4 => self.run_avx512::<4>(sums),
                    5 => self.run_avx512::<5>(sums),
                    _ => self.run_avx512::<6>(sums),
                },
                Some(Isa::Avx2) => match self.at.len() {
                    1 => avx2::run_across_tile::<1>(self, sums),
                    2 => avx2::run_across_tile::<2>(self, sums),
                    3 => avx2::run_across_tile::<3>(self, sums),
                    4 => avx2::run_across_tile::<4>(self, sums),
                    5 => avx2::run_across_tile::<5>(self, sums),
                    _ => avx2::run_across_tile::<6>(self, sums),
                },
                None => unreachable!("asserted available"),
            }
        }
    }

    /// # Safety
    ///
    /// The machine has AVX-512F, `POSITIONS_HERE == at.len() == out.len()`, and the bounds `run`
    /// asserts hold: every step of every position within `input`, `CHANNELS` weights per step.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    // SAFETY: unsafe to call (the contract above); `run` is its only caller and asserts it.
    unsafe fn run_avx512<const POSITIONS_HERE: usize>(&self, out: &mut [[f32; CHANNELS]]) {
        const VECTORS: usize = CHANNELS / 16;
        let mut sums = [[_mm512_setzero_ps(); VECTORS]; POSITIONS_HERE];
        let mut weight = self.weights.as_ptr();
        let at: [*const f32; POSITIONS_HERE] =
            std::array::from_fn(|p| self.input.as_ptr().wrapping_add(self.at[p]));
        let (next_weights, next_lines) = (self.next_weights.as_ptr(), self.next_weights.len().div_ceil(16));
        let mut line = 0;
        // Wrapping: these feed prefetches alone, which never fault.
        let ahead = self.reads.channel_stride.wrapping_mul(4);
        // SAFETY: every read is within the bounds `run` asserted: each step of each position,
        // `CHANNELS` weights per step.
        unsafe {
            for &step in &self.reads.offsets {
                let mut w = [_mm512_setzero_ps(); VECTORS];
                for (v, w) in w.iter_mut().enumerate() {
                    *w = _mm512_loadu_ps(weight.add(16 * v));
                }
                for v in 0..VECTORS {
                    _mm_prefetch::<_MM_HINT_T0>(weight.wrapping_add(WEIGHTS_AHEAD + 16 * v) as *const i8);
                }
                if line < next_lines {
                    _mm_prefetch::<_MM_HINT_T1>(next_weights.wrapping_add(16 * line) as *const i8);
                    line += 1;
                }
                // The same tap 4 channels on, a plane away, which the prefetchers do not follow
                // (the first and last positions: they may be rows apart). Past the last channel
                // the addresses are past the input: a prefetch never faults.
                _mm_prefetch::<_MM_HINT_T0>(at[0].wrapping_add(step.wrapping_add(ahead)) as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(
                    at[POSITIONS_HERE - 1].wrapping_add(step.wrapping_add(ahead)) as *const i8
                );
                for (p, sums) in sums.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*at[p].add(step));
                    for (sum, &w) in sums.iter_mut().zip(&w) {
                        *sum = _mm512_fmadd_ps(x, w, *sum);
                    }
                }
                // Wrapping: past the last step it points past the weights (never read).
                weight = weight.wrapping_add(CHANNELS);
            }
        }
        for (out, sums) in out.iter_mut().zip(&sums) {
            for (v, &sum) in sums.iter().enumerate() {
                // SAFETY: `out` holds `CHANNELS = 16 * VECTORS` floats.
                unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(16 * v), sum) };
            }
        }
    }
}

/// The weights of a convolution, `weight(output channel, channel, tap)`, as the tile reads them:
/// per block of [`CHANNELS`] output channels, `[channel][tap][output channel]`, zero past the last
/// output channel.
pub fn pack_weights(
    out_channels: usize,
    channels: usize,
    taps: usize,
    weight: impl Fn(usize, usize, usize) -> f32,
) -> Vec<f32> {
    let blocks = out_channels.div_ceil(CHANNELS);
    let mut packed = vec![0.0; blocks * channels * taps * CHANNELS];
    for oc in 0..out_channels {
        let (block, row) = (oc / CHANNELS, oc % CHANNELS);
        for c in 0..channels {
            for t in 0..taps {
                packed[((block * channels + c) * taps + t) * CHANNELS + row] = weight(oc, c, t);
            }
        }
    }
    packed
}
