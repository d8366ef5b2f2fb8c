//! The element-wise operations after a convolution that the direct convolution does to its sums
//! (`epilogue.rs`), as tract would fuse them into its matrix product: a per-channel multiply or
//! add (bias, batch normalisation), the addition of another tensor of the output's shape (a
//! residual connection), `max(x, 0)` (ReLU). And those before it that only it reads (a
//! pre-activation: DenseNet's batch normalisation and ReLU of each layer's input), which it does
//! to its input as it reads it, in one pass instead of one per operation.

use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::math::{Add, Max, Mul};
use tract_onnx::tract_hir::internal::*;

use super::epilogue::Step;

/// The element-wise operations after node `id` that the direct convolution can do to its sums,
/// the last node they cover, and the second input the residual step reads, if any.
pub fn absorbed(
    model: &TypedModel,
    id: usize,
    out_channels: usize,
    channel_axis: usize,
) -> TractResult<(Vec<Step>, usize, Option<OutletId>)> {
    let fact = model.outlet_fact(OutletId::new(id, 0))?.clone();
    let (mut steps, mut last, mut residual) = (Vec::new(), id, None);
    loop {
        let outlet = OutletId::new(last, 0);
        let [successor] = &model.node(last).outputs[0].successors[..] else {
            break;
        };
        let node = model.node(successor.node);
        let Some(op) = node.op_as::<TypedBinOp>().filter(|op| op.1.is_none()) else {
            break;
        };
        if model.outputs.contains(&outlet) || node.outputs[0].fact != fact {
            break;
        }
        let other = node.inputs[1 - successor.slot];
        let other_fact = model.outlet_fact(other)?;
        let per_channel = other_fact
            .konst
            .as_ref()
            .and_then(|k| per_channel(k, out_channels, channel_axis, fact.rank()));
        let step = match per_channel {
            Some(k) if op.0.is::<Mul>() => Step::Mul(k),
            Some(k) if op.0.is::<Add>() => Step::Add(k),
            // +0.0 only: max(x, -0.0) is -0.0 for a negative x, where the ReLU step gives +0.0.
            Some(k) if op.0.is::<Max>() && k.iter().all(|&v| v.to_bits() == 0) => Step::Relu,
            None if op.0.is::<Add>()
                && residual.is_none()
                && other_fact.konst.is_none()
                && *other_fact == fact
                && !depends_on(model, other.node, id) =>
            {
                residual = Some(other);
                Step::AddInput
            }
            _ => break,
        };
        steps.push(step);
        last = node.id;
    }
    Ok((steps, last, residual))
}

/// The per-channel multiplies, adds and ReLUs that lead to `data`, the input of a convolution of
/// `channels` input channels, read by nothing else: the steps in the graph's order, and the input
/// the first of them reads.
pub fn preceding(
    model: &TypedModel,
    mut data: OutletId,
    channels: usize,
    channel_axis: usize,
) -> TractResult<(Vec<Step>, OutletId)> {
    let fact = model.outlet_fact(data)?.clone();
    let mut steps = Vec::new();
    loop {
        let node = model.node(data.node);
        let Some(op) = node.op_as::<TypedBinOp>().filter(|op| op.1.is_none()) else {
            break;
        };
        let only_read_here = node.outputs[0].successors.len() == 1 && !model.outputs.contains(&data);
        if !only_read_here || node.outputs[0].fact != fact || node.inputs.len() != 2 {
            break;
        }
        let constant = |slot: usize| {
            let konst = model.outlet_fact(node.inputs[slot]).ok()?.konst.as_ref()?;
            per_channel(konst, channels, channel_axis, fact.rank())
        };
        let (slot, k) = match (constant(0), constant(1)) {
            (None, Some(k)) => (0, k),
            (Some(k), None) => (1, k),
            _ => break,
        };
        let input = node.inputs[slot];
        if *model.outlet_fact(input)? != fact {
            break;
        }
        let step = if op.0.is::<Mul>() {
            Step::Mul(k)
        } else if op.0.is::<Add>() {
            Step::Add(k)
        } else if op.0.is::<Max>() && k.iter().all(|&v| v.to_bits() == 0) {
            // +0.0 only, as after a convolution.
            Step::Relu
        } else {
            break;
        };
        steps.push(step);
        data = input;
    }
    steps.reverse();
    Ok((steps, data))
}

/// A constant as one float per output channel: a scalar, or `[1.., C, 1..]` with `C` on the
/// output's channel axis.
fn per_channel(konst: &Tensor, channels: usize, channel_axis: usize, rank: usize) -> Option<Vec<f32>> {
    if konst.datum_type() != f32::datum_type() || konst.rank() > rank {
        return None;
    }
    let values = konst.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?;
    if values.len() == 1 {
        return Some(vec![values[0]; channels]);
    }
    // Broadcasting aligns the constant's axes to the output's last ones.
    let offset = rank - konst.rank();
    let shape_fits = konst.shape().iter().enumerate().all(|(axis, &d)| {
        if axis + offset == channel_axis {
            d == channels
        } else {
            d == 1
        }
    });
    (shape_fits && values.len() == channels).then(|| values.to_vec())
}

/// Whether node `node` reads, directly or not, node `of`'s output: then it cannot be an input of
/// the op replacing `of`.
fn depends_on(model: &TypedModel, node: usize, of: usize) -> bool {
    let mut seen = vec![false; model.nodes().len()];
    let mut stack = vec![node];
    while let Some(at) = stack.pop() {
        if at == of {
            return true;
        }
        if !std::mem::replace(&mut seen[at], true) {
            stack.extend(model.node(at).inputs.iter().map(|input| input.node));
        }
    }
    false
}
