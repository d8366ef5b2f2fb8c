//! The model zoo (tests/fixtures/zoo, made by tests/models/make_zoo.py): scikit-learn, LightGBM
//! and XGBoost models as their converters export them, and hand-made tree ensembles for the rules
//! converters do not emit. Each answers as onnxruntime does through `/score` (`predict` and
//! `predict_proba`) and V2: labels equal, numbers within 1e-5.

use serde_json::{json, Value};

use crate::common::*;

const ZOO: &str = "tests/fixtures/zoo";

async fn assert_zoo_model_answers_as_onnxruntime(name: &str) {
    let (server, fixture) = serve_fixture(ZOO, name).await;
    let outputs = &fixture["outputs"];
    let body = fixture["request"].to_string();
    let answer = post(&server, body.clone()).await;
    assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    match (fixture["label"].as_str(), fixture["value"].as_str()) {
        (Some(label), _) => assert_eq!(answer.json(), outputs[label], "{name} labels"),
        (None, Some(value)) => assert_close_to(&answer.json(), &outputs[value]),
        (None, None) => panic!("{name}: the fixture names its label or value output"),
    }
    if let Some(probabilities) = fixture["probabilities"].as_str() {
        let answer = post_to(&server, "/score?method=predict_proba", body).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert_close_to(&answer.json(), &outputs[probabilities]);
    }

    let v2 = &fixture["v2"];
    let outputs = &v2["outputs"];
    let inputs: Vec<Value> = v2["inputs"]
        .as_object()
        .expect("V2 inputs by name")
        .iter()
        .map(|(input, tensor)| json!({ "name": input, "shape": tensor["shape"], "datatype": tensor["datatype"], "data": tensor["data"] }))
        .collect();
    let path = format!("/v2/models/{name}/infer");
    let answer = post_to(&server, &path, json!({ "inputs": inputs }).to_string()).await;
    assert_eq!(answer.status, 200, "{name} V2: {}", answer.body);
    let answered = answer.json()["outputs"].as_array().expect("V2 outputs").clone();
    assert_eq!(
        answered.len(),
        outputs.as_object().unwrap().len(),
        "{name}: every output"
    );
    for output in &answered {
        let output_name = output["name"].as_str().unwrap();
        let expected = &outputs[output_name];
        if matches!(output["datatype"].as_str(), Some("FP32" | "FP64")) {
            assert_close_to(&output["data"], expected);
        } else {
            let flat: Vec<Value> = flatten(expected);
            assert_eq!(
                output["data"].as_array().unwrap(),
                &flat,
                "{name} V2 {output_name}"
            );
        }
    }
}

fn flatten(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other.clone()],
    }
}

macro_rules! zoo {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                assert_zoo_model_answers_as_onnxruntime(stringify!($name)).await;
            }
        )*

        /// Every fixture in the zoo has its test above.
        #[test]
        fn every_zoo_model_is_tested() {
            let tested = [$(stringify!($name)),*];
            for entry in std::fs::read_dir(repo_path(ZOO)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    assert!(tested.contains(&stem.as_str()), "{stem} has no test");
                }
            }
        }
    };
}

zoo! {
    scaler_linear,
    decision_tree_regressor,
    decision_tree_classifier,
    random_forest_regressor,
    random_forest_binary,
    random_forest_multiclass,
    extra_trees_regressor,
    gradient_boosting_regressor,
    gradient_boosting_binary,
    gradient_boosting_multiclass,
    mlp_classifier,
    kneighbors_regressor,
    logistic_string_zipmap,
    lightgbm_regressor,
    lightgbm_binary,
    lightgbm_multiclass,
    xgboost_regressor,
    xgboost_binary,
    xgboost_multiclass,
    column_pipeline_forest,
    hand_regressor_sum,
    hand_regressor_average,
    hand_regressor_min,
    hand_regressor_max,
    hand_two_targets_sum,
    hand_two_targets_min,
    hand_two_targets_max,
    hand_two_targets_average,
    hand_regressor_probit,
    hand_binary_forest,
    hand_binary_forest_logistic,
    hand_binary_boosting,
    hand_binary_boosting_none,
    hand_binary_two_ids,
    hand_binary_two_bases,
    hand_multiclass_softmax_zero,
    hand_multiclass_bases,
    svr_rbf,
    svc_binary,
    svc_multiclass_probabilities,
    svc_poly,
    binarizer_logistic,
    hand_v5_member_sum,
    hand_v5_member_f64_average,
    hand_v5_two_targets_max_logistic,
    hand_v5_two_targets_sum_softmax,
}
