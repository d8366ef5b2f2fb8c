//! Which tiles run a convolution: `kernel.rs`'s (8 output channels by 32 or 48 positions), or
//! `across.rs`'s for a convolution of a small image, and how its weights are packed for them.

use tract_onnx::tract_hir::internal::*;

use super::kernel::ROWS;
use super::{across, layout, Form, Params};

/// How much more `kernel.rs`'s tiles compute than `across.rs`'s (positions by output channels,
/// each rounded up to whole tiles; the extra columns of a padded layout included) past which a
/// convolution runs on `across.rs`'s. ResNet-50's 1x1 convolutions on 28x28 images (1.04) ran as
/// fast as onnxruntime's on `kernel.rs`'s tiles; those on 14x14 (1.22) and 7x7 (1.31) did not.
/// Its 3x3 ones gained on `across.rs`'s: unstrided on 28x28 (1.10, just past the bound), onto
/// 14x14 and 7x7 (BENCHMARKS.md, stop 34); those on 56x56 (1.04) stay.
const ACROSS_PAST_WASTE: f64 = 1.1;

impl Params {
    /// The tiles to run on for an input `data`: `across.rs`'s for a convolution of an image
    /// whose size is known and on which `kernel.rs`'s would compute more than
    /// [`ACROSS_PAST_WASTE`] times as much.
    pub(super) fn tiled_for(self, data: &TypedFact) -> Params {
        // The image size: a `Pointwise` form knows its own; a `Conv` reads it from `data`.
        let rank = data.rank();
        let spatial: Option<Vec<usize>> = (rank >= 3)
            .then(|| data.shape[rank - 2..].iter().map(|d| d.to_usize().ok()).collect())
            .flatten();
        let spatial = match &self.form {
            Form::Pointwise { .. } => Some(vec![1, 1]),
            Form::Conv { .. } => spatial,
        };
        let Some(spatial) = spatial.filter(|_| !self.across) else {
            return self;
        };
        let (geometry, _) = self.geometry(&[self.channels, spatial[0], spatial[1]]);
        // In floats: the sizes come from the model file.
        let rounded = |channels: usize| self.out_channels.div_ceil(channels) as f64 * channels as f64;
        let in_rows = geometry.positions() as f64 * rounded(ROWS);
        let across = (geometry.out_h * geometry.out_w) as f64 * rounded(across::CHANNELS);
        if in_rows <= across * ACROSS_PAST_WASTE {
            return self;
        }
        let taps = geometry.offsets.len();
        let weights = across::pack_weights(self.out_channels, self.channels, taps, |oc, c, t| {
            layout::packed_weight(&self.weights, self.channels, taps, [oc, c, t])
        });
        Params {
            weights,
            across: true,
            ..self
        }
    }

    /// Output channels per block of packed weights.
    pub(super) fn block_channels(&self) -> usize {
        if self.across {
            across::CHANNELS
        } else {
            ROWS
        }
    }
}
