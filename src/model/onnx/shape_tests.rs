//! A model file is input: shapes that would size buffers without bound are refused at load
//! naming the tensor and the limit, an output whose dim 0 is not the batch is refused per request
//! naming the output, and a panic inside tract refuses that request only.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value};
use tract_onnx::pb::*;

use super::facts::MAX_ITEM_ELEMENTS;
use super::*;
use crate::model::{Batch, PredictError, Predictor, Values};

/// A float tensor's declaration; `None` is the symbolic `N`.
fn info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = |d: &Option<i64>| Dimension {
        value: Some(d.map_or_else(
            || dimension::Value::DimParam("N".into()),
            dimension::Value::DimValue,
        )),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TensorType {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: dims.iter().map(dim).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, input: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: input.iter().map(|&i| i.into()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// `x` (shaped `dims`) through Identity to `y`, plus `more` nodes and outputs.
fn model(dims: &[Option<i64>], more: Vec<NodeProto>, outputs: Vec<ValueInfoProto>) -> ModelProto {
    let mut nodes = vec![node("Identity", &["x"], "y")];
    nodes.extend(more);
    let mut outputs_all = vec![info("y", dims)];
    outputs_all.extend(outputs);
    crate::model::test_proto::model_of(GraphProto {
        node: nodes,
        input: vec![info("x", dims)],
        output: outputs_all,
        ..Default::default()
    })
}

fn refusal(proto: ModelProto) -> String {
    let error =
        OnnxModel::from_proto(proto, None, "test", SinglePolicy::MEASURED).expect_err("the model is refused");
    assert!(matches!(error, ModelLoadError::ItemTooLarge { .. }), "{error}");
    error.to_string()
}

#[test]
fn an_input_whose_item_passes_the_limit_is_refused_at_load_naming_it_its_shape_and_the_limit() {
    let message = refusal(model(&[None, Some(100_000), Some(100_000)], vec![], vec![]));
    assert!(message.contains("input \"x\""), "{message}");
    assert!(message.contains("[?, 100000, 100000]"), "{message}");
    assert!(message.contains(&MAX_ITEM_ELEMENTS.to_string()), "{message}");
}

#[test]
fn dimensions_whose_product_passes_usize_are_refused_not_wrapped() {
    let huge = Some(1 << 40);
    let message = refusal(model(&[None, huge, huge], vec![], vec![]));
    assert!(message.contains("more than 2^64"), "{message}");
}

#[test]
fn a_fixed_batch_of_many_items_is_refused_before_the_warm_up_allocates_it() {
    let message = refusal(model(&[Some(1_000_000), Some(1_000)], vec![], vec![]));
    assert!(message.contains("at warm-up"), "{message}");
}

/// `x` `[N, 2]` and a constant `c` `[1, 3]`: an output that is not per item.
fn with_constant_output() -> OnnxModel {
    let constant = NodeProto {
        attribute: vec![AttributeProto {
            name: "value".into(),
            r#type: AttributeType::Tensor as i32,
            t: Some(TensorProto {
                dims: vec![1, 3],
                data_type: DataType::Float as i32,
                float_data: vec![1.0, 2.0, 3.0],
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..node("Constant", &[], "c")
    };
    let proto = model(
        &[None, Some(2)],
        vec![constant],
        vec![info("c", &[Some(1), Some(3)])],
    );
    OnnxModel::from_proto(proto, None, "test", SinglePolicy::MEASURED).expect("a batch of one loads")
}

#[test]
fn an_output_whose_dim_0_is_not_the_batch_is_refused_naming_it() {
    let model = with_constant_output();
    let batch = |rows: usize| Batch::new(rows, vec![Values::F32(vec![0.5; rows * 2])]);
    assert!(model.predict(batch(1)).is_ok());
    let error = model.predict(batch(3)).expect_err("three items, one row of c");
    assert!(
        matches!(&error, PredictError::OutputRows { output, rows: 3, shape } if output == "c" && shape == &[1, 3]),
        "{error:?}"
    );
}

#[test]
fn a_panic_inside_tract_refuses_the_request_and_pools_no_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = OnnxModel::load(&root.join("tests/fixtures/tensors/tiny_bert.onnx")).expect("loads");
    let request = |id: i64| Batch {
        rows: 1,
        inputs: vec![Values::I64(vec![1, id, 2]), Values::I64(vec![1, 1, 1])],
        shapes: vec![vec![3], vec![3]],
    };
    // A one-item request runs on the single-item plan when the model has one.
    let runs_on = model.plan_for(1).unwrap_or(&model);
    assert!(
        runs_on.reuse_states,
        "tiny_bert keeps no operator state: its run states are pooled"
    );
    model.predict(request(3)).expect("a known id");
    let pooled = runs_on.pool().len();
    assert_eq!(pooled, 1, "the good run's state went back to the pool");
    let error = model
        .predict(request(999_999))
        .expect_err("an id outside the vocabulary");
    assert!(matches!(error, PredictError::Refused(_)), "{error:?}");
    assert!(
        runs_on.pool().len() < pooled,
        "the state it panicked in is not pooled"
    );
    let answer = model.predict(request(17)).expect("the next request runs");
    assert_eq!(answer.outputs[0].values.len(), 2);
}
