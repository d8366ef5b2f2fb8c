//! A per-channel scale and shift given as `Unsqueeze`d weights, as Caffe2 exports write them:
//! tract folds them into constants with copied strides, which `make_natural` relays without
//! changing an answer.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::*;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::konst::Const;

use super::{make_natural, natural, only_unit_axes_differ};

const SHAPE: [usize; 4] = [1, 3, 4, 4];

fn floats(name: &str, values: Vec<f32>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: DataType::Float as i32,
        float_data: values,
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// `y = relu(x * unsqueeze(scale) + unsqueeze(shift))` over `[1, 3, 4, 4]`.
fn model() -> ModelProto {
    let axes = TensorProto {
        name: "axes".into(),
        dims: vec![2],
        data_type: DataType::Int64 as i32,
        int64_data: vec![1, 2],
        ..Default::default()
    };
    crate::model::test_proto::model(
        vec![
            node("Unsqueeze", &["scale", "axes"], "scale_chw"),
            node("Unsqueeze", &["shift", "axes"], "shift_chw"),
            node("Mul", &["x", "scale_chw"], "scaled"),
            node("Add", &["scaled", "shift_chw"], "shifted"),
            node("Relu", &["shifted"], "y"),
        ],
        vec![
            floats("scale", vec![0.5, -2.0, 3.0]),
            floats("shift", vec![1.0, 0.25, -4.0]),
            axes,
        ],
        4,
    )
}

fn optimised() -> TypedModel {
    let mut model = crate::model::ops::onnx().parse(&model(), None).unwrap().model;
    model.set_input_fact(0, f32::fact(SHAPE).into()).unwrap();
    model.into_optimized().unwrap()
}

fn unnatural_constants(model: &TypedModel) -> usize {
    model
        .nodes
        .iter()
        .filter_map(|node| node.op_as::<Const>())
        .filter(|konst| konst.val().strides() != &*Tensor::natural_strides(konst.val().shape()))
        .count()
}

fn run(model: TypedModel) -> Vec<f32> {
    let x: Vec<f32> = (0..48).map(|i| i as f32 / 8.0 - 3.0).collect();
    let plan = model.into_runnable().unwrap();
    let outputs = plan
        .run(tvec!(Tensor::from_shape(&SHAPE, &x).unwrap().into_tvalue()))
        .unwrap();
    outputs[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

#[test]
fn folded_unsqueezes_are_relaid_and_answer_the_same() {
    let before = optimised();
    // What this module is for: tract leaves the folded constants with copied strides.
    assert!(
        unnatural_constants(&before) > 0,
        "tract now folds Unsqueeze naturally: {before}"
    );
    let mut after = before.clone();
    make_natural(&mut after).unwrap();
    assert_eq!(unnatural_constants(&after), 0, "{after}");
    let (want, got) = (run(before), run(after));
    assert_eq!(got, want);
    // And the answer is the formula's: channel 1's scale is -2 and its shift 0.25.
    assert_eq!(got[16], (-2.0f32 * (16.0 / 8.0 - 3.0) + 0.25).max(0.0));
}

/// A tensor of `shape` holding 0, 1, 2... in memory, read through `strides`.
fn with_strides(shape: &[usize], strides: &[isize]) -> Tensor {
    let len = shape.iter().product::<usize>();
    let mut tensor = Tensor::from_shape(&[len], &(0..len).map(|i| i as f32).collect::<Vec<_>>()).unwrap();
    // SAFETY: test tensors whose strides stay within their `len` elements (or read one element).
    unsafe { tensor.set_geometry_unchecked(shape, strides) };
    tensor
}

#[test]
fn only_strides_of_unit_axes_may_differ() {
    // A transposed layout: its elements are not in natural order.
    assert!(!only_unit_axes_differ(&with_strides(&[3, 4], &[1, 3])));
    // Natural already: nothing to do.
    assert!(!only_unit_axes_differ(&with_strides(&[1, 3, 1], &[3, 1, 1])));
    assert!(only_unit_axes_differ(&with_strides(&[1, 3, 1], &[9, 1, 7])));
    let rank_one = with_strides(&[1], &[7]);
    assert!(only_unit_axes_differ(&rank_one));
    let relaid = natural(&rank_one);
    assert_eq!(relaid.strides(), &[1]);
    let relaid = natural(&with_strides(&[1, 3, 1], &[9, 1, 7]));
    assert_eq!(relaid.strides(), &*Tensor::natural_strides(&[1, 3, 1]));
    assert_eq!(
        relaid
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [0.0, 1.0, 2.0]
    );
}
