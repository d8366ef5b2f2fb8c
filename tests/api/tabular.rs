//! Tabular models (tests/fixtures/tabular, made by tests/models/make_tabular.py with
//! onnxruntime's answers): one input per column with string and bool columns, classifiers with
//! string and int64 labels, every request form, and the answers each form expects.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

/// A model of tests/fixtures/tabular and its fixture (rows, records, onnxruntime's outputs).
async fn serve(name: &str) -> (Server, Value) {
    serve_fixture("tests/fixtures/tabular", name).await
}

/// Numbers within 1e-5 (relative, or absolute near zero), anything else equal, at any depth.
fn assert_matches(actual: &Value, expected: &Value, context: &str) {
    match (actual, expected) {
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{context}: {actual} vs {expected}");
            for (a, e) in a.iter().zip(e) {
                assert_matches(a, e, context);
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() <= 1e-5 * e.abs().max(1.0), "{context}: {a} vs {e}");
        }
        _ => assert_eq!(actual, expected, "{context}"),
    }
}

/// The expected first output, one value per row when it has one value per row.
fn predicted(fixture: &Value, output: &str) -> Value {
    let values = fixture["outputs"][output].as_array().unwrap();
    Value::Array(
        values
            .iter()
            .map(|v| match v {
                Value::Array(row) if row.len() == 1 => row[0].clone(),
                other => other.clone(),
            })
            .collect(),
    )
}

/// `rows` as columns: `{name: [value per row]}` for the given column names.
fn columns(rows: &Value, names: &[&str]) -> Value {
    let rows = rows.as_array().unwrap();
    let mut columns = serde_json::Map::new();
    for (index, name) in names.iter().enumerate() {
        columns.insert(
            (*name).to_owned(),
            rows.iter().map(|r| r[index].clone()).collect(),
        );
    }
    Value::Object(columns)
}

const COLUMNS: [&str; 4] = ["age", "hours", "workclass", "member"];

#[tokio::test]
async fn a_model_with_one_input_per_column_answers_every_request_form_as_onnxruntime() {
    let (server, fixture) = serve("columns_regressor").await;
    let expected = predicted(&fixture, "variable");
    let (rows, records) = (&fixture["rows"], &fixture["records"]);
    let bare = [
        json!({ "data": records }),
        json!({ "data": rows }),
        json!({ "data": columns(rows, &COLUMNS) }),
        json!({ "input_data": { "columns": COLUMNS, "index": [0], "data": rows } }),
        json!({ "input_data": rows }),
        json!({ "input_data": columns(rows, &COLUMNS) }),
    ];
    for body in bare {
        let answer = post(&server, body.to_string()).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.body);
        assert_matches(&answer.json(), &expected, &body.to_string());
    }
    let wrapped = [
        (
            json!({ "Inputs": { "data": records }, "GlobalParameters": { "method": "predict" } }),
            "Results",
        ),
        (
            json!({ "dataframe_split": { "columns": COLUMNS, "data": rows } }),
            "predictions",
        ),
        (json!({ "dataframe_records": records }), "predictions"),
        (json!({ "instances": records }), "predictions"),
        (json!({ "inputs": columns(rows, &COLUMNS) }), "predictions"),
    ];
    for (body, key) in wrapped {
        let answer = post(&server, body.to_string()).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.body);
        assert_matches(&answer.json()[key], &expected, &body.to_string());
    }
}

#[tokio::test]
async fn columns_map_by_name_in_any_order_and_extra_columns_are_ignored() {
    let (server, fixture) = serve("columns_regressor").await;
    let record = json!({ "member": true, "extra": "x", "workclass": "Private", "hours": 40, "age": 39 });
    let split = json!({ "input_data": {
        "columns": ["member", "extra", "workclass", "hours", "age"],
        "data": [[true, "x", "Private", 40, 39]],
    }});
    let from_record = post(&server, json!({ "data": [record] }).to_string()).await;
    let from_split = post(&server, split.to_string()).await;
    assert_eq!(from_record.status, 200, "{}", from_record.body);
    // 39 * 0.5 + 40 * 0.25 + Private (0) * 10 - member * 3 + 1.5, as the model's weights say.
    assert_matches(&from_record.json(), &json!([28.0]), "record");
    assert_eq!(from_split.body, from_record.body);
    drop(fixture);
}

