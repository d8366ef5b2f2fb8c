//! `ai.onnx` ReduceLogSumExp (MultinomialNB's normalisation), wrapping tract's, which sums `exp(x)`
//! directly: a long document's log-likelihoods (thousands below zero) underflow to `ln(0)` and
//! the probabilities become infinite. onnxruntime subtracts the largest value first:
//! `max + ln(Σ exp(x - max))`. The opset-18 form (axes as an input) stays tract's.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_hir::internal::*;

pub fn parse(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axes = node.get_attr_opt_vec::<i64>("axes")?;
    match axes {
        Some(axes) if node.input.len() == 1 => {
            let keep = node.get_attr_opt::<i64>("keepdims")?.unwrap_or(1) != 0;
            Ok((expand(LogSumExp { axes, keep }), vec![]))
        }
        _ => {
            let tract = tract_onnx::onnx();
            let parse = tract
                .op_register
                .0
                .get("ReduceLogSumExp")
                .expect("tract registers ReduceLogSumExp");
            parse(ctx, node)
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct LogSumExp {
    axes: Vec<i64>,
    keep: bool,
}

impl Expansion for LogSumExp {
    fn name(&self) -> StaticName {
        "ReduceLogSumExp".into()
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
        let reduced = if self.keep { 0 } else { self.axes.len() as i64 };
        s.equals(&outputs[0].rank, inputs[0].rank.bex() - reduced)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let axes = self.resolve(shape.len())?;
            let out: TVec<TDim> = shape
                .iter()
                .enumerate()
                .filter(|(i, _)| self.keep || !axes.contains(i))
                .map(|(i, d)| if axes.contains(&i) { 1.to_dim() } else { d.clone() })
                .collect();
            s.equals(&outputs[0].shape, ShapeFactoid::from(out.into_vec()))
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = inputs[0];
        let axes = self.resolve(model.outlet_fact(x)?.rank())?;
        let reduce = |reducer| Reduce::new(axes.iter().copied().collect(), reducer);
        let max = model.wire_node(format!("{prefix}.max"), reduce(Reducer::Max), &[x])?[0];
        let shifted = model.wire_node(format!("{prefix}.shift"), math::sub(), &[x, max])?[0];
        let exp = model.wire_node(format!("{prefix}.exp"), math::exp(), &[shifted])?[0];
        let sum = model.wire_node(format!("{prefix}.sum"), reduce(Reducer::Sum), &[exp])?[0];
        let ln = model.wire_node(format!("{prefix}.ln"), math::ln(), &[sum])?[0];
        let mut wire = model.wire_node(format!("{prefix}.add"), math::add(), &[ln, max])?[0];
        if !self.keep {
            for (i, axis) in axes.iter().rev().enumerate() {
                wire = model.wire_node(format!("{prefix}.rm{i}"), AxisOp::Rm(*axis), &[wire])?[0];
            }
        }
        Ok(tvec!(wire))
    }
}

impl LogSumExp {
    /// The axes as positions in a tensor of `rank`, sorted.
    fn resolve(&self, rank: usize) -> TractResult<Vec<usize>> {
        let mut axes = self
            .axes
            .iter()
            .map(|&a| {
                let at = if a < 0 { a + rank as i64 } else { a };
                if (0..rank as i64).contains(&at) {
                    Ok(at as usize)
                } else {
                    bail!("ReduceLogSumExp: axis {a} of a rank-{rank} tensor")
                }
            })
            .collect::<TractResult<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        Ok(axes)
    }
}
