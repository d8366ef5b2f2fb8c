//! A direct convolution for float32 2-D convolutions, replacing tract's where the machine has
//! AVX-512 (or, when `--direct-kernels avx2` asks, AVX2 with FMA: `avx2/`, smaller tiles, the same
//! sums). tract runs a convolution as a matrix product: it gathers every patch of the input
//! (im2col: 9 copies of the activation for a 3x3 kernel), packs it into panels, and multiplies with
//! a kernel whose operands stream from L2 because it does not block the summed dimension. Profiled
//! per node on ResNet-50 (one image, one thread), its 3x3 convolutions ran at 40-115 GFLOP/s where
//! onnxruntime's ran at 75-170 (BENCHMARKS.md).
//!
//! This one copies the input once into zero-padded phase planes (`layout.rs`; a 1x1 convolution
//! reads its input where it is), after which every tap of consecutive outputs is consecutive
//! floats, and sums 8 output channels by 32 or 48 outputs per tile straight from them
//! (`kernel.rs`); a convolution of a small image, where those tiles would compute many positions
//! for nothing (the layout's extra columns among them), sums 64 output channels by up to 6
//! outputs instead (`across.rs`). It takes tract's `Conv`, the `EinSum` tract makes of a 1x1
//! convolution (with the `Downsample` of a strided one), and the element-wise operations after
//! either that tract would fuse
//! (`substitute.rs`, `absorb.rs`, `epilogue.rs`). It sums in tract's order (input channel, then
//! kernel row, then column, from zero) and applies those operations in the graph's order, so its
//! answers are tract's to the bit. The same layout runs max pools (`maxpool.rs`).

mod absorb;
mod across;
#[cfg(target_arch = "x86_64")]
mod avx2;
mod denormals;
mod epilogue;
mod instructions;
mod kernel;
mod layout;
mod maxpool;
mod pointwise;
mod run;
mod substitute;
mod tiles;
mod transpose;

use tract_onnx::tract_core::ops::cnn::PoolSpec;
use tract_onnx::tract_hir::internal::*;

pub use instructions::{choose as choose_kernels, Isa};
pub use maxpool::substitute as substitute_max_pools;

use epilogue::Step;
use layout::{Geometry, Shape};
use run::{prepare_split, run_split, Part};

/// Which kernels the direct convolution and max pool run on (`--direct-kernels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectKernels {
    /// AVX-512 where the machine has it, else tract's kernels (which ran faster than the AVX2
    /// ones: BENCHMARKS.md, stop 33).
    Auto,
    /// AVX2 with FMA, even where the machine has AVX-512 (to compare them); tract's kernels on a
    /// machine without AVX2 and FMA.
    Avx2,
    /// tract's kernels throughout: the server's own convolution and max pool are not used.
    Off,
}

/// Replaces every convolution the direct kernel runs, with the element-wise operations after it
/// that it absorbs, in a decluttered model. Does nothing where no kernels were chosen
/// (`instructions::choose`). A convolution it cannot replace stays tract's: that is logged, never a
/// failed load.
pub fn substitute(model: &mut TypedModel) -> TractResult<()> {
    substitute_within(model, MAX_COMPUTED_PER_ANSWER)
}

/// Positions computed per answer past which a convolution is left to tract: our kernel runs
/// about twice as fast as tract's im2col and matrix product, so at twice the work it would gain
/// nothing. ResNet-50's worst, its 7x7 outputs, computes 64 positions for 49 answers (1.31).
/// Measured on `kernel.rs`'s tiles, and applied to every convolution, though it may then run on
/// `across.rs`'s, which compute none for nothing (a 1x1 convolution of an image under about 16
/// positions stays tract's).
const MAX_COMPUTED_PER_ANSWER: f64 = 2.0;

/// [`substitute`] with another bound on the positions computed per answer (the tests take every
/// geometry).
fn substitute_within(model: &mut TypedModel, max_waste: f64) -> TractResult<()> {
    patch_each(model, "convolution", |model, id| {
        replacement(model, id, max_waste)
    })
}

