//! A direct convolution for float32 2-D convolutions, replacing tract's where the machine has
//! AVX-512. tract runs a convolution as a matrix product: it gathers every patch of the input
//! (im2col: 9 copies of the activation for a 3x3 kernel), packs it into panels, and multiplies
//! with a kernel whose operands stream from L2 because it does not block the summed dimension.
//! Profiled per node on ResNet-50 (one image, one thread), its 3x3 convolutions ran at 40-115
//! GFLOP/s where onnxruntime's ran at 75-170 (BENCHMARKS.md).
//!
//! This one copies the input once into zero-padded phase planes (`layout.rs`), after which every
//! tap of 32 consecutive outputs is 32 consecutive floats, and sums 8 output channels by 32
//! outputs per tile straight from them (`kernel.rs`). It sums in tract's order (input channel,
//! then kernel row, then column, from zero, then the bias, then the ReLU it absorbs), so its
//! answers are tract's to the bit.

mod kernel;
mod layout;

use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PoolSpec};
use tract_onnx::tract_core::ops::math::Max;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use kernel::{Tile, ROWS, TILE_WIDTH};
use layout::{Geometry, Shape};

/// Replaces every convolution the direct kernel runs (and the ReLU right after it, if any) in a
/// decluttered model. Does nothing on a machine without AVX-512.
pub fn substitute(model: &mut TypedModel) -> TractResult<()> {
    if !kernel::available() {
        return Ok(());
    }
    for id in model.eval_order()? {
        let Some(direct) = DirectConv::for_node(model, id)? else {
            continue;
        };
        let conv = model.node(id);
        let (relu, last) = match relu_after(model, id) {
            Some(relu) => (true, relu),
            None => (false, id),
        };
        let op = DirectConv {
            params: Arc::new(Params { relu, ..direct }),
        };
        let mut patch = TypedModelPatch::new(format!("direct convolution {}", conv.name));
        let input = patch.tap_model(model, conv.inputs[0])?;
        let output = patch.wire_node(&conv.name, op, &[input])?[0];
        patch.shunt_outside(model, OutletId::new(last, 0), output)?;
        patch.apply(model)?;
    }
    Ok(())
}

/// The ReLU (`max(x, 0)` once decluttered) that alone reads convolution `id`'s output, keeping
/// its shape and type.
fn relu_after(model: &TypedModel, id: usize) -> Option<usize> {
    let [successor] = &model.node(id).outputs[0].successors[..] else {
        return None;
    };
    let node = model.node(successor.node);
    let max = node
        .op_as::<TypedBinOp>()
        .filter(|op| op.0.is::<Max>() && op.1.is_none())?;
    let zero = model
        .outlet_fact(node.inputs[1 - successor.slot])
        .ok()?
        .konst
        .clone()?;
    let is_zero = zero.len() == 1 && zero.cast_to_scalar::<f32>().ok()? == 0.0;
    let keeps_fact = node.outputs[0].fact == model.node(id).outputs[0].fact;
    (max.0.is::<Max>() && is_zero && keeps_fact).then_some(node.id)
}

#[derive(Debug, Clone)]
pub struct DirectConv {
    params: Arc<Params>,
}

#[derive(Debug)]
struct Params {
    pool_spec: PoolSpec,
    out_channels: usize,
    kernel: [usize; 2],
    /// `layout::pack_weights`'s blocks.
    weights: Vec<f32>,
    /// One per output channel.
    bias: Vec<f32>,
    relu: bool,
}

op_by_identity!(DirectConv, params, "DirectConv");

