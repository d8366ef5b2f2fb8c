//! `ai.onnx` LRN (local response normalisation across channels: AlexNet, ZFNet, GoogLeNet /
//! Inception v1), replacing tract's, which indexes every element and every element of its window
//! through a dynamic-rank index and calls `powf` per element: three quarters of Inception v1's
//! run (225 ms against onnxruntime's 41 ms for one 224x224 image). This one sums each channel's
//! window of squares a plane at a time, in loops the compiler vectorises.
//!
//! `y = x · (bias + alpha / size · Σ x²)^-beta`, the sum over the channels from
//! `c - floor((size - 1) / 2)` to `c + ceil((size - 1) / 2)` that exist, as onnxruntime computes it
//! (its kernel multiplies by the negative power too).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_num_traits::Float;

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let size = node.get_attr::<i64>("size")?;
    if size < 1 {
        bail!("LRN {}: size {size}, it must be at least 1", node.name);
    }
    let lrn = Lrn {
        alpha: node.get_attr_opt("alpha")?.unwrap_or(0.0001),
        beta: node.get_attr_opt("beta")?.unwrap_or(0.75),
        bias: node.get_attr_opt("bias")?.unwrap_or(1.0),
        // A window wider than any tensor's channels sums them all, as a window of their count does.
        size: usize::try_from(size).unwrap_or(usize::MAX),
    };
    Ok((expand(lrn), vec![]))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lrn {
    alpha: f32,
    beta: f32,
    bias: f32,
    size: usize,
}

// The parameters are never NaN-compared in practice; equality only merges identical nodes.
impl Eq for Lrn {}

impl Expansion for Lrn {
    fn name(&self) -> StaticName {
        "LRN".into()
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
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?;
        if fact.rank() < 2 {
            bail!("LRN takes [N, C, ...], not a tensor of rank {}", fact.rank());
        }
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for Lrn {
    fn name(&self) -> StaticName {
        "LRN".into()
    }

    op_as_typed_op!();
}

impl Lrn {
    fn eval_t<T: Datum + Float>(&self, input: &Tensor) -> TractResult<Tensor> {
        let shape = input.shape();
        let channels = shape[1];
        let plane: usize = shape[2..].iter().product();
        let x = super::row_major::<T>(input)?;
        let mut y = vec![T::zero(); x.len()];
        let parameter = |value: f32| T::from(value).context("LRN parameter out of the type's range");
        // In the tensor's type, as onnxruntime divides in float32 for its float32 kernel.
        let size = T::from(self.size).context("LRN size out of the type's range")?;
        let scale = parameter(self.alpha)? / size;
        let bias = parameter(self.bias)?;
        let power = parameter(-self.beta)?;
        let before = (self.size - 1) / 2;
        let after = self.size - 1 - before;
        let mut sums = vec![T::zero(); plane];
        // `channels * plane` is 0 only when `x` is empty, and then there is nothing to compute.
        let image = (channels * plane).max(1);
        for (x, y) in x.chunks_exact(image).zip(y.chunks_exact_mut(image)) {
            for c in 0..channels {
                let window = c.saturating_sub(before)..=c.saturating_add(after).min(channels - 1);
                sums.fill(T::zero());
                for other in x[window.start() * plane..(window.end() + 1) * plane].chunks_exact(plane) {
                    for (sum, &v) in sums.iter_mut().zip(other) {
                        *sum = *sum + v * v;
                    }
                }
                let at = c * plane..(c + 1) * plane;
                for ((y, &x), &sum) in y[at.clone()].iter_mut().zip(&x[at]).zip(&sums) {
                    *y = x * (bias + scale * sum).powf(power);
                }
            }
        }
        Tensor::from_shape(shape, &y)
    }
}

impl EvalOp for Lrn {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let output = match input.datum_type() {
            DatumType::F16 => self.eval_t::<f16>(&input)?,
            DatumType::F32 => self.eval_t::<f32>(&input)?,
            DatumType::F64 => self.eval_t::<f64>(&input)?,
            other => bail!("LRN takes float tensors, not {other:?}"),
        };
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for Lrn {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

#[cfg(test)]
mod tests;
