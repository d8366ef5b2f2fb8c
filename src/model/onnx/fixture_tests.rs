//! Every tensor test model (`tests/models/make_tensors.py`) loads with the batch rule its
//! fixture names and answers every case as onnxruntime did.

use serde_json::Value;
use tract_onnx::prelude::f16;

use super::*;
use crate::model::{Batch, BatchRule, Predictor, Values};

fn fixture(name: &str) -> (OnnxModel, Value) {
    fixture_with(name, OnnxModel::load)
}

fn fixture_with(name: &str, load: impl Fn(&Path) -> Result<OnnxModel, ModelLoadError>) -> (OnnxModel, Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensors");
    let text = std::fs::read_to_string(root.join(format!("{name}.json"))).expect("the fixture exists");
    let fixture: Value = serde_json::from_str(&text).expect("a fixture is JSON");
    let model = fixture["model"].as_str().expect("the fixture names its model");
    (load(&root.join(model)).expect("the model loads"), fixture)
}

fn leaves(value: &Value, into: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| leaves(item, into)),
        leaf => into.push(leaf.clone()),
    }
}

/// A fixture tensor's data as the buffer of its datatype.
fn values(tensor: &Value) -> Values {
    let mut flat = Vec::new();
    leaves(&tensor["data"], &mut flat);
    let f = |v: &Value| v.as_f64().expect("a number");
    match tensor["datatype"].as_str().expect("a datatype") {
        "FP32" => Values::F32(flat.iter().map(|v| f(v) as f32).collect()),
        "FP64" => Values::F64(flat.iter().map(f).collect()),
        "FP16" => Values::F16(flat.iter().map(|v| f16::from_f64(f(v))).collect()),
        "INT8" => Values::I8(flat.iter().map(|v| f(v) as i8).collect()),
        "UINT8" => Values::U8(flat.iter().map(|v| f(v) as u8).collect()),
        "INT16" => Values::I16(flat.iter().map(|v| f(v) as i16).collect()),
        "INT32" => Values::I32(flat.iter().map(|v| f(v) as i32).collect()),
        "INT64" => Values::I64(flat.iter().map(|v| f(v) as i64).collect()),
        "BOOL" => Values::Bool(flat.iter().map(|v| v.as_bool().expect("a boolean")).collect()),
        other => panic!("no datatype {other} in the fixtures"),
    }
}

fn as_f64(values: &Values) -> Vec<f64> {
    match values {
        Values::F32(v) => v.iter().map(|x| f64::from(*x)).collect(),
        Values::F64(v) => v.clone(),
        Values::F16(v) => v.iter().map(|x| x.to_f64()).collect(),
        Values::I32(v) => v.iter().map(|x| f64::from(*x)).collect(),
        Values::Bool(v) => v.iter().map(|x| f64::from(u8::from(*x))).collect(),
        other => panic!("no output of {:?} in the fixtures", other.element()),
    }
}

fn check_cases(name: &str, rule: BatchRule) {
    let (model, fixture) = fixture(name);
    check_model_cases(name, rule, &model, &fixture);
}

fn check_model_cases(name: &str, rule: BatchRule, model: &OnnxModel, fixture: &Value) {
    assert_eq!(model.spec().batch_rule(), rule, "{name}");
    for case in fixture["cases"].as_array().expect("cases") {
        let mut batch = Batch::new(0, Vec::new());
        for input in &model.spec().inputs {
            let given = &case["inputs"][&input.name];
            let shape: Vec<usize> = serde_json::from_value(given["shape"].clone()).expect("a shape");
            if let Some(&rows) = shape.first() {
                batch.rows = rows;
            }
            batch.inputs.push(values(given));
            batch.shapes.push(shape.get(1..).unwrap_or_default().to_vec());
        }
        let answer = model.predict(batch).expect("the case runs");
        for (spec, output) in model.spec().outputs.iter().zip(&answer.outputs) {
            let expected = &case["outputs"][&spec.name];
            let shape: Vec<usize> = serde_json::from_value(expected["shape"].clone()).expect("a shape");
            assert_eq!(output.shape, shape[1..], "{name} {} {}", case["name"], spec.name);
            let (got, want) = (as_f64(&output.values), as_f64(&values(expected)));
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 + 1e-4 * w.abs(),
                    "{name} {}: {g} vs {w}",
                    case["name"]
                );
            }
        }
    }
}

