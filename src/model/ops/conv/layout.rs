//! How the direct convolution lays out its operands so that every tap of every output position
//! is a contiguous read.
//!
//! The input of each channel is copied, zero-padded (a max pool's: padded with the lowest float),
//! into `stride_h x stride_w` phase planes:
//! plane `(py, px)` holds the padded pixels `(r * stride_h + py, s * stride_w + px)`. Output
//! position `(oy, ox)` is numbered `q = oy * plane_w + ox`, and tap `(ky, kx)` of it reads plane
//! `(ky * dilation_h % stride_h, kx * dilation_w % stride_w)` at `q + (ky * dilation_h /
//! stride_h) * plane_w + kx * dilation_w / stride_w`: the same offset for every `q`. So 32
//! consecutive outputs read 32 consecutive floats per tap, whatever the stride, padding or
//! dilation. The price is `plane_w - out_w` extra columns per output row, computed and dropped by
//! `kernel.rs`'s tiles (a max pool's are masked off; `across.rs`'s tiles skip them).

use tract_onnx::tract_core::ops::cnn::PoolSpec;

use super::kernel::{NARROW, ROWS, WIDE};

/// Where one convolution (or max pool) reads and writes for one input size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub plane_h: usize,
    pub plane_w: usize,
    pub stride: [usize; 2],
    pub pad_before: [usize; 2],
    /// The phase planes copied, as `(py, px)`: only those some tap reads.
    pub phases: Vec<[usize; 2]>,
    /// One offset per tap, in the kernel's `(ky, kx)` order (the order tract sums in).
    pub offsets: Vec<usize>,
    /// Output positions per tile, `kernel::NARROW` or `kernel::WIDE`.
    pub tile_width: usize,
}

/// The convolution's shape parameters, as tract's `PoolSpec` gives them.
pub struct Shape {
    pub channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pad_before: [usize; 2],
    pub input: [usize; 2],
    pub output: [usize; 2],
}

impl Geometry {
    pub fn new(shape: &Shape) -> Geometry {
        let Shape {
            channels,
            kernel,
            stride,
            dilation,
            pad_before,
            input,
            output,
        } = *shape;
        // The deepest tap along each axis, in phase-plane rows or columns.
        let reach = |axis: usize| (kernel[axis] - 1) * dilation[axis] / stride[axis];
        let (plane_h, plane_w) = (output[0] + reach(0), output[1] + reach(1));
        let mut phases: Vec<[usize; 2]> = Vec::new();
        let mut offsets = Vec::with_capacity(kernel[0] * kernel[1]);
        for ky in 0..kernel[0] {
            for kx in 0..kernel[1] {
                let (y, x) = (ky * dilation[0], kx * dilation[1]);
                let phase = [y % stride[0], x % stride[1]];
                let index = phases.iter().position(|&p| p == phase).unwrap_or_else(|| {
                    phases.push(phase);
                    phases.len() - 1
                });
                let within = (y / stride[0]) * plane_w + x / stride[1];
                offsets.push(index * plane_h * plane_w + within);
            }
        }
        let computed = output[0] * plane_w;
        Geometry {
            tile_width: tile_width(computed, offsets.len()),
            channels,
            in_h: input[0],
            in_w: input[1],
            out_h: output[0],
            out_w: output[1],
            plane_h,
            plane_w,
            stride,
            pad_before,
            phases,
            offsets,
        }
    }

    /// Where a pool of `kernel` (a convolution's or a max pool's, as `pool_spec` strides, dilates
    /// and pads it) reads and writes on `channels` channels of an image `spatial` in size.
    pub fn pooled(pool_spec: &PoolSpec, kernel: [usize; 2], channels: usize, spatial: &[usize]) -> Geometry {
        let padding = pool_spec.computed_padding(spatial);
        let pair = |f: &dyn Fn(usize) -> usize| [f(0), f(1)];
        Geometry::new(&Shape {
            channels,
            kernel,
            stride: pair(&|a| pool_spec.stride(a)),
            dilation: pair(&|a| pool_spec.dilation(a)),
            pad_before: pair(&|a| padding[a].pad_before),
            input: [spatial[0], spatial[1]],
            output: pair(&|a| padding[a].convoluted),
        })
    }

    /// Floats from one channel's planes to the next.
    pub fn channel_stride(&self) -> usize {
        self.phases.len() * self.plane_h * self.plane_w
    }