impl DirectConv {
    /// The parameters for node `id` if it is a convolution this op runs: float32, 2-D, channels
    /// first, one group, constant weights and bias.
    fn for_node(model: &TypedModel, id: usize) -> TractResult<Option<Params>> {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else {
            return Ok(None);
        };
        let spec = &conv.pool_spec;
        let channels_first = matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW);
        if conv.q_params.is_some()
            || conv.group != 1
            || conv.kernel_fmt != KernelFormat::OIHW
            || spec.rank() != 2
            || !channels_first
            || node.inputs.len() != 3
            || model.outlet_fact(node.inputs[0])?.datum_type != f32::datum_type()
        {
            return Ok(None);
        }
        let konst = |slot: usize| model.outlet_fact(node.inputs[slot]).map(|f| f.konst.clone());
        let (Some(weights), Some(bias)) = (konst(1)?, konst(2)?) else {
            return Ok(None);
        };
        let (out_channels, channels) = (spec.output_channels, spec.input_channels);
        let kernel = [spec.kernel_shape[0], spec.kernel_shape[1]];
        if weights.datum_type() != f32::datum_type()
            || weights.shape() != [out_channels, channels, kernel[0], kernel[1]]
            || weights.len() == 0
        {
            return Ok(None);
        }
        let bias = bias.cast_to::<f32>()?;
        let bias = match bias.len() {
            1 => vec![bias.try_as_plain_ram()?.as_slice::<f32>()?[0]; out_channels],
            n if n == out_channels => bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            _ => return Ok(None),
        };
        let taps = kernel[0] * kernel[1];
        let weights = layout::pack_weights(
            weights.try_as_plain_ram()?.as_slice::<f32>()?,
            out_channels,
            channels,
            taps,
        );
        Ok(Some(Params {
            pool_spec: spec.clone(),
            out_channels,
            kernel,
            weights,
            bias,
            relu: false,
        }))
    }
}

impl Params {
    fn geometry(&self, input: &[usize]) -> Geometry {
        let spatial = &input[input.len() - 2..];
        let padding = self.pool_spec.computed_padding(spatial);
        let pair = |f: &dyn Fn(usize) -> usize| [f(0), f(1)];
        Geometry::new(&Shape {
            channels: self.pool_spec.input_channels,
            kernel: self.kernel,
            stride: pair(&|a| self.pool_spec.stride(a)),
            dilation: pair(&|a| self.pool_spec.dilation(a)),
            pad_before: pair(&|a| padding[a].pad_before),
            input: [spatial[0], spatial[1]],
            output: pair(&|a| padding[a].convoluted),
        })
    }

    /// One image's output channels `first_block * ROWS..`, into `output` (`[channel, out_h,
    /// out_w]`, as many channels as it holds).
    fn run_blocks(&self, geometry: &Geometry, laid_out: &[f32], first_block: usize, output: &mut [f32]) {
        let plane_out = (geometry.out_h * geometry.out_w).max(1);
        let block_weights = geometry.channels * geometry.offsets.len() * ROWS;
        let tiles = geometry.positions() / TILE_WIDTH;
        let tiles_per_group = tiles.div_ceil(self.groups(laid_out)).max(1);
        let group_width = tiles_per_group * TILE_WIDTH;
        let mut sums = vec![0.0f32; ROWS * group_width];
        for group in (0..tiles).step_by(tiles_per_group) {
            for (block, block_output) in output.chunks_mut(ROWS * plane_out).enumerate() {
                let block = first_block + block;
                let weights = &self.weights[block * block_weights..][..block_weights];
                for tile in group..tiles.min(group + tiles_per_group) {
                    let tile_sums = &mut sums[(tile - group) * TILE_WIDTH..];
                    Tile {
                        input: &laid_out[tile * TILE_WIDTH..],
                        channel_stride: geometry.channel_stride(),
                        channels: geometry.channels,
                        offsets: &geometry.offsets,
                        weights,
                    }
                    .run(tile_sums, group_width, ROWS);
                }
                let first = group * TILE_WIDTH;
                let bias = &self.bias[block * ROWS..];
                for ((channel, sums), &bias) in block_output
                    .chunks_mut(plane_out)
                    .zip(sums.chunks(group_width))
                    .zip(bias)
                {
                    self.finish(geometry, first, sums, bias, channel);
                }
            }
        }
    }

