//! scikit-learn pipelines with the ai.onnx.ml operators this server implements itself (Scaler,
//! Imputer, FeatureVectorizer, OneHotEncoder, LabelEncoder), against onnxruntime's answers (tests/fixtures/pipelines, made by
//! tests/models/make_pipelines.py), and a model with an operator nobody implements.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

async fn serve(name: &str) -> (Server, Value) {
    serve_fixture("tests/fixtures/pipelines", name).await
}

/// The fixture's request answers its one output `output` as onnxruntime does.
async fn assert_answers_as_onnxruntime(name: &str, output: &str) {
    let (server, fixture) = serve(name).await;
    let answer = post(&server, fixture["request"].to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_close_to(&answer.json(), &fixture["outputs"][output]);
}

/// The fixture's request answers onnxruntime's labels, and its probabilities with predict_proba.
async fn assert_classifies_as_onnxruntime(name: &str) {
    let (server, fixture) = serve(name).await;
    let body = fixture["request"].to_string();
    let labels = post(&server, body.clone()).await;
    let probabilities = post_to(&server, "/score?method=predict_proba", body).await;
    assert_eq!(labels.json(), fixture["outputs"]["label"], "{}", labels.body);
    assert_close_to(&probabilities.json(), &fixture["outputs"]["probabilities"]);
}

#[tokio::test]
async fn standard_scaler_and_linear_regression_answer_as_onnxruntime() {
    assert_answers_as_onnxruntime("scaler_linear", "variable").await;
}

#[tokio::test]
async fn a_frame_with_gaps_is_imputed_as_onnxruntime_does() {
    assert_answers_as_onnxruntime("frame_imputer_linear", "variable").await;
}

#[tokio::test]
async fn an_imputed_and_scaled_column_classifier_answers_labels_and_probabilities() {
    assert_classifies_as_onnxruntime("imputed_columns_classifier").await;
}

#[tokio::test]
async fn a_census_pipeline_with_gaps_and_an_unseen_category_answers_as_onnxruntime() {
    assert_classifies_as_onnxruntime("census_classifier").await;
}

#[tokio::test]
async fn an_ordinal_encoder_maps_known_and_unseen_categories_as_onnxruntime() {
    assert_answers_as_onnxruntime("ordinal_linear", "variable").await;
}

#[tokio::test]
async fn the_opset_1_label_encoder_maps_strings_to_their_positions() {
    assert_answers_as_onnxruntime("label_encoder_v1", "code").await;
}

#[tokio::test]
async fn the_opset_4_label_encoder_reads_its_tensor_attributes() {
    assert_answers_as_onnxruntime("label_encoder_v4", "weight").await;
}

#[tokio::test]
async fn a_zipmap_classifier_answers_its_probabilities_in_class_order() {
    let (server, fixture) = serve("zipmap_classifier").await;
    let body = fixture["request"].to_string();
    let labels = post(&server, body.clone()).await;
    let probabilities = post_to(&server, "/score?method=predict_proba", body).await;
    assert_eq!(
        labels.json(),
        fixture["outputs"]["output_label"],
        "{}",
        labels.body
    );
    assert_close_to(&probabilities.json(), &fixture["outputs"]["output_probability"]);
}

#[test]
fn an_operator_nobody_implements_stops_start_up_naming_it() {
    let args = [
        "--model-dir",
        "tests/fixtures/pipelines",
        "--model-file",
        "string_split.onnx",
    ];
    let mut server = Server::start(&args, &[]);
    let status = server.wait_exit(Duration::from_secs(20)).expect("init fails");
    let logs = server.logs();
    assert_eq!(status.code(), Some(3), "{logs}");
    assert!(
        logs.contains("operator StringSplit (domain ai.onnx, node"),
        "{logs}"
    );
}
