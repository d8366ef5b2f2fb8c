//! The opset-5 reader on node graphs built here, loaded as start-up loads a model: a cycle, shared
//! nodes whose paths double at every level, and trees that all share one chain are refused naming
//! the node and the limit; a leaf shared by two branches is copied per path, as onnxruntime does.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value};
use tract_onnx::pb::*;
use tract_onnx::prelude::*;

/// A branch: `x[0] <= threshold`, then (child, is a leaf) when it holds and when it does not.
type Branch = (f32, (i64, bool), (i64, bool));

fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values,
        ..Default::default()
    }
}

fn tensor(name: &str, data_type: DataType, values: Vec<f32>, raw: Vec<u8>) -> AttributeProto {
    let len = if raw.is_empty() { values.len() } else { raw.len() };
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Tensor as i32,
        t: Some(TensorProto {
            dims: vec![len as i64],
            data_type: data_type as i32,
            float_data: values,
            raw_data: raw,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A model of one TreeEnsemble over `[rows, 1]` float input: LEQ branches on feature 0, leaf `k`
/// voting `10 * (k + 1)` for target 0.
fn model(branches: &[Branch], leaves: usize, roots: Vec<i64>) -> ModelProto {
    let list = |pick: fn(&Branch) -> i64| branches.iter().map(pick).collect::<Vec<_>>();
    let n = branches.len();
    let node = NodeProto {
        op_type: "TreeEnsemble".into(),
        domain: "ai.onnx.ml".into(),
        input: vec!["x".into()],
        output: vec!["y".into()],
        attribute: vec![
            tensor("nodes_modes", DataType::Uint8, vec![], vec![0; n]),
            tensor(
                "nodes_splits",
                DataType::Float,
                branches.iter().map(|b| b.0).collect(),
                vec![],
            ),
            ints("nodes_featureids", vec![0; n]),
            ints("nodes_truenodeids", list(|b| b.1 .0)),
            ints("nodes_trueleafs", list(|b| i64::from(b.1 .1))),
            ints("nodes_falsenodeids", list(|b| b.2 .0)),
            ints("nodes_falseleafs", list(|b| i64::from(b.2 .1))),
            ints("leaf_targetids", vec![0; leaves]),
            tensor(
                "leaf_weights",
                DataType::Float,
                (1..=leaves).map(|k| 10.0 * k as f32).collect(),
                vec![],
            ),
            ints("tree_roots", roots),
        ],
        ..Default::default()
    };
    let info = |name: &str| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TensorType {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: vec![Default::default(), Default::default()],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opset = |domain: &str, version| OperatorSetIdProto {
        domain: domain.into(),
        version,
    };
    ModelProto {
        ir_version: 10,
        opset_import: vec![opset("", 21), opset("ai.onnx.ml", 5)],
        graph: Some(GraphProto {
            node: vec![node],
            input: vec![info("x")],
            output: vec![info("y")],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Parses and optimises `proto` as start-up does, then scores `rows` (one feature each).
fn load_and_run(proto: &ModelProto, rows: &[f32]) -> TractResult<Vec<f32>> {
    let mut model = crate::model::ops::onnx().parse(proto, None)?.model;
    model.set_input_fact(0, f32::fact([rows.len(), 1]).into())?;
    let plan = model.into_optimized()?.into_runnable()?;
    let input = tract_ndarray::Array2::from_shape_vec((rows.len(), 1), rows.to_vec())?;
    let outputs = plan.run(tvec!(Tensor::from(input).into_tvalue()))?;
    Ok(outputs[0].to_plain_array_view::<f32>()?.iter().copied().collect())
}

fn refusal(proto: &ModelProto) -> String {
    format!(
        "{:#}",
        load_and_run(proto, &[0.0]).expect_err("the model is refused")
    )
}

#[test]
fn a_cycle_is_refused_at_load_naming_the_node() {
    // Node 0's true child is node 1, whose true child is node 0.
    let proto = model(
        &[(0.0, (1, false), (0, true)), (1.0, (0, false), (1, true))],
        2,
        vec![0],
    );
    let error = refusal(&proto);
    assert!(
        error.contains("node 1 of tree 0 leads back to its ancestor, node 0 of tree 0"),
        "{error}"
    );
}

#[test]
fn shared_nodes_that_double_every_path_are_refused_at_load_naming_the_node_and_the_limit() {
    // 64 nodes, both children of node k being node k + 1, both of node 63 leaf 0: 2^64 paths.
    let mut chain: Vec<Branch> = (1..64).map(|k| (0.0, (k, false), (k, false))).collect();
    chain.push((0.0, (0, true), (0, true)));
    let error = refusal(&model(&chain, 1, vec![0]));
    // 65 nodes and leaves allow 65 * 8 + 4096 = 4616; under node 52 are 2^13 - 1 = 8191.
    assert!(
        error.contains("node 52 of tree 0 expands to more than 4616 nodes"),
        "{error}"
    );
}

#[test]
fn trees_sharing_nodes_are_bounded_in_all_naming_the_tree_and_the_limit() {
    // 600 trees, each the same chain of 8 nodes ending in leaf 0: 5,400 listed for 9 in the file.
    let mut chain: Vec<Branch> = (1..8).map(|k| (0.0, (k, false), (0, true))).collect();
    chain.push((0.0, (0, true), (0, true)));
    let error = refusal(&model(&chain, 1, vec![0; 600]));
    // 9 nodes and leaves allow 9 * 8 + 4096 = 4168: tree 463 is the first past it.
    assert!(
        error.contains("more than 4168 nodes in all (tree 463 reaches"),
        "{error}"
    );
}

#[test]
fn a_leaf_shared_by_two_branches_is_copied_for_each() {
    // x <= 0 -> leaf 0 (10); else x <= 1 -> leaf 0 (10) else leaf 1 (20).
    let proto = model(
        &[(0.0, (0, true), (1, false)), (1.0, (0, true), (1, true))],
        2,
        vec![0],
    );
    assert_eq!(
        load_and_run(&proto, &[-1.0, 0.5, 2.0]).unwrap(),
        [10.0, 10.0, 20.0]
    );
}

#[test]
fn more_targets_than_the_limit_are_refused_at_load() {
    let mut proto = model(&[(0.0, (0, true), (1, true))], 2, vec![0]);
    proto.graph.as_mut().unwrap().node[0]
        .attribute
        .push(AttributeProto {
            name: "n_targets".into(),
            r#type: AttributeType::Int as i32,
            i: 1 << 40,
            ..Default::default()
        });
    let error = refusal(&proto);
    assert!(
        error.contains("n_targets is 1099511627776; the limit is 65536"),
        "{error}"
    );
}
