//! Linear models computed directly: a graph that is only `X · W` (`MatMul`, then an optional
//! `Add` of a bias and an optional `Reshape` to `[N, K]`) or one `Gemm`, with constant weights.
//! Such graphs are common (scikit-learn's linear regressions as Azure's sample exports them,
//! PyTorch's `nn.Linear`), and tract runs them through its general matrix product: it packs the
//! whole input first, runs a generic kernel for float64 (no SIMD float64 kernel on x86), and adds
//! the bias in a second pass. For the sample's 228,000-row request that was a fifth of the
//! request's time; a plain dot product per row and output is several times faster, and for a
//! 2-row request it saves tract's per-run cost (a run state, tensors, a plan walk).
//!
//! It is kept only when it answers bit for bit as tract's plan on a probe batch (`verified`),
//! so the answers do not change with it: the accumulation order (and whether tract fuses the
//! multiply and the add) is the one that matched.

use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto};
use tract_onnx::prelude::*;
use tract_onnx::tensor::load_tensor;

use super::super::{Batch, Output, Predictions, Values};

mod verify;

/// A linear graph's constants, in the input's element type.
#[derive(Debug, Clone)]
pub(super) enum Linear {
    F32(Affine<f32>),
    F64(Affine<f64>),
}

/// `y[n, k] = Σ_f x[n, f] · w[f, k] (+ b[k])`.
#[derive(Debug, Clone)]
pub(super) struct Affine<T> {
    features: usize,
    /// `w` by output: output `k`'s `features` weights are contiguous.
    columns: Vec<T>,
    /// Absent when the graph adds none: adding `0.0` would turn a `-0.0` into `0.0`.
    bias: Option<Vec<T>>,
    /// Whether each product is accumulated with a fused multiply-add (as tract's SIMD kernels
    /// do) or multiplied and then added (its generic kernels); chosen by `verified`.
    fused: bool,
}

/// The float types a linear graph is computed in.
pub(super) trait Real:
    Copy + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + Datum
{
    fn fused(self, times: Self, plus: Self) -> Self;
}

impl Real for f32 {
    fn fused(self, times: f32, plus: f32) -> f32 {
        self.mul_add(times, plus)
    }
}

impl Real for f64 {
    fn fused(self, times: f64, plus: f64) -> f64 {
        self.mul_add(times, plus)
    }
}

impl<T: Real> Affine<T> {
    fn outputs(&self) -> usize {
        self.columns.len() / self.features
    }

    /// The outputs of `rows` rows of `x` (row-major), or `None` when `x` is not that size.
    fn run(&self, x: &[T], rows: usize) -> Option<Vec<T>> {
        if rows.checked_mul(self.features) != Some(x.len()) {
            return None;
        }
        let mut y = Vec::with_capacity(rows * self.outputs());
        // Two loops rather than a branch per product: the inner loop is the whole cost.
        if self.fused {
            self.each_dot(x, &mut y, |acc, a, w| a.fused(w, acc));
        } else {
            self.each_dot(x, &mut y, |acc, a, w| acc + a * w);
        }
        Some(y)
    }

    #[inline(always)]
    fn each_dot(&self, x: &[T], y: &mut Vec<T>, step: impl Fn(T, T, T) -> T) {
        for row in x.chunks_exact(self.features) {
            for (k, column) in self.columns.chunks_exact(self.features).enumerate() {
                let dot = row
                    .iter()
                    .zip(column)
                    .fold(T::default(), |acc, (&a, &w)| step(acc, a, w));
                y.push(match &self.bias {
                    Some(bias) => dot + bias[k],
                    None => dot,
                });
            }
        }
    }
}

impl Linear {
    /// The predictions of `batch` (one input of this type), or `None` when it is not one. A
    /// batch of no rows is the plan's too: its answer's details (`per_row` 0) are the plan's.
    pub(super) fn predict(&self, batch: &Batch) -> Option<Predictions> {
        let ([values], [] | [_]) = (&batch.inputs[..], &batch.shapes[..]) else {
            return None;
        };
        if batch.rows == 0 {
            return None;
        }
        let (values, per_row) = match (self, values) {
            (Linear::F32(affine), Values::F32(x)) => {
                (Values::F32(affine.run(x, batch.rows)?), affine.outputs())
            }
            (Linear::F64(affine), Values::F64(x)) => {
                (Values::F64(affine.run(x, batch.rows)?), affine.outputs())
            }
            _ => return None,
        };
        Some(Predictions {
            rows: batch.rows,
            outputs: vec![Output {
                per_row,
                values,
                shape: vec![per_row],
            }],
        })
    }

    /// Both accumulations, for `verified` to keep the one that answers as tract.
    pub(super) fn variants(self) -> [Linear; 2] {
        let with = |fused| match &self {
            Linear::F32(a) => Linear::F32(Affine { fused, ..a.clone() }),
            Linear::F64(a) => Linear::F64(Affine { fused, ..a.clone() }),
        };
        [with(false), with(true)]
    }
}

/// The most weights a linear graph may have to be computed directly: past a few thousand,
/// tract's blocked SIMD kernels win (float32), and the probe at load would take long.
const MAX_WEIGHTS: usize = 16_384;

