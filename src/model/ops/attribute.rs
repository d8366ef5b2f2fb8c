//! Reading a node's attributes: int lists, and `TensorProto` attributes decoded once, by tract's
//! own tensor loader (raw or typed data, dims checked against the payload, external data).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

/// An int list attribute; empty when absent.
pub fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

/// A tensor attribute's values as a flat tensor (its element type kept), `None` when absent.
pub fn tensor(ctx: &ParsingContext, node: &NodeProto, name: &str) -> TractResult<Option<Tensor>> {
    let Some(proto) = node.get_attr_opt::<&TensorProto>(name)? else {
        return Ok(None);
    };
    decode(ctx, proto)
        .map(Some)
        .with_context(|| format!("attribute {name}"))
}

/// One tensor, flattened. tract's loader refuses a payload that does not fill the declared dims;
/// raw string data is refused here, where tract's loader would panic.
fn decode(ctx: &ParsingContext, proto: &TensorProto) -> TractResult<Tensor> {
    if proto.data_type == DataType::String as i32 && !proto.raw_data.is_empty() {
        bail!("a string tensor with raw data is not valid ONNX");
    }
    let tensor = ctx.load_tensor(proto)?;
    let len = tensor.len();
    tensor.into_shape(&[len])
}

/// A float tensor attribute's values in float64 (float32 or float64 in the file), `None` when
/// absent.
pub fn floats(ctx: &ParsingContext, node: &NodeProto, name: &str) -> TractResult<Option<Vec<f64>>> {
    let Some(t) = tensor(ctx, node, name)? else {
        return Ok(None);
    };
    if !t.datum_type().is_float() {
        bail!(
            "attribute {name}: a float tensor was expected, found {:?}",
            t.datum_type()
        );
    }
    values::<f64>(&t).map(Some)
}

/// A tensor's values cast to `T` (tract's casting rules).
pub fn values<T: Datum + Clone>(tensor: &Tensor) -> TractResult<Vec<T>> {
    Ok(tensor
        .cast_to::<T>()?
        .to_plain_array_view::<T>()?
        .iter()
        .cloned()
        .collect())
}

/// Calls `read` with a parsing context for a node outside any model (no external data).
#[cfg(test)]
pub fn parsing<R>(read: impl FnOnce(&ParsingContext) -> R) -> R {
    let onnx = tract_onnx::onnx();
    let model = tract_onnx::pb::ModelProto::default();
    let ctx = ParsingContext {
        onnx_operator_set_version: 21,
        framework: &onnx,
        model: &model,
        parent_graphs: vec![],
        model_dir: None,
        template: InferenceModel::default(),
    };
    read(&ctx)
}
