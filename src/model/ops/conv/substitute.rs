//! Finding what the direct convolution replaces in a decluttered model: tract's `Conv` (float32,
//! 2-D, channels first, one group, constant weights and bias), the `EinSum` tract makes of a 1x1
//! convolution (`[1.., I, spatial..] x [O, I] -> [1.., O, spatial..]`), and the `Downsample`s
//! before a strided one. The operations after them are `absorb.rs`'s.

use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::epilogue::Step;
use super::{layout, Form, Params};

/// What replaces one convolution: its parameters, the axis of its output channels, and the
/// input it reads (a strided 1x1 convolution reads its `Downsample`'s input).
pub struct Found {
    pub params: Params,
    pub channel_axis: usize,
    pub data: OutletId,
}

/// The replacement for node `id` if it is a convolution the direct kernel runs.
pub fn find(model: &TypedModel, id: usize, max_waste: f64) -> TractResult<Option<Found>> {
    let node = model.node(id);
    let found = if let Some(conv) = node.op_as::<Conv>() {
        conv_params(model, node, conv, max_waste)?
    } else if let Some(einsum) = node.op_as::<EinSum>() {
        super::pointwise::params(model, node, einsum)?
    } else {
        None
    };
    let Some((params, channel_axis)) = found else {
        return Ok(None);
    };
    let found = Found {
        params,
        channel_axis,
        data: node.inputs[0],
    };
    Ok(Some(strided(model, node, found)?))
}

/// A 1x1 convolution with a stride, which tract declutters into a `Downsample` per axis before
/// the `EinSum`: read the `Downsample`s' input instead, with the stride, which the layout
/// applies as it copies (one pass over the input less).
fn strided(model: &TypedModel, node: &TypedNode, found: Found) -> TractResult<Found> {
    let Form::Pointwise {
        output_shape,
        channel_axis,
        ..
    } = &found.params.form
    else {
        return Ok(found);
    };
    let mut strides = tvec![1usize; model.outlet_fact(found.data)?.rank()];
    let mut data = found.data;
    while let Some(down) = model.node(data.node).op_as::<Downsample>() {
        let Ok(stride) = usize::try_from(down.stride) else {
            break;
        };
        if down.modulo != 0 || stride == 0 || strides[down.axis] != 1 {
            break;
        }
        strides[down.axis] = stride;
        data = model.node(data.node).inputs[0];
    }
    let fact = model.outlet_fact(data)?;
    let rank = fact.rank();
    let channels_first = rank.checked_sub(3) == Some(*channel_axis);
    if data == node.inputs[0] || !channels_first || rank > 4 || strides[..rank - 2].iter().any(|&s| s != 1) {
        return Ok(found);
    }
    let pool_spec = PoolSpec {
        data_format: if rank == 4 {
            DataFormat::NCHW
        } else {
            DataFormat::CHW
        },
        kernel_shape: tvec![1, 1],
        padding: PaddingSpec::Valid,
        dilations: None,
        strides: Some(strides[rank - 2..].into()),
        input_channels: found.params.channels,
        output_channels: found.params.out_channels,
    };
    // Only where tract's shapes agree: same channels, and the output as the `EinSum` gives it.
    let channels_agree =
        fact.shape.get(rank - 3).and_then(|d| d.to_usize().ok()) == Some(pool_spec.input_channels);
    let same_output =
        channels_agree && pool_spec.output_facts(&[fact])?[0].shape.as_concrete() == Some(&output_shape[..]);
    if !same_output {
        return Ok(found);
    }
    let form = Form::Conv {
        pool_spec: Box::new(pool_spec),
        kernel: [1, 1],
    };
    Ok(Found {
        params: Params { form, ..found.params },
        channel_axis: rank - 3,
        data,
    })
}

fn conv_params(
    model: &TypedModel,
    node: &TypedNode,
    conv: &Conv,
    max_waste: f64,
) -> TractResult<Option<(Params, usize)>> {
    let spec = &conv.pool_spec;
    let channel_axis = match spec.data_format {
        DataFormat::NCHW => 1,
        DataFormat::CHW => 0,
        _ => return Ok(None),
    };
    if conv.q_params.is_some()
        || conv.group != 1
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.rank() != 2
        || node.inputs.len() != 3
        || model.outlet_fact(node.inputs[0])?.datum_type != f32::datum_type()
        || padding_beyond_kernel(spec)
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
    let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
    let bias = match bias.len() {
        1 => vec![bias[0]; out_channels],
        n if n == out_channels => bias.to_vec(),
        _ => return Ok(None),
    };
    let taps = kernel[0] * kernel[1];
    let form = Form::Conv {
        pool_spec: Box::new(spec.clone()),
        kernel,
    };
    if computed_per_answer(&form, channels, out_channels, model.outlet_fact(node.inputs[0])?) > max_waste {
        return Ok(None);
    }
    let weights = weights.try_as_plain_ram()?.as_slice::<f32>()?;
    Ok(Some((
        Params {
            form,
            channels,
            out_channels,
            weights: layout::pack_weights(weights, out_channels, channels, taps),
            across: false,
            steps: vec![Step::Add(bias)],
            prologue: Vec::new(),
        },
        channel_axis,
    )))
}

/// Explicit padding wider than the dilated kernel's reach on some axis: rows and columns of
/// padding no tap of a real output reads, which the layout would still copy (no CNN pads so, and
/// a model file could make the copy as large as it likes).
pub(super) fn padding_beyond_kernel(spec: &PoolSpec) -> bool {
    let (PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _)) =
        &spec.padding
    else {
        return false;
    };
    (0..spec.rank()).any(|axis| {
        let reach = (spec.kernel_shape[axis] - 1).saturating_mul(spec.dilation(axis));
        before[axis] > reach || after[axis] > reach
    })
}

/// Positions the layout computes per answer, its extra columns and whole tiles included: large
/// for a heavily dilated convolution (DeepLab's atrous ones) or a kernel as large as its input
/// (a fully connected layer written as a convolution: 32 positions for one answer). With an
/// image size unknown at load, a dilated convolution counts as wasteful.
fn computed_per_answer(form: &Form, channels: usize, out_channels: usize, data: &TypedFact) -> f64 {
    let Form::Conv { pool_spec, kernel } = form else {
        return 1.0;
    };
    // The image size alone: a symbolic batch (the server's main plan) does not change it.
    let rank = data.rank();
    let spatial: Option<Vec<usize>> = (rank >= 3)
        .then(|| data.shape[rank - 2..].iter().map(|d| d.to_usize().ok()).collect())
        .flatten();
    let Some(spatial) = spatial else {
        let dilated = pool_spec.dilations().iter().any(|&d| d > 1);
        return if dilated { f64::INFINITY } else { 1.0 };
    };
    let shape = [channels, spatial[0], spatial[1]];
    let form = Form::Conv {
        pool_spec: pool_spec.clone(),
        kernel: *kernel,
    };
    let probe = Params {
        form,
        channels,
        out_channels,
        weights: Vec::new(),
        across: false,
        steps: Vec::new(),
        prologue: Vec::new(),
    };
    let (geometry, _) = probe.geometry(&shape);
    let answers = (geometry.out_h * geometry.out_w).max(1);
    geometry.positions() as f64 / answers as f64
}