/// The linear graph of `proto`, if it is one: one graph input `[N, F]` of float32 or float64,
/// one output, and nodes `MatMul(x, W) [Add(·, b)] [Reshape(·, [-1 | 0, K])]` or `Gemm(x, W[, b])`
/// with `alpha = beta = 1` and `transA = 0`, every constant an initializer of the input's type.
pub(super) fn detect(proto: &ModelProto) -> Option<Linear> {
    let graph = proto.graph.as_ref()?;
    let constant = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let mut inputs = graph.input.iter().filter(|i| constant(&i.name).is_none());
    let (input, None) = (inputs.next()?, inputs.next()) else {
        return None;
    };
    let [output] = &graph.output[..] else { return None };
    let (first, rest) = graph.node.split_first()?;
    let (weights, mut bias_name, mut last) = first_product(first, &input.name, &constant)?;
    let &[features, outputs] = weights.shape() else {
        return None;
    };
    if features == 0 || outputs == 0 || features * outputs > MAX_WEIGHTS {
        return None;
    }
    let mut rest = rest.iter().peekable();
    let is_add = |n: &&NodeProto| n.op_type == "Add" && n.domain.is_empty();
    // A Gemm's bias is its third input: an Add after it stays in `rest` and refuses the graph.
    let add = if bias_name.is_none() {
        rest.next_if(is_add)
    } else {
        None
    };
    if let Some(add) = add {
        bias_name = match &add.input[..] {
            [a, b] if *a == last => Some(b.clone()),
            [a, b] if *b == last => Some(a.clone()),
            _ => return None,
        };
        last = single_output(add)?;
    }
    if let Some(reshape) = rest.next_if(|n| n.op_type == "Reshape" && n.domain.is_empty()) {
        if reshape.input.first() != Some(&last) || !reshape.attribute.is_empty() {
            return None;
        }
        let shape = load_tensor(&FopenDataResolver, constant(reshape.input.get(1)?)?, None).ok()?;
        let keeps_rows = |d: i64| d == -1 || d == 0;
        let shape = shape.cast_to::<i64>().ok()?;
        match shape.to_plain_array_view::<i64>().ok()?.as_slice()? {
            [rows, k] if keeps_rows(*rows) && *k == outputs as i64 => {}
            [0, -1] => {}
            _ => return None,
        }
        last = single_output(reshape)?;
    }
    if rest.next().is_some() || last != output.name {
        return None;
    }
    let bias = match bias_name {
        Some(name) => Some(load_bias(constant(&name)?, outputs)?),
        None => None,
    };
    typed(&weights, bias.as_ref(), features, graph, &input.name)
}

/// `MatMul(x, W)` or `Gemm(x, W[, C])`: the weights as `[F, K]`, Gemm's bias name, its output.
fn first_product<'a>(
    node: &NodeProto,
    input: &str,
    constant: &impl Fn(&str) -> Option<&'a TensorProto>,
) -> Option<(Tensor, Option<String>, String)> {
    if !node.domain.is_empty() || node.input.first().map(String::as_str) != Some(input) {
        return None;
    }
    let weights = load_tensor(&FopenDataResolver, constant(node.input.get(1)?)?, None).ok()?;
    match node.op_type.as_str() {
        "MatMul" if node.input.len() == 2 => Some((weights, None, single_output(node)?)),
        "Gemm" => {
            let mut transposed = false;
            for attribute in &node.attribute {
                match (attribute.name.as_str(), attribute.f, attribute.i) {
                    ("alpha" | "beta", 1.0, _) => {}
                    ("transA", _, 0) => {}
                    ("transB", _, i @ (0 | 1)) => transposed = i == 1,
                    _ => return None,
                }
            }
            let weights = if transposed {
                weights.permute_axes(&[1, 0]).ok()?
            } else {
                weights
            };
            let bias = match &node.input[..] {
                [_, _] => None,
                [_, _, c] => Some(c.clone()),
                _ => return None,
            };
            Some((weights, bias, single_output(node)?))
        }
        _ => None,
    }
}

fn single_output(node: &NodeProto) -> Option<String> {
    match &node.output[..] {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// A bias of shape `[K]`, `[1, K]`, `[1]` or `[]`, as `K` values.
fn load_bias(tensor: &TensorProto, outputs: usize) -> Option<Tensor> {
    let bias = load_tensor(&FopenDataResolver, tensor, None).ok()?;
    let values = bias.len();
    let shape_fits = match bias.shape() {
        [] | [1] => true,
        [k] | [1, k] => *k == outputs,
        _ => false,
    };
    if !shape_fits {
        return None;
    }
    let flat = bias.into_shape(&[values]).ok()?;
    if values == outputs {
        return Some(flat);
    }
    flat.broadcast_to_shape(&[outputs]).ok()
}

/// The weights and bias in the graph input's element type (which they must have).
fn typed(
    weights: &Tensor,
    bias: Option<&Tensor>,
    features: usize,
    graph: &GraphProto,
    input: &str,
) -> Option<Linear> {
    let declared = graph.input.iter().find(|i| i.name == input)?;
    let tract_onnx::pb::type_proto::Value::TensorType(tensor) = declared.r#type.as_ref()?.value.as_ref()?;
    let element = tensor.elem_type;
    const FLOAT: i32 = 1;
    const DOUBLE: i32 = 11;
    match element {
        FLOAT => Some(Linear::F32(affine(weights, bias, features)?)),
        DOUBLE => Some(Linear::F64(affine(weights, bias, features)?)),
        _ => None,
    }
}

fn affine<T: Real>(weights: &Tensor, bias: Option<&Tensor>, features: usize) -> Option<Affine<T>> {
    // By output: the transpose of `[F, K]`, made contiguous.
    let by_output = weights.to_plain_array_view::<T>().ok()?.reversed_axes();
    let columns: Vec<T> = by_output.iter().copied().collect();
    let bias = match bias {
        Some(bias) => Some(bias.to_plain_array_view::<T>().ok()?.iter().copied().collect()),
        None => None,
    };
    Some(Affine {
        features,
        columns,
        bias,
        fused: false,
    })
}

#[cfg(test)]
mod tests;
