//! `ai.onnx.ml` Binarizer (scikit-learn's Binarizer): 1 where a value exceeds the threshold, else
//! 0, in float32 as onnxruntime computes it. A missing value (NaN) exceeds nothing and becomes 0,
//! where onnxruntime refuses the run.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Binarizer {
    /// The threshold's float32 bits (so that the op can be hashed).
    threshold: u32,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let threshold = node.get_attr_opt::<f32>("threshold")?.unwrap_or(1.0);
    Ok((
        expand(Binarizer {
            threshold: threshold.to_bits(),
        }),
        vec![],
    ))
}

impl Expansion for Binarizer {
    fn name(&self) -> StaticName {
        "Binarizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = super::to_f32(model, format!("{prefix}.to_f32"), inputs[0])?;
        let rank = model.outlet_fact(x)?.rank();
        let threshold = tensor0(f32::from_bits(self.threshold)).broadcast_into_rank(rank)?;
        let threshold = model.add_const(format!("{prefix}.threshold"), threshold.into_arc_tensor())?;
        let above = model.wire_node(
            format!("{prefix}.gt"),
            tract_core::ops::binary::TypedBinOp(tract_core::ops::logic::comp_gt(), None),
            &[x, threshold],
        )?;
        model.wire_node(prefix, tract_core::ops::cast::cast(DatumType::F32), &above)
    }
}