/// Applies `replacement`'s patch to every node it makes one for, in evaluation order, where
/// kernels were chosen (elsewhere, nothing). A patch that cannot be built leaves its node to
/// tract, which is logged; one that fails while it is applied fails the load (the model would be
/// half patched).
fn patch_each(
    model: &mut TypedModel,
    what: &str,
    replacement: impl Fn(&TypedModel, usize) -> TractResult<Option<TypedModelPatch>>,
) -> TractResult<()> {
    if !instructions::available() {
        return Ok(());
    }
    for id in model.eval_order()? {
        match replacement(model, id) {
            Ok(Some(patch)) => patch.apply(model)?,
            Ok(None) => {}
            Err(cause) => {
                let name = &model.node(id).name;
                tracing::debug!("{what} {name} stays tract's: {cause:#}");
            }
        }
    }
    Ok(())
}

/// The patch replacing node `id` if it is a convolution the direct kernel runs. (Made whole before
/// it is applied: a patch failing halfway through `apply` would leave the model half patched,
/// which is an error, not a convolution left to tract.)
fn replacement(model: &TypedModel, id: usize, max_waste: f64) -> TractResult<Option<TypedModelPatch>> {
    let Some(substitute::Found {
        params,
        channel_axis,
        data,
    }) = substitute::find(model, id, max_waste)?
    else {
        return Ok(None);
    };
    let (steps, last, residual) = absorb::absorbed(model, id, params.out_channels, channel_axis)?;
    // The input's channel axis: the output's, but for an `EinSum` that adds or drops the image
    // axis.
    let input_channel_axis = match &params.form {
        Form::Pointwise { channel_axis, .. } => *channel_axis,
        Form::Conv { .. } => model.outlet_fact(data)?.rank().saturating_sub(3),
    };
    let (prologue, data) = absorb::preceding(model, data, params.channels, input_channel_axis)?;
    let params = Params {
        steps: [params.steps, steps].concat(),
        prologue,
        ..params
    }
    .tiled_for(model.outlet_fact(data)?);
    let mut patch = TypedModelPatch::new(format!("direct convolution {}", model.node(id).name));
    let mut inputs = tvec![patch.tap_model(model, data)?];
    if let Some(residual) = residual {
        inputs.push(patch.tap_model(model, residual)?);
    }
    let op = DirectConv {
        params: Arc::new(params),
    };
    // The name of the last node replaced: an unlabelled model output is named after it.
    let output = patch.wire_node(&model.node(last).name, op, &inputs)?[0];
    patch.shunt_outside(model, OutletId::new(last, 0), output)?;
    Ok(Some(patch))
}

#[derive(Debug, Clone)]
pub struct DirectConv {
    params: Arc<Params>,
}

struct Params {
    form: Form,
    channels: usize,
    out_channels: usize,
    /// `layout::pack_weights`'s blocks, or `across::pack_weights`'s when `across`.
    weights: Vec<f32>,
    /// Whether `across.rs`'s tile runs it (a convolution of a small image), not `kernel.rs`'s.
    across: bool,
    /// What follows the sums, in the graph's order (a `Conv`'s bias first).
    steps: Vec<Step>,
    /// What is done to each input channel before it is read, in the graph's order (no
    /// `AddInput`).
    prologue: Vec<Step>,
}

#[derive(Debug)]
enum Form {
    /// tract's `Conv` (or a strided 1x1 convolution's `EinSum` and `Downsample`s): channels
    /// first, with or without the image axis.
    Conv {
        pool_spec: Box<PoolSpec>,
        kernel: [usize; 2],
    },
    /// A 1x1 convolution of one image that tract made an `EinSum`: `[1.., I, P..]` (`I` on axis
    /// `channel_axis`) to this output shape, `plane` the product of the `P` axes.
    Pointwise {
        output_shape: TVec<usize>,
        plane: usize,
        channel_axis: usize,
    },
}

