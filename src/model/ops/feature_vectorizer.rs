//! `ai.onnx.ml` FeatureVectorizer: several inputs (one per column, as a ColumnTransformer feeds a
//! Scaler or Imputer) cast to float32 and joined column-wise.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::array::TypedConcat;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct FeatureVectorizer {
    /// Columns taken from each input.
    dimensions: Vec<usize>,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let dimensions: Vec<i64> = node.get_attr_opt_vec("inputdimensions")?.unwrap_or_default();
    let dimensions = dimensions
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| format_err!("negative input dimension {d}")))
        .collect::<TractResult<Vec<_>>>()?;
    // The output's declared width: refused rather than wrapped when it overflows.
    if dimensions
        .iter()
        .try_fold(0usize, |sum, d| sum.checked_add(*d))
        .is_none()
    {
        bail!("FeatureVectorizer: the input dimensions add up past any size");
    }
    Ok((expand(FeatureVectorizer { dimensions }), vec![]))
}

impl Expansion for FeatureVectorizer {
    fn name(&self) -> StaticName {
        "FeatureVectorizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        let width: usize = self.dimensions.iter().sum();
        s.equals(&outputs[0].shape[1], width.to_dim())?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let mut columns = TVec::with_capacity(inputs.len());
        for (index, &input) in inputs.iter().enumerate() {
            let mut x = input;
            if model.outlet_fact(x)?.rank() == 1 {
                x = model.wire_node(format!("{prefix}.{index}.as_column"), AxisOp::Add(1), &[x])?[0];
            }
            columns.push(super::to_f32(model, format!("{prefix}.{index}.to_f32"), x)?);
        }
        model.wire_node(format!("{prefix}.concat"), TypedConcat::new(1), &columns)
    }
}
