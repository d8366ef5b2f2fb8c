//! ONNX protos built in tests: a float tensor of unknown dimensions as a graph input or output,
//! and a model of one graph at opset 17 (the default domain).

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value};
use tract_onnx::pb::*;

/// A float tensor named `name` of `rank` unknown dimensions.
pub fn float_value(name: &str, rank: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TensorType {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: vec![Default::default(); rank],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A model of `nodes` from the float input `x` to the float output `y`, both of `rank`.
pub fn model(nodes: Vec<NodeProto>, initializer: Vec<TensorProto>, rank: usize) -> ModelProto {
    model_of(GraphProto {
        node: nodes,
        initializer,
        input: vec![float_value("x", rank)],
        output: vec![float_value("y", rank)],
        ..Default::default()
    })
}

/// `graph` as a model at opset 17 of the default domain.
pub fn model_of(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
}
