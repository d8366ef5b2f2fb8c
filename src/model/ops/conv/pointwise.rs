//! The 1x1 convolution tract makes an `EinSum` of when it declutters a `Conv` of one image: found
//! here, with its weights packed for the direct kernel (`substitute.rs` takes it from there).

use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_hir::internal::*;

use super::kernel::NARROW;
use super::{layout, Form, Params};

/// A 1x1 convolution as tract declutters it: an `EinSum` summing axis `I` of the data
/// `[1.., I, spatial..]` against constant weights `[O, I]` or `[I, O]` into `[1.., O, spatial..]`,
/// all of it with concrete sizes (one image).
pub fn params(model: &TypedModel, node: &TypedNode, einsum: &EinSum) -> TractResult<Option<(Params, usize)>> {
    if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let data = model.outlet_fact(node.inputs[0])?;
    let weights_fact = model.outlet_fact(node.inputs[1])?;
    let output = &node.outputs[0].fact;
    let (Some(weights), Some(data_shape), Some(out_shape)) = (
        weights_fact.konst.clone(),
        data.shape.as_concrete(),
        output.shape.as_concrete(),
    ) else {
        return Ok(None);
    };
    if data.datum_type != f32::datum_type()
        || weights.datum_type() != f32::datum_type()
        || weights.rank() != 2
        || output.datum_type != f32::datum_type()
    {
        return Ok(None);
    }
    let (mut summed, mut produced, mut kept) = (None, None, Vec::new());
    for axis in einsum.axes.iter_all_axes() {
        match (&axis.inputs[0][..], &axis.inputs[1][..], &axis.outputs[0][..]) {
            (&[d], &[w], &[]) if summed.is_none() => summed = Some((d, w)),
            (&[], &[w], &[o]) if produced.is_none() => produced = Some((w, o)),
            (&[d], &[], &[o]) => kept.push((d, o)),
            // An axis of size 1 on one side only: the image axis tract adds or removes.
            (&[d], &[], &[]) if data_shape[d] == 1 => {}
            (&[], &[], &[o]) if out_shape[o] == 1 => {}
            _ => return Ok(None),
        }
    }
    let (Some((channel_in, weight_in)), Some((weight_out, channel_out))) = (summed, produced) else {
        return Ok(None);
    };
    // The data must be `[I, P]` and the output `[O, P]` in memory: only axes of size 1 before
    // the channels, and the kept axes longer than 1 after them in the same order on both sides.
    kept.retain(|&(d, _)| data_shape[d] != 1);
    kept.sort();
    let after = kept.iter().all(|&(d, o)| d > channel_in && o > channel_out);
    let same_order = kept.windows(2).all(|pair| pair[0].1 < pair[1].1);
    let ones_before = data_shape[..channel_in]
        .iter()
        .chain(&out_shape[..channel_out])
        .all(|&d| d == 1);
    if !(after && same_order && ones_before) {
        return Ok(None);
    }
    let (channels, out_channels) = (data_shape[channel_in], out_shape[channel_out]);
    let weights = if weight_out == 0 {
        weights
    } else {
        (*weights).clone().permute_axes(&[1, 0])?.into_arc_tensor()
    };
    if weights.shape() != [out_channels, channels] || weight_in == weight_out {
        return Ok(None);
    }
    // Fewer positions than a tile would leave most of each tile's lanes idle (a fully
    // connected layer on one image has one): tract's matrix-vector kernels do better.
    let plane: usize = data_shape[channel_in + 1..].iter().product();
    if plane < NARROW || channels == 0 {
        return Ok(None);
    }
    let weights = weights.try_as_plain_ram()?.as_slice::<f32>()?;
    Ok(Some((
        Params {
            form: Form::Pointwise {
                output_shape: out_shape.into(),
                plane,
                channel_axis: channel_in,
            },
            channels,
            out_channels,
            weights: layout::pack_weights(weights, out_channels, channels, 1),
            across: false,
            steps: Vec::new(),
            prologue: Vec::new(),
        },
        channel_out,
    )))
}
