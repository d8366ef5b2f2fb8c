//! Finding a linear graph in an ONNX file and reading its constants. Everything is checked on
//! the protobuf (op types, attributes, constant types and sizes) before a constant is decoded,
//! so that a graph of another kind, or a large or malformed initializer, costs nothing here.

use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use tract_onnx::prelude::*;
use tract_onnx::tensor::load_tensor;

use super::{Affine, Linear, Real};

/// The most weights a linear graph may have to be computed directly: past a few thousand,
/// tract's blocked SIMD kernels win (float32), and the probe at load would take long.
const MAX_WEIGHTS: usize = 16_384;

/// ONNX's `TensorProto.DataType` codes of the constants read here.
const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;
const INT64: i32 = 7;

/// The linear graph of `proto`, if it is one: one graph input `[N, F]` of float32 or float64,
/// one output, and nodes `MatMul(x, W) [Add(·, b)] [Reshape(·, [-1 | 0, K])]` or `Gemm(x, W[, b])`
/// with `alpha = beta = 1` and `transA = 0`, every constant an initializer of the input's type.
pub(in crate::model::onnx) fn detect(proto: &ModelProto) -> Option<Linear> {
    let graph = proto.graph.as_ref()?;
    // At most MatMul, Add and Reshape, and their three constants beside the input (exports that
    // list initializers as inputs): checked first, so that a large graph costs nothing here
    // (matching inputs to initializers by name is a scan per input).
    if graph.node.len() > 3 || graph.input.len() > 4 {
        return None;
    }
    let constants = Constants(graph);
    let mut inputs = graph.input.iter().filter(|i| !constants.named(&i.name));
    let (input, None) = (inputs.next()?, inputs.next()) else {
        return None;
    };
    let element = float_element(input)?;
    let [output] = &graph.output[..] else { return None };
    let (first, rest) = graph.node.split_first()?;
    let (weights, mut bias_name, mut last) = first_product(first, &input.name, &constants, element)?;
    let &[features, outputs] = weights.shape() else {
        return None;
    };
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
        let shape = constants.load(reshape.input.get(1)?, INT64, 2)?;
        let keeps_rows = |d: i64| d == -1 || d == 0;
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
        Some(name) => Some(bias(constants.load(&name, element, outputs)?, outputs)?),
        None => None,
    };
    match element {
        FLOAT => Some(Linear::F32(affine(&weights, bias.as_ref(), features)?)),
        _ => Some(Linear::F64(affine(&weights, bias.as_ref(), features)?)),
    }
}

/// The graph's initializers by name.
struct Constants<'a>(&'a GraphProto);

impl Constants<'_> {
    fn named(&self, name: &str) -> bool {
        self.0.initializer.iter().any(|t| t.name == name)
    }

    /// The initializer `name`, decoded, when there is exactly one of that name (tract keeps the
    /// last of several, so a duplicate is not guessed at), of type `data_type`, stored in the
    /// file, with at most `max_values` values.
    fn load(&self, name: &str, data_type: i32, max_values: usize) -> Option<Tensor> {
        let mut named = self.0.initializer.iter().filter(|t| t.name == name);
        let (tensor, None) = (named.next()?, named.next()) else {
            return None;
        };
        const EXTERNAL: i32 = 1;
        if tensor.data_type != data_type || tensor.data_location == Some(EXTERNAL) {
            return None;
        }
        let values = tensor
            .dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))?;
        if values > max_values {
            return None;
        }
        let decoded = load_tensor(&FopenDataResolver, tensor, None).ok()?;
        (decoded.len() == values).then_some(decoded)
    }
}

/// The element type of `input`, when it is float32 or float64.
fn float_element(input: &ValueInfoProto) -> Option<i32> {
    let tract_onnx::pb::type_proto::Value::TensorType(tensor) = input.r#type.as_ref()?.value.as_ref()?;
    [FLOAT, DOUBLE]
        .contains(&tensor.elem_type)
        .then_some(tensor.elem_type)
}

/// `MatMul(x, W)` or `Gemm(x, W[, C])`: the weights as `[F, K]`, Gemm's bias name, its output.
fn first_product(
    node: &NodeProto,
    input: &str,
    constants: &Constants,
    element: i32,
) -> Option<(Tensor, Option<String>, String)> {
    if !node.domain.is_empty() || node.input.first().map(String::as_str) != Some(input) {
        return None;
    }
    let (transposed, bias) = match (node.op_type.as_str(), &node.input[..]) {
        ("MatMul", [_, _]) => (false, None),
        ("Gemm", [_, _]) => (gemm_transposes_b(node)?, None),
        ("Gemm", [_, _, c]) => (gemm_transposes_b(node)?, Some(c.clone())),
        _ => return None,
    };
    let weights = constants.load(&node.input[1], element, MAX_WEIGHTS)?;
    let weights = match weights.shape() {
        [rows, columns] if *rows > 0 && *columns > 0 && !transposed => weights,
        [rows, columns] if *rows > 0 && *columns > 0 => weights.permute_axes(&[1, 0]).ok()?,
        _ => return None,
    };
    Some((weights, bias, single_output(node)?))
}

/// Whether a Gemm computing `x · B' + C` transposes `B`; `None` for any other Gemm (scaled,
/// `x` transposed, or an attribute this does not know).
fn gemm_transposes_b(node: &NodeProto) -> Option<bool> {
    let mut transposed = false;
    for attribute in &node.attribute {
        match (attribute.name.as_str(), attribute.f, attribute.i) {
            ("alpha" | "beta", 1.0, _) => {}
            ("transA", _, 0) => {}
            ("transB", _, i @ (0 | 1)) => transposed = i == 1,
            _ => return None,
        }
    }
    Some(transposed)
}

fn single_output(node: &NodeProto) -> Option<String> {
    match &node.output[..] {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// A bias of shape `[K]`, `[1, K]`, `[1]` or `[]`, as `K` values.
fn bias(bias: Tensor, outputs: usize) -> Option<Tensor> {
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
