//! `ai.onnx.ml` ZipMap, which skl2onnx, onnxmltools and LightGBM's converter put after a
//! classifier's probabilities by default: it turns the `[rows, classes]` tensor into one
//! `{label: probability}` map per row. The server answers the tensor itself (probabilities in
//! class order, as scikit-learn's `predict_proba`; an FP32 tensor in V2), under the ZipMap's
//! output name, so such a model needs no re-export.

use tract_onnx::pb::{type_proto, ModelProto, TypeProto};

/// ONNX's FLOAT element type.
const FLOAT: i32 = 1;

/// Replaces every ZipMap by an Identity of its probabilities and declares its output as a float
/// tensor. Returns how many it replaced.
pub fn unwrap(proto: &mut ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else {
        return 0;
    };
    let mut outputs = Vec::new();
    for node in graph.node.iter_mut().filter(|n| n.op_type == "ZipMap") {
        node.op_type = "Identity".to_owned();
        node.domain = String::new();
        node.attribute.clear();
        outputs.extend(node.output.iter().cloned());
    }
    let tensor = TypeProto {
        denotation: String::new(),
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: FLOAT,
            shape: None,
        })),
    };
    for info in graph.output.iter_mut().chain(graph.value_info.iter_mut()) {
        if outputs.contains(&info.name) {
            info.r#type = Some(tensor.clone());
        }
    }
    outputs.len()
}