op_by_identity!(DirectConv, params, "DirectConv");

// By hand: the derived form would print every packed weight (megabytes) into tract's messages.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |steps: &[Step]| steps.iter().map(Step::name).collect::<Vec<_>>();
        write!(
            f,
            "{:?} to {} -> {} channels{}, {:?}, then {:?}",
            names(&self.prologue),
            self.channels,
            self.out_channels,
            if self.across { " across" } else { "" },
            self.form,
            names(&self.steps)
        )
    }
}

impl Params {
    /// Where the kernel reads and writes for an input of shape `input`, and the output's shape.
    fn geometry(&self, input: &[usize]) -> (Geometry, TVec<usize>) {
        let (pool_spec, kernel) = match &self.form {
            Form::Pointwise {
                output_shape, plane, ..
            } => {
                let shape = Shape {
                    channels: self.channels,
                    kernel: [1, 1],
                    stride: [1, 1],
                    dilation: [1, 1],
                    pad_before: [0, 0],
                    input: [1, *plane],
                    output: [1, *plane],
                };
                return (Geometry::new(&shape), output_shape.clone());
            }
            Form::Conv { pool_spec, kernel } => (pool_spec, *kernel),
        };
        let geometry = Geometry::pooled(pool_spec, kernel, self.channels, &input[input.len() - 2..]);
        let mut output: TVec<usize> = input.into();
        let channel_axis = input.len() - 3;
        output[channel_axis] = self.out_channels;
        output[channel_axis + 1] = geometry.out_h;
        output[channel_axis + 2] = geometry.out_w;
        (geometry, output)
    }
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let params = &*self.params;
        let input = &inputs[0];
        let (geometry, out_shape) = params.geometry(input.shape());
        // SAFETY: f32 has no invalid bit patterns, and `run_split` writes every element (every
        // channel of every image, every valid position of each: the tiles in place, `finish`, or
        // `transpose::to_channels` after the across tiles).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape)? };
        let image_out = params.out_channels * geometry.out_h * geometry.out_w;
        let image_in = geometry.channels * geometry.in_h * geometry.in_w;
        if image_out == 0 {
            return Ok(tvec!(output.into_tvalue()));
        }
        let images = output.len() / image_out;
        let pixels = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let residual = match inputs.get(1) {
            Some(residual) => residual.try_as_plain_ram()?.as_slice::<f32>()?,
            None => &[],
        };
        let absorbs_residual = params.steps.contains(&Step::AddInput);
        ensure!(pixels.len() == images * image_in);
        ensure!(absorbs_residual == (inputs.len() == 2));
        ensure!(!absorbs_residual || residual.len() == output.len());
        let mut view = output.try_as_plain_ram_mut()?;
        let outputs = view.as_slice_mut::<f32>()?.chunks_exact_mut(image_out);
        let (mut laid_out, mut prepared) = (Vec::new(), Vec::new());
        for (image, output) in outputs.enumerate() {
            // An image may have no pixels (and still answers, from its padding alone).
            let mut pixels = &pixels[image * image_in..(image + 1) * image_in];
            if !params.prologue.is_empty() {
                prepare_split(&params.prologue, geometry.channels, pixels, &mut prepared);
                pixels = &prepared;
            }
            let input = if geometry.reads_image_as_is() {
                pixels
            } else {
                geometry.lay_out(pixels, &mut laid_out);
                &laid_out
            };
            let residual = residual
                .get(image * image_out..(image + 1) * image_out)
                .unwrap_or(&[]);
            run_split(params, &geometry, input, Part { output, residual });
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        match &self.params.form {
            Form::Conv { pool_spec, .. } => pool_spec.output_facts(&inputs[..1]),
            Form::Pointwise { output_shape, .. } => Ok(tvec!(f32::fact(output_shape))),
        }
    }

    as_op!();
}

#[cfg(test)]
mod tests;