    /// Output positions computed, extra columns included, rounded up to whole tiles.
    pub fn positions(&self) -> usize {
        (self.out_h * self.plane_w).div_ceil(self.tile_width) * self.tile_width
    }

    /// The laid-out input's length: the planes, and what the last tile reads past them.
    pub fn laid_out_len(&self) -> usize {
        let furthest = self.offsets.iter().max().copied().unwrap_or(0);
        self.channels * self.channel_stride() + furthest + self.positions()
    }

    /// Whether the image is its own layout: one plane, no padding, no stride (a 1x1
    /// convolution), so that the kernel can read it where it is.
    pub fn reads_image_as_is(&self) -> bool {
        self.phases.len() == 1
            && self.stride == [1, 1]
            && self.pad_before == [0, 0]
            && self.offsets == [0]
            && (self.plane_h, self.plane_w) == (self.in_h, self.in_w)
            && self.out_w == self.in_w
    }

    /// For an input shorter than `laid_out_len` (the image read as is), the first position of
    /// the last tile, which reads past its end, and that tile's floats of every channel copied
    /// and zero-padded, one channel `tile_width` floats from the next.
    pub fn tail_tile(&self, input: &[f32]) -> Option<(usize, Vec<f32>)> {
        if input.len() >= self.laid_out_len() || self.offsets != [0] {
            return None;
        }
        let start = self.positions() - self.tile_width;
        let mut tail = vec![0.0; self.channels * self.tile_width];
        for (channel, copy) in tail.chunks_exact_mut(self.tile_width).enumerate() {
            let from = channel * self.channel_stride() + start;
            let end = ((channel + 1) * self.channel_stride()).min(input.len()).max(from);
            copy[..end - from].copy_from_slice(&input[from..end]);
        }
        Some((start, tail))
    }

    /// Copies one image (`[channels, in_h, in_w]`) into its zero-padded phase planes, and zeros
    /// past them for what the last tiles read: `laid_out_len` floats.
    pub fn lay_out(&self, image: &[f32], laid_out: &mut Vec<f32>) {
        laid_out.clear();
        laid_out.reserve(self.laid_out_len());
        self.lay_out_planes(image, laid_out, 0.0);
        laid_out.resize(self.laid_out_len(), 0.0);
    }

    /// Copies one image (`[channels, in_h, in_w]`) into its phase planes, in order, `padding`
    /// (a convolution's zero, a max pool's lowest float) around it, with no clearing pass first
    /// (it cost a tenth of the copy): `channels * channel_stride()` floats.
    pub fn lay_out_planes(&self, image: &[f32], laid_out: &mut Vec<f32>, padding: f32) {
        let [stride_h, stride_w] = self.stride;
        let [pad_h, pad_w] = self.pad_before;
        let pad =
            |laid_out: &mut Vec<f32>, count: usize| laid_out.extend(std::iter::repeat_n(padding, count));
        laid_out.clear();
        laid_out.reserve(self.channels * self.channel_stride());
        let channel_len = self.in_h * self.in_w;
        for channel in 0..self.channels {
            // Empty for an image without pixels: its planes are all padding.
            let pixels = &image[channel * channel_len..(channel + 1) * channel_len];
            for &[py, px] in &self.phases {
                // Columns s with 0 <= s * stride_w + px - pad_w < in_w: `count` from `first`.
                let first = pad_w.saturating_sub(px).div_ceil(stride_w);
                let from = first * stride_w + px - pad_w;
                let first = first.min(self.plane_w);
                let count = self
                    .in_w
                    .saturating_sub(from)
                    .div_ceil(stride_w)
                    .min(self.plane_w - first);
                for r in 0..self.plane_h {
                    let y = (r * stride_h + py).checked_sub(pad_h).filter(|&y| y < self.in_h);
                    let Some(y) = y.filter(|_| count > 0) else {
                        pad(laid_out, self.plane_w);
                        continue;
                    };
                    let row = &pixels[y * self.in_w + from..(y + 1) * self.in_w];
                    pad(laid_out, first);
                    // Not `extend` over a `step_by`: it pushed float by float (its length is not
                    // trusted), and was most of the layout's time.
                    if stride_w == 1 {
                        laid_out.extend_from_slice(&row[..count]);
                    } else {
                        let start = laid_out.len();
                        laid_out.resize(start + count, padding);
                        copy_strided(&mut laid_out[start..], row, stride_w);
                    }
                    pad(laid_out, self.plane_w - first - count);
                }
            }
        }
    }
}

