//! `ai.onnx` Flatten, wrapping tract's: skl2onnx's text vectorizers flatten the Tokenizer's
//! `[rows, tokens]` output, two unknown dimensions tract's Flatten refuses to multiply. A rank-2
//! input flattened at axis 1 is already flat and passes through; every other case is tract's.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axis = node.get_attr_opt::<i64>("axis")?.unwrap_or(1);
    Ok((expand(Flatten(axis)), vec![]))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Flatten(i64);

impl Flatten {
    fn tract(&self) -> tract_onnx::tract_hir::ops::array::Flatten {
        tract_onnx::tract_hir::ops::array::Flatten::new(self.0)
    }
}

impl Expansion for Flatten {
    fn name(&self) -> StaticName {
        "Flatten".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].rank, 2)?;
        let axis = self.0;
        s.given(&inputs[0].rank, move |s, rank| {
            if rank == 2 && (axis == 1 || axis == -1) {
                s.equals(&outputs[0].shape, &inputs[0].shape)
            } else {
                let tract = self.tract();
                s.given(&inputs[0].shape, move |s, shape| {
                    let [rows, columns] = tract.compute_shape(&shape)?;
                    s.equals(&outputs[0].shape, ShapeFactoid::from(vec![rows, columns]))
                })
            }
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        if model.outlet_fact(inputs[0])?.rank() == 2 && (self.0 == 1 || self.0 == -1) {
            return Ok(inputs.into());
        }
        self.tract().wire(prefix, model, inputs)
    }
}
