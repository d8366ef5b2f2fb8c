//! `ai.onnx.ml` Normalizer (TF-IDF's `norm`, scikit-learn's Normalizer), replacing tract's, which
//! divides MAX by the largest absolute value: onnxruntime divides each row by its largest value
//! (signed: a row of negatives changes sign), by the sum of absolute values (L1), or writes
//! `sign(x) · sqrt(x² / Σx²)` (L2); a row whose norm is 0 is copied unchanged.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Norm {
    Max,
    L1,
    L2,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let norm = node
        .get_attr_opt::<String>("norm")?
        .unwrap_or_else(|| "MAX".into());
    let norm = match norm.as_str() {
        "MAX" => Norm::Max,
        "L1" => Norm::L1,
        "L2" => Norm::L2,
        other => bail!("Normalizer: unknown norm {other:?} (MAX, L1 or L2)"),
    };
    Ok((expand(Normalizer(norm)), vec![]))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Normalizer(Norm);

impl Expansion for Normalizer {
    fn name(&self) -> StaticName {
        "Normalizer".into()
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
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        if fact.rank() > 2 {
            bail!("Normalizer takes rows of rank 1 or 2, not {}", fact.rank());
        }
        // onnxruntime squares float64 and integer values in their own type: float64 holds both.
        let x = if fact.datum_type == f32::datum_type() {
            inputs[0]
        } else {
            let cast = tract_onnx::tract_core::ops::cast::cast(DatumType::F64);
            model.wire_node(format!("{prefix}.to_f64"), cast, &[inputs[0]])?[0]
        };
        model.wire_node(prefix, Normalize(self.0), &[x])
    }
}

/// The typed op, on float32 or float64 rows.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Normalize(Norm);

impl Op for Normalize {
    fn name(&self) -> StaticName {
        "Normalizer".into()
    }

    op_as_typed_op!();
}

/// One row, as onnxruntime computes it: sums in float32, squares in the input's type.
fn normalize<T: Copy + Into<f64>>(norm: Norm, row: &[T], out: &mut [f32], square: impl Fn(T) -> f32) {
    let value = |x: T| x.into() as f32;
    let divisor = match norm {
        Norm::Max => row.iter().fold(f32::MIN, |m, &x| m.max(value(x))),
        Norm::L1 => row.iter().map(|&x| value(x).abs()).sum(),
        Norm::L2 => row.iter().map(|&x| square(x)).sum(),
    };
    for (o, &x) in out.iter_mut().zip(row) {
        *o = match norm {
            _ if divisor == 0.0 => value(x),
            Norm::Max | Norm::L1 => value(x) / divisor,
            Norm::L2 if x.into() < 0.0 => -(square(x) / divisor).sqrt(),
            Norm::L2 => (square(x) / divisor).sqrt(),
        };
    }
}

impl EvalOp for Normalize {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape().to_vec();
        let width = shape.last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; input.len()];
        if input.datum_type() == f32::datum_type() {
            let values = super::row_major::<f32>(&input)?;
            for (row, o) in values.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                normalize(self.0, row, o, |x| x * x);
            }
        } else {
            let values = super::row_major::<f64>(&input)?;
            for (row, o) in values.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                normalize(self.0, row, o, |x| (x * x) as f32);
            }
        }
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.into_tvalue()))
    }
}

impl TypedOp for Normalize {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    as_op!();
}