#[tokio::test]
async fn a_missing_column_or_a_wrong_value_is_a_400_naming_it() {
    let (server, _) = serve("columns_regressor").await;
    let cases = [
        (
            json!({ "data": [{ "age": 39, "workclass": "Private", "member": true }] }),
            "no column \"hours\"",
        ),
        (
            json!({ "data": [{ "age": 39, "hours": 40.5, "workclass": "Private", "member": true }] }),
            "column \"hours\", row 0",
        ),
        (
            json!({ "data": [{ "age": 39, "hours": 40, "workclass": 7, "member": true }] }),
            "column \"workclass\", row 0: expected string",
        ),
        (
            json!({ "data": [{ "age": 39, "hours": 40, "workclass": "P", "member": 1 }] }),
            "column \"member\", row 0: expected bool",
        ),
        (
            json!({ "data": { "age": [1, 2], "hours": [1], "workclass": ["a", "b"], "member": [true, true] } }),
            "column \"hours\" has 1 values",
        ),
        (json!({ "rows": [] }), "no \"data\" field"),
    ];
    for (body, needle) in cases {
        let answer = post(&server, body.to_string()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert!(answer.message().contains(needle), "{body}: {}", answer.body);
    }
    assert_eq!(
        post(&server, r#"{"data": [[39, 40, "Private", true]]}"#)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_string_classifier_answers_labels_probabilities_and_named_outputs() {
    let (server, fixture) = serve("string_classifier").await;
    let rows = json!({ "data": fixture["rows"] }).to_string();

    let labels = post(&server, rows.clone()).await;
    let probabilities = post_to(&server, "/score?method=predict_proba", rows.clone()).await;
    let both = post_to(&server, "/score?outputs=label,probabilities", rows.clone()).await;
    let automl =
        json!({ "Inputs": { "data": fixture["rows"] }, "GlobalParameters": { "method": "predict_proba" } });
    let automl = post(&server, automl.to_string()).await;

    assert_eq!(labels.json(), fixture["outputs"]["label"]);
    assert_matches(
        &probabilities.json(),
        &fixture["outputs"]["probabilities"],
        "predict_proba",
    );
    assert_eq!(both.json()["label"], fixture["outputs"]["label"]);
    assert_matches(
        &both.json()["probabilities"],
        &fixture["outputs"]["probabilities"],
        "outputs",
    );
    assert_matches(
        &automl.json()["Results"],
        &fixture["outputs"]["probabilities"],
        "AutoML",
    );
}

#[tokio::test]
async fn an_int64_classifier_answers_int_labels_and_refuses_unknown_methods() {
    let (server, fixture) = serve("int_classifier").await;
    let rows = json!({ "data": fixture["rows"] }).to_string();

    let labels = post(&server, rows.clone()).await;
    let unknown = post_to(&server, "/score?method=transform", rows.clone()).await;
    let records = post(&server, json!({ "data": [{ "X": 1 }] }).to_string()).await;

    assert_eq!(labels.json(), fixture["outputs"]["label"]);
    assert_eq!(unknown.status, 400);
    assert!(unknown.message().contains("predict_proba"), "{}", unknown.body);
    assert_eq!(records.status, 400);
    assert!(records.message().contains("split form"), "{}", records.body);
}

#[tokio::test]
async fn predict_proba_on_a_regressor_is_a_400_saying_so() {
    let (server, fixture) = serve("columns_regressor").await;
    let body = json!({ "data": fixture["records"] }).to_string();
    let answer = post_to(&server, "/score?method=predict_proba", body).await;
    assert_eq!(answer.status, 400);
    assert!(answer.message().contains("has none"), "{}", answer.body);
}

#[tokio::test]
async fn v2_takes_every_input_by_name_and_answers_every_output() {
    let (server, fixture) = serve("string_classifier").await;
    let rows = fixture["rows"].as_array().unwrap();
    let request =
        json!({ "inputs": [{ "name": "X", "shape": [rows.len(), 4], "datatype": "FP32", "data": rows }] });
    let answer = post_to(&server, "/v2/models/string_classifier/infer", request.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let outputs = answer.json()["outputs"].clone();
    assert_eq!(outputs[0]["datatype"], "BYTES");
    assert_eq!(outputs[0]["data"], fixture["outputs"]["label"]);
    assert_eq!(outputs[1]["shape"], json!([rows.len(), 3]));

    let (server, _) = serve("columns_regressor").await;
    let request = json!({ "inputs": [
        { "name": "age", "shape": [1, 1], "datatype": "FP32", "data": [39] },
        { "name": "hours", "shape": [1], "datatype": "INT64", "data": [40] },
        { "name": "workclass", "shape": [1, 1], "datatype": "BYTES", "data": ["Private"] },
        { "name": "member", "shape": [1, 1], "datatype": "BOOL", "data": [true] },
    ]});
    let answer = post_to(&server, "/v2/models/columns_regressor/infer", request.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_matches(&answer.json()["outputs"][0]["data"], &json!([28.0]), "v2 columns");
}

#[tokio::test]
async fn the_sample_model_takes_the_mlflow_and_automl_forms_too() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let rows = json!([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]);
    let bare = [
        json!({ "input_data": rows }),
        json!({ "input_data": { "input": rows } }),
        json!({ "input_data": { "columns": (0..10).map(|i| format!("c{i}")).collect::<Vec<_>>(), "index": [0, 1], "data": rows } }),
    ];
    for body in bare {
        let answer = post(&server, body.to_string()).await;
        assert_sample_predictions(&answer);
    }
    let automl = post(&server, json!({ "Inputs": { "data": rows } }).to_string()).await;
    let mlflow = post(&server, json!({ "instances": rows }).to_string()).await;
    assert_matches(&automl.json()["Results"], &json!(SAMPLE_PREDICTIONS), "AutoML");
    assert_matches(
        &mlflow.json()["predictions"],
        &json!(SAMPLE_PREDICTIONS),
        "MLflow",
    );
    let records = post(&server, json!({ "data": [{ "input": 1 }] }).to_string()).await;
    assert_eq!(records.status, 400);
    assert!(records.message().contains("split form"), "{}", records.body);
}