#[test]
fn a_cnn_whose_reshape_hard_codes_the_batch_runs_per_item_as_onnxruntime() {
    check_cases("cnn_fixed_batch", BatchRule::PerItem);
}

#[test]
fn a_cnn_that_type_checks_with_a_symbolic_batch_but_mixes_items_is_caught_at_warm_up() {
    check_cases("cnn_fixed_batch_trap", BatchRule::PerItem);
}

#[test]
fn a_cnn_with_a_symbolic_batch_runs_once_per_request_as_onnxruntime() {
    check_cases("cnn_dynamic_batch", BatchRule::Symbolic);
}

#[test]
fn a_cnn_with_local_response_normalisation_runs_our_lrn_as_onnxruntime() {
    let (model, fixture) = fixture("lrn_cnn");
    // Ours is named `LRN`, tract's `Lrn`.
    let ours = |plan: &TypedRunnableModel| {
        plan.model()
            .nodes
            .iter()
            .filter(|node| node.op().name() == "LRN")
            .count()
    };
    assert_eq!(ours(&model.plan), 3);
    check_model_cases("lrn_cnn", BatchRule::Symbolic, &model, &fixture);
}

#[test]
fn a_single_item_plan_answers_one_item_and_several_items_as_onnxruntime() {
    for items_on_single in [false, true] {
        let (model, fixture) = fixture_with("cnn_dynamic_batch", |path| {
            OnnxModel::load_with(path, SinglePolicy::forced(items_on_single))
        });
        assert!(model.single.is_some(), "the plan for one item is kept");
        assert_eq!(model.items_on_single, items_on_single);
        check_model_cases("cnn_dynamic_batch", BatchRule::Symbolic, &model, &fixture);
        // No items at all stay on the symbolic plan, as without a single-item plan.
        let none = Batch {
            rows: 0,
            inputs: vec![Values::F32(Vec::new())],
            shapes: vec![vec![3, 8, 8]],
        };
        let (alone, _) = fixture_with("cnn_dynamic_batch", |path| {
            OnnxModel::load_with(path, SinglePolicy::never())
        });
        assert_eq!(alone.predict(none.clone()).map(|p| p.rows).ok(), Some(0));
        assert_eq!(model.predict(none).map(|p| p.rows).ok(), Some(0));
    }
}

#[test]
fn a_fixed_batch_keeps_one_plan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // Forced or not, a batch fixed at 2 has no symbolic plan to stand beside.
    let fixed = OnnxModel::load_with(&root.join("linear_f32_fixed2x4.onnx"), SinglePolicy::forced(true))
        .expect("the model loads");
    assert!(fixed.single.is_none());
}

#[test]
fn a_rank_three_sequence_model_answers_every_sequence_length_as_onnxruntime() {
    check_cases("sequence_rank3", BatchRule::Symbolic);
}

#[test]
fn a_bert_style_encoder_with_two_int64_inputs_answers_padded_batches_as_onnxruntime() {
    check_cases("tiny_bert", BatchRule::Symbolic);
}

#[test]
fn fp16_uint8_int8_int16_fp64_int32_and_bool_tensors_answer_as_onnxruntime() {
    for name in ["fp16_uint8", "int8_int16", "fp64_int32_bool"] {
        check_cases(name, BatchRule::Symbolic);
    }
}

#[test]
fn a_scalar_input_is_one_value_per_request() {
    check_cases("bool_rank0", BatchRule::Symbolic);
}

#[test]
fn a_batch_fixed_at_two_takes_exactly_two_items() {
    check_cases("linear_f32_fixed2x4", BatchRule::Fixed(2));
}
