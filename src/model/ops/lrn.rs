//! `ai.onnx` LRN (local response normalisation across channels: AlexNet, ZFNet, GoogLeNet /
//! Inception v1), replacing tract's, which computes each element on its own, reading every
//! element of its window through a dynamic-rank index. This one keeps each window's sum of
//! squares for a whole plane at once and slides it from one channel to the next (one channel
//! enters, one leaves), as onnxruntime's kernel does: loops the compiler vectorises, and a cost
//! that does not grow with the window's size. Inception v1 runs in about half the time with it
//! (48-52 against 105-107 ms for one image, BENCHMARKS.md).
//!
//! `y = x · (bias + alpha / size · Σ x²)^-beta`, the sum over the channels from
//! `c - floor((size - 1) / 2)` to `c + ceil((size - 1) / 2)` that exist, as onnxruntime computes it
//! (its kernel multiplies by the negative power too). float16 tensors are computed in float32: a
//! sum of squares overflows float16 from values of 256.

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
        size: usize::try_from(size)
            .with_context(|| format!("LRN {}: size {size} is too large", node.name))?,
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
            bail!(
                "LRN {prefix} takes [N, C, ...], not a tensor of rank {}",
                fact.rank()
            );
        }
        if !matches!(fact.datum_type, DatumType::F16 | DatumType::F32 | DatumType::F64) {
            bail!(
                "LRN {prefix} takes float16, float32 or float64, not {:?}",
                fact.datum_type
            );
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
        let mut y = Vec::with_capacity(x.len());
        let parameter = |value: f32| T::from(value).context("LRN parameter out of the type's range");
        // In the tensor's type, as onnxruntime divides in float32 for its float32 kernel.
        let size = T::from(self.size).context("LRN size out of the type's range")?;
        let scale = parameter(self.alpha)? / size;
        let bias = parameter(self.bias)?;
        let power = parameter(-self.beta)?;
        let before = (self.size - 1) / 2;
        let after = self.size - 1 - before;
        let square_into = |sums: &mut [T], channel: &[T], sign: T| {
            for (sum, &v) in sums.iter_mut().zip(channel) {
                *sum = *sum + sign * v * v;
            }
        };
        let mut sums = vec![T::zero(); plane];
        // `channels * plane` is 0 only when `x` is empty, and then there is nothing to compute.
        for image in x.chunks_exact((channels * plane).max(1)) {
            let channel = |c: usize| &image[c * plane..(c + 1) * plane];
            // The window of channel 0: channels 0 to `after`.
            sums.fill(T::zero());
            for c in 0..=after.min(channels - 1) {
                square_into(&mut sums, channel(c), T::one());
            }
            for c in 0..channels {
                // Sliding can leave a sum a rounding error below 0 where it should be 0.
                y.extend(
                    channel(c)
                        .iter()
                        .zip(&sums)
                        .map(|(&x, &sum)| x * (bias + scale * sum.max(T::zero())).powf(power)),
                );
                if let Some(entering) = after.checked_add(c + 1).filter(|&e| e < channels) {
                    square_into(&mut sums, channel(entering), T::one());
                }
                if let Some(leaving) = c.checked_sub(before) {
                    square_into(&mut sums, channel(leaving), -T::one());
                }
            }
        }
        Ok(tract_ndarray::ArrayD::from_shape_vec(shape, y)?.into_tensor())
    }
}

impl EvalOp for Lrn {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        Ok(tvec!(self.eval_any(&input)?.into_tvalue()))
    }
}

impl Lrn {
    /// The answer for a tensor of any float type.
    fn eval_any(&self, input: &Tensor) -> TractResult<Tensor> {
        Ok(match input.datum_type() {
            DatumType::F16 => {
                let output = self.eval_t::<f32>(input.cast_to::<f32>()?.as_ref())?;
                output.cast_to::<f16>()?.into_owned()
            }
            DatumType::F32 => self.eval_t::<f32>(input)?,
            DatumType::F64 => self.eval_t::<f64>(input)?,
            other => bail!("LRN takes float tensors, not {other:?}"),
        })
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