/// `to[i] = from[i * stride]` for every `i` of `to`.
fn copy_strided(to: &mut [f32], from: &[f32], stride: usize) {
    assert!(
        to.is_empty()
            || (to.len() - 1)
                .checked_mul(stride)
                .is_some_and(|last| last < from.len())
    );
    #[cfg(target_arch = "x86_64")]
    if stride == 2 {
        use super::instructions::{isa, Isa};
        // `from` holds every float read (asserted).
        match isa() {
            // SAFETY: the machine has AVX-512 (`isa` names it).
            Some(Isa::Avx512) => unsafe { return copy_every_second(to, from) },
            // SAFETY: the machine has AVX2 (`isa` names it).
            Some(Isa::Avx2) => unsafe { return super::avx2::copy_every_second(to, from) },
            None => {}
        }
    }
    to.iter_mut()
        .zip(from.iter().step_by(stride))
        .for_each(|(to, &from)| *to = from);
}

/// [`copy_strided`] for a stride of 2 (every strided convolution and max pool of the common
/// CNNs), 16 floats picked out of 32 by one permutation: the scalar loop was a tenth of
/// ResNet-50's 128-channel stride-2 convolution.
///
/// # Safety
///
/// The machine has AVX-512F, and `from` holds `2 * (to.len() - 1) + 1` floats or more.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn copy_every_second(to: &mut [f32], from: &[f32]) {
    use std::arch::x86_64::*;
    let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    // The lanes of a vector from `first` that are within `len` floats.
    let within = |len: usize, first: usize| ((1u32 << len.saturating_sub(first).min(16)) - 1) as __mmask16;
    for (index, to) in to.chunks_mut(16).enumerate() {
        let at = 32 * index;
        let from_at = |first: usize| from.as_ptr().wrapping_add(first);
        // SAFETY: the lanes read are within `from` and those written within `to` (masked-off
        // lanes are neither read nor written).
        unsafe {
            let low = _mm512_maskz_loadu_ps(within(from.len(), at), from_at(at));
            let high = _mm512_maskz_loadu_ps(within(from.len(), at + 16), from_at(at + 16));
            let picked = _mm512_permutex2var_ps(low, evens, high);
            _mm512_mask_storeu_ps(to.as_mut_ptr(), within(to.len(), 0), picked);
        }
    }
}

/// The tile width for `positions` output positions (extra columns included) and `taps` taps:
/// the wide tile loads fewer floats per multiply-add, which ResNet-50's 1x1 convolutions ran
/// about 10 % faster with and its 3x3 ones about 3 %, unless it computes more wasted positions.
pub fn tile_width(positions: usize, taps: usize) -> usize {
    let computed = |width: usize| positions.div_ceil(width) * width;
    let wide_gain = if taps == 1 { 1.10 } else { 1.03 };
    if (computed(WIDE) as f64) < computed(NARROW) as f64 * wide_gain {
        WIDE
    } else {
        NARROW
    }
}

/// The weight of output channel `oc` for input channel `c` at tap `t` in weights of `taps` taps
/// packed by [`pack_weights`].
pub fn packed_weight(packed: &[f32], channels: usize, taps: usize, [oc, c, t]: [usize; 3]) -> f32 {
    packed[(((oc / ROWS) * channels + c) * taps + t) * ROWS + oc % ROWS]
}

/// Weights `[out_channels, channels, kh, kw]` as the kernel reads them: per block of [`ROWS`]
/// output channels, `[channel][tap][row]`, zero rows past the last channel.
pub fn pack_weights(kernel: &[f32], out_channels: usize, channels: usize, taps: usize) -> Vec<f32> {
    let blocks = out_channels.div_ceil(ROWS);
    let mut packed = vec![0.0; blocks * channels * taps * ROWS];
    for (oc, filters) in kernel.chunks_exact(channels * taps).enumerate() {
        let (block, row) = (oc / ROWS, oc % ROWS);
        for (c, taps_of_channel) in filters.chunks_exact(taps).enumerate() {
            for (t, &w) in taps_of_channel.iter().enumerate() {
                packed[((block * channels + c) * taps + t) * ROWS + row] = w;
            }
        }
    }
    packed
}
