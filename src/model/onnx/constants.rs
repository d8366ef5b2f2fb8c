//! The optimised model's constants relaid with the natural strides of their shapes. tract folds
//! an `Unsqueeze` of a weight (Caffe2 exports such as the onnx zoo's DenseNet-121 scale and shift
//! every channel that way) by inserting axes that keep a copied stride. Its element-wise kernels
//! (`OptBinByScalar`, `OptBinChain`) check for natural strides on every run and otherwise take
//! their generic path, ndarray's broadcasting iterator: a quarter of DenseNet-121's run.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::konst::Const;

/// Relays every constant whose strides differ from its shape's natural ones only on axes of
/// length 1: its elements are already in order, so only the strides change (one copy at load).
/// Any other layout is left as tract made it.
pub(super) fn make_natural(model: &mut TypedModel) -> TractResult<()> {
    for node in &mut model.nodes {
        let Some(konst) = node.op_as::<Const>() else {
            continue;
        };
        if konst.exotic_fact().is_some() || !only_unit_axes_differ(konst.val()) {
            continue;
        }
        let tensor = natural(konst.val()).into_arc_tensor();
        node.op = Box::new(Const::new(tensor.clone())?);
        if let Some(output) = node.outputs.first_mut() {
            output.fact.konst = Some(tensor);
        }
    }
    Ok(())
}

/// A copy of `tensor` with natural strides; only for a tensor where `only_unit_axes_differ`.
fn natural(tensor: &Tensor) -> Tensor {
    let mut natural = tensor.clone();
    let shape = tensor.shape().to_vec();
    // SAFETY: the elements are in natural order already (`only_unit_axes_differ`), and tract
    // tensors start at their first element, so the natural strides address each one.
    unsafe { natural.set_geometry_unchecked(&shape, &Tensor::natural_strides(&shape)) };
    natural
}

fn only_unit_axes_differ(tensor: &Tensor) -> bool {
    let natural = Tensor::natural_strides(tensor.shape());
    let strides = tensor.strides();
    tensor.len() > 0
        && strides.len() == natural.len()
        && strides != &*natural
        && tensor
            .shape()
            .iter()
            .zip(strides.iter().zip(natural.iter()))
            .all(|(&len, (a, b))| len == 1 || a == b)
}

#[cfg(test)]
mod tests;
