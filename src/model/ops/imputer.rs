//! `ai.onnx.ml` Imputer (SimpleImputer): values equal to the replaced value (NaN by default for
//! floats) become the imputed value of their column (or the one value for all columns).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Imputer {
    /// `[1, C]` (or `[1, 1]`), of the input's type once wired.
    imputed: Arc<Tensor>,
    /// The value to replace; `None` for NaN, which no comparison finds.
    replaced: Option<Arc<Tensor>>,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let floats: Option<Vec<f32>> = node.get_attr_opt_vec("imputed_value_floats")?;
    let ints: Option<Vec<i64>> = node.get_attr_opt_vec("imputed_value_int64s")?;
    let imputer = match (floats.filter(|v| !v.is_empty()), ints.filter(|v| !v.is_empty())) {
        (Some(floats), _) => {
            let replaced: f32 = node.get_attr_opt("replaced_value_float")?.unwrap_or(0.0);
            Imputer {
                imputed: super::row(&floats)?,
                replaced: (!replaced.is_nan()).then(|| rctensor0(replaced)),
            }
        }
        (None, Some(ints)) => {
            let replaced: i64 = node.get_attr_opt("replaced_value_int64")?.unwrap_or(0);
            Imputer {
                imputed: super::row(&ints)?,
                replaced: Some(rctensor0(replaced)),
            }
        }
        (None, None) => bail!("Imputer without imputed_value_floats or imputed_value_int64s"),
    };
    Ok((expand(imputer), vec![]))
}

impl Expansion for Imputer {
    fn name(&self) -> StaticName {
        "Imputer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = inputs[0];
        let datum = model.outlet_fact(x)?.datum_type;
        let imputed = model.add_const(
            format!("{prefix}.imputed"),
            self.imputed.cast_to_dt(datum)?.into_owned().into_arc_tensor(),
        )?;
        let missing = match &self.replaced {
            None => model.wire_node(format!("{prefix}.is_nan"), tract_core::ops::math::is_nan(), &[x])?[0],
            Some(replaced) => {
                let replaced = replaced
                    .cast_to_dt(datum)?
                    .into_owned()
                    .broadcast_into_rank(2)?
                    .into_arc_tensor();
                let replaced = model.add_const(format!("{prefix}.replaced"), replaced)?;
                model.wire_node(
                    format!("{prefix}.eq"),
                    tract_core::ops::binary::TypedBinOp(tract_core::ops::logic::comp_eq(), None),
                    &[x, replaced],
                )?[0]
            }
        };
        model.wire_node(
            format!("{prefix}.where"),
            tract_core::ops::logic::Iff,
            &[missing, imputed, x],
        )
    }
}