    /// How many groups of tiles to run, each read by every block of output channels before the
    /// next: more than one when the laid-out input overflows [`INPUT_GROUP_BYTES`] while all the
    /// weights fit [`WEIGHTS_IN_CACHE_BYTES`], which each group then reads again.
    fn groups(&self, laid_out: &[f32]) -> usize {
        if std::mem::size_of_val(&self.weights[..]) > WEIGHTS_IN_CACHE_BYTES {
            return 1;
        }
        std::mem::size_of_val(laid_out).div_ceil(INPUT_GROUP_BYTES)
    }

    /// One output channel's answers at positions `first..` from their `sums`: bias, then ReLU,
    /// as tract fuses them; the extra columns of each row (see `layout.rs`) are dropped.
    fn finish(&self, geometry: &Geometry, first: usize, sums: &[f32], bias: f32, channel: &mut [f32]) {
        let (plane_w, out_w) = (geometry.plane_w, geometry.out_w);
        let end = (first + sums.len()).min(geometry.out_h * plane_w);
        let mut at = first;
        while at < end {
            let (oy, ox) = (at / plane_w, at % plane_w);
            let row_end = ((oy + 1) * plane_w).min(end);
            if ox < out_w {
                let count = (out_w - ox).min(row_end - at);
                let answers = &mut channel[oy * out_w + ox..][..count];
                for (y, &sum) in answers.iter_mut().zip(&sums[at - first..]) {
                    let biased = sum + bias;
                    *y = if self.relu { biased.max(0.0) } else { biased };
                }
            }
            at = row_end;
        }
    }
}

/// The laid-out input read by all blocks of output channels before the next group of tiles: a
/// fraction of a 1-2 MiB L2, leaving room for the weights. Without groups a 128-channel stride-2
/// convolution (ResNet-50's first of stage 2, 1.7 MiB laid out) ran at 60 % of the speed of its
/// neighbours, its input streamed from L3 once per block of output channels.
const INPUT_GROUP_BYTES: usize = 384 * 1024;

/// Weights small enough to stay in L2 when each group of tiles reads them all again. Larger
/// weights (ResNet-50's last stage: 9 MiB) are read from memory once, so their tiles run in one
/// group.
const WEIGHTS_IN_CACHE_BYTES: usize = 1024 * 1024;

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let params = &*self.params;
        let shape = input.shape();
        let geometry = params.geometry(shape);
        let image_out = params.out_channels * geometry.out_h * geometry.out_w;
        let mut out_shape: TVec<usize> = shape.into();
        let channel_axis = shape.len() - 3;
        out_shape[channel_axis] = params.out_channels;
        out_shape[channel_axis + 1] = geometry.out_h;
        out_shape[channel_axis + 2] = geometry.out_w;
        let mut output = Tensor::zero::<f32>(&out_shape)?;
        let mut laid_out = Vec::new();
        let pixels = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let image_in = geometry.channels * geometry.in_h * geometry.in_w;
        let mut view = output.try_as_plain_ram_mut()?;
        let outputs = view.as_slice_mut::<f32>()?.chunks_mut(image_out.max(1));
        for (image, out) in pixels.chunks_exact(image_in.max(1)).zip(outputs) {
            geometry.lay_out(image, &mut laid_out);
            run_split(params, &geometry, &laid_out, out);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

/// One image's blocks of output channels, split over tract's intra-op pool when there is one.
fn run_split(params: &Params, geometry: &Geometry, laid_out: &[f32], output: &mut [f32]) {
    use tract_linalg::multithread::{current_tract_executor, Executor};
    let block_len = ROWS * geometry.out_h * geometry.out_w;
    let blocks = params.out_channels.div_ceil(ROWS);
    match current_tract_executor() {
        Executor::MultiThread(pool) if pool.current_num_threads() > 1 && blocks > 1 => {
            let per_thread = blocks.div_ceil(pool.current_num_threads());
            pool.scope(|scope| {
                for (index, part) in output.chunks_mut(per_thread * block_len).enumerate() {
                    scope.spawn(move |_| params.run_blocks(geometry, laid_out, index * per_thread, part));
                }
            });
        }
        _ => params.run_blocks(geometry, laid_out, 0, output),
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.params.pool_spec.output_facts(inputs)
    }

    as_op!();
}

#[cfg(test)]
mod tests;
