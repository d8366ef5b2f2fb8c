use std::path::{Path, PathBuf};

use super::*;
use crate::model::onnx::OnnxModel;
use crate::model::Predictor;
use tract_onnx::pb::ModelProto;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn proto(path: &Path) -> ModelProto {
    crate::model::ops::onnx().proto_model_for_path(path).unwrap()
}

fn answers() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("tests/fixtures/affine/answers.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The rows of `answers.json` for `name` as a batch of the model's input type, and
/// onnxruntime's outputs for them.
fn case(model: &OnnxModel, name: &str) -> (Batch, Vec<f64>) {
    let answers = answers();
    let rows = answers[name]["x"].as_array().unwrap();
    let x: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let y = answers[name]["y"].as_array().unwrap();
    let y = y
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let values = match model.spec().inputs[0].element {
        crate::model::ElementType::F32 => Values::F32(x.iter().map(|&v| v as f32).collect()),
        _ => Values::F64(x),
    };
    (Batch::new(rows.len(), vec![values]), y)
}

/// Row `row` of a one-input batch, as its input's values.
fn batch_row(batch: &Batch, row: usize) -> Values {
    let values = &batch.inputs[0];
    let width = values.len() / batch.rows;
    values.slice(row * width..(row + 1) * width)
}

fn floats(values: &Values) -> Vec<f64> {
    match values {
        Values::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Values::F64(v) => v.clone(),
        other => panic!("not floats: {other:?}"),
    }
}

fn bits(predictions: &Predictions) -> Vec<u64> {
    floats(&predictions.outputs[0].values)
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// The model on its plan alone, and the accumulation of its linear graph that answers as it.
fn plan_and_agreeing(path: &Path) -> (OnnxModel, Option<Linear>) {
    let linear = detect(&proto(path)).expect("a linear graph");
    let plan = OnnxModel::load(path).unwrap().on_plan_only();
    let probes = verify::probes(&plan).unwrap();
    let agreeing = plan.agreeing(linear, &probes);
    (plan, agreeing)
}

#[test]
fn the_exporters_linear_forms_are_found_and_their_direct_answers_equal_the_plans_and_onnxruntimes() {
    for name in ["gemm_transb_f32", "bias_first_f64", "no_bias_f64", "reshape_f32"] {
        let path = fixture(&format!("tests/fixtures/affine/{name}.onnx"));
        let (plan, linear) = plan_and_agreeing(&path);
        let linear = linear.unwrap_or_else(|| panic!("{name}: no accumulation answers as the plan"));
        let (batch, expected) = case(&plan, name);
        let direct = linear.predict(&batch).unwrap();
        let planned = plan.predict(batch.clone()).unwrap();
        // Whether the loaded model keeps the shortcut depends on timing; its answers do not.
        assert_eq!(
            bits(&OnnxModel::load(&path).unwrap().predict(batch.clone()).unwrap()),
            bits(&planned)
        );
        assert_eq!(bits(&direct), bits(&planned), "{name}");
        assert_eq!(direct.outputs[0].shape, planned.outputs[0].shape, "{name}");
        // One row: tract runs a matrix-vector kernel there.
        let one = Batch::new(1, vec![batch_row(&batch, 0)]);
        let (direct_one, planned_one) = (linear.predict(&one).unwrap(), plan.predict(one).unwrap());
        assert_eq!(bits(&direct_one), bits(&planned_one), "{name}, one row");
        let got = floats(&direct.outputs[0].values);
        assert_eq!(got.len(), expected.len(), "{name}");
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g - e).abs() <= 1e-5 * e.abs().max(1.0),
                "{name}: {g} against onnxruntime's {e}"
            );
        }
    }
}

#[test]
fn the_bundled_sample_is_computed_directly_bit_for_bit_as_the_plan() {
    let path = fixture("model/sklearn_regression_model.onnx");
    let (plan, linear) = plan_and_agreeing(&path);
    let model = OnnxModel {
        linear: Some(linear.expect("an accumulation answers as the plan")),
        ..OnnxModel::load(&path).unwrap()
    };
    assert!(matches!(model.linear, Some(Linear::F64(_))));
    let mut rng = fastrand::Rng::with_seed(3);
    for rows in [0, 1, 2, 7, 1000] {
        let x = (0..rows * 10)
            .map(|_| (rng.f64() - 0.3) * 10f64.powi(rng.i32(-2..4)))
            .collect();
        let batch = Batch::new(rows, vec![Values::F64(x)]);
        let direct = model.predict(batch.clone()).unwrap();
        let planned = plan.predict(batch).unwrap();
        assert_eq!(bits(&direct), bits(&planned), "{rows} rows");
        assert_eq!(direct.outputs[0].per_row, planned.outputs[0].per_row);
        assert_eq!(direct.outputs[0].shape, planned.outputs[0].shape);
    }
}

#[test]
fn graphs_that_are_not_plain_linear_stay_on_the_plan() {
    for name in [
        "tests/fixtures/affine/gemm_alpha_f32.onnx",
        "tests/fixtures/affine/gemm_transa_f32.onnx",
        "tests/fixtures/affine/bias_column_f64.onnx",
        "tests/fixtures/affine/reshape_flat_f32.onnx",
        "tests/fixtures/tensors/sequence_rank3.onnx",
        "tests/fixtures/tabular/wide_regressor.onnx",
        "tests/fixtures/pipelines/scaler_linear.onnx",
    ] {
        assert!(detect(&proto(&fixture(name))).is_none(), "{name}");
    }
    // Linear, but its batch is fixed at 2: one plan, no shortcut.
    let fixed = fixture("tests/fixtures/linear_f32_fixed2x4.onnx");
    assert!(detect(&proto(&fixed)).is_some());
    assert!(OnnxModel::load(&fixed).unwrap().linear.is_none());
}

#[test]
fn a_batch_of_another_size_or_type_is_left_to_the_plan() {
    let (_, linear) = plan_and_agreeing(&fixture("model/sklearn_regression_model.onnx"));
    let linear = linear.unwrap();
    assert!(linear
        .predict(&Batch::new(2, vec![Values::F64(vec![1.0; 19])]))
        .is_none());
    assert!(linear
        .predict(&Batch::new(1, vec![Values::F32(vec![1.0; 10])]))
        .is_none());
}
