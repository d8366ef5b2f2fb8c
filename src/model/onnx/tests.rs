//! The run-state pool: which plans reuse states, and that a reused state answers as a fresh one.

use super::*;

fn load(path: &str) -> OnnxModel {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    OnnxModel::load(&root.join(path)).expect("the model loads")
}

#[test]
fn only_plans_without_operator_state_reuse_run_states() {
    assert!(load("model/sklearn_regression_model.onnx").reuse_states);
    // Its Scan keeps state between runs: a reused state made the next request panic.
    let knn = load("tests/fixtures/zoo/kneighbors_regressor.onnx");
    assert!(!knn.reuse_states);
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
        };
        let (a, b) = (
            pooled.predict(batch.clone()).unwrap(),
            fresh.predict(batch).unwrap(),
        );
        assert_eq!(a.outputs[0].values, b.outputs[0].values, "{rows} rows");
    }
}
