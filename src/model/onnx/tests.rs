//! The run-state pool: a plan without operator state keeps one state for the next run, a plan with
//! operator state answers consecutive runs as onnxruntime does, and a reused state answers as a
//! fresh one.

use super::*;
use crate::model::{Batch, Predictor, Values};

fn load(path: &str) -> OnnxModel {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    OnnxModel::load(&root.join(path)).expect("the model loads")
}

/// A zoo fixture (made by `tests/models/make_zoo.py`): its request's rows, and onnxruntime's
/// answer to them in the output the fixture names as its value, one float per row.
fn recorded(name: &str) -> (Vec<Vec<f32>>, String, Vec<f32>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/zoo/{name}.json"));
    let text = std::fs::read_to_string(&path).expect("the zoo fixture is in the repository");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("the zoo fixture is JSON");
    let floats = |value: &serde_json::Value| -> Vec<f32> {
        let row = value.as_array().expect("a row is an array");
        row.iter().map(|x| x.as_f64().expect("a number") as f32).collect()
    };
    let rows = fixture["request"]["data"].as_array().expect("the request's rows");
    let output = fixture["value"]
        .as_str()
        .expect("the fixture names its value output");
    let answers = fixture["outputs"][output]
        .as_array()
        .expect("onnxruntime's answers");
    (
        rows.iter().map(floats).collect(),
        output.to_owned(),
        answers.iter().flat_map(floats).collect(),
    )
}

#[test]
fn a_model_whose_operators_keep_state_answers_consecutive_runs_as_onnxruntime() {
    // KNeighbors exports use a Scan, whose state lasts from one run to the next: a state reused
    // from an earlier run once made the next request panic.
    let knn = load("tests/fixtures/zoo/kneighbors_regressor.onnx");
    let (rows, output, expected) = recorded("kneighbors_regressor");
    let index = knn
        .spec()
        .outputs
        .iter()
        .position(|spec| spec.name == output)
        .expect("the model has the fixture's value output");

    // Two runs in a row, of different row counts, each after the load's own warm-up runs.
    for count in [rows.len(), 5] {
        let batch = Batch {
            rows: count,
            inputs: vec![Values::F32(rows[..count].concat())],
            shapes: Vec::new(),
        };
        let answer = knn.predict(batch).expect("the run succeeds");

        let Values::F32(values) = &answer.outputs[index].values else {
            panic!("{output} is float32, as the fixture records it")
        };
        assert_eq!(values.len(), count, "one value per row");
        for (row, (actual, onnxruntime)) in values.iter().zip(&expected).enumerate() {
            assert!(
                (actual - onnxruntime).abs() <= 1e-5 * onnxruntime.abs().max(1.0),
                "run of {count} rows, row {row}: {actual} vs onnxruntime's {onnxruntime}"
            );
        }
    }
}

#[test]
fn a_model_without_operator_state_runs_again_on_the_state_it_kept() {
    let model = load("model/sklearn_regression_model.onnx");
    let batch = Batch {
        rows: 2,
        inputs: vec![Values::F64((0..20).map(f64::from).collect())],
        shapes: Vec::new(),
    };

    model.predict(batch.clone()).unwrap();
    model.predict(batch).unwrap();

    // The warm-up's runs and these two, one after another: one state, spawned once and reused.
    assert_eq!(model.pool().len(), 1);
}

#[test]
fn a_reused_state_answers_as_a_fresh_one_whatever_the_row_count() {
    let pooled = load("model/sklearn_regression_model.onnx");
    let fresh = load("model/sklearn_regression_model.onnx").with_fresh_state_per_run();
    for rows in [1, 7, 2, 300, 1] {
        let values: Vec<f64> = (0..rows * 10).map(|i| (i % 13) as f64 - 6.0).collect();
        let batch = Batch {
            rows,
            inputs: vec![Values::F64(values)],
            shapes: Vec::new(),
        };
        let (a, b) = (
            pooled.predict(batch.clone()).unwrap(),
            fresh.predict(batch).unwrap(),
        );
        assert_eq!(a.outputs[0].values, b.outputs[0].values, "{rows} rows");
    }
}

#[test]
fn a_run_split_over_a_pool_answers_exactly_as_one_thread() {
    // The thresholds below which tract keeps a kernel on one thread are global; at 0 even this
    // small CNN's products and element-wise ops are split, so the pool really runs them.
    tract_linalg::multithread::set_threading_panel_threshold(0);
    tract_linalg::multithread::set_threading_element_threshold(0);
    // One plan each (timing decides whether a single-item plan is added, and it sums otherwise).
    let load = || {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensors/cnn_dynamic_batch.onnx");
        OnnxModel::load_with(&path, SinglePolicy::never()).unwrap()
    };
    let (one, two) = (load(), load().with_threads(crate::model::RunThreads::new(2)));
    let image: Vec<f32> = (0..3 * 3 * 8 * 8)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let batch = || Batch::new(3, vec![Values::F32(image.clone())]);
    let (by_one, by_two) = (one.predict(batch()).unwrap(), two.predict(batch()).unwrap());
    let floats = |p: &crate::model::Predictions| format!("{:?}", p.outputs[0].values);
    assert_eq!(floats(&by_one), floats(&by_two));
}
