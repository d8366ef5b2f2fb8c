use serde_json::{json, Value};

use super::*;
use crate::model::{ElementType, Output, TensorSpec};

fn records(capture: &Capture) -> Value {
    serde_json::from_slice(&capture.to_json()).expect("the records are JSON")
}

fn tensor(name: &str, element: ElementType, shape: Vec<Option<usize>>) -> TensorSpec {
    TensorSpec {
        name: name.to_owned(),
        element,
        width: Some(shape.iter().skip(1).map(|d| d.unwrap_or(1)).product()),
        rank1: shape.len() == 1,
        shape,
        optional: false,
    }
}

fn spec(inputs: Vec<TensorSpec>, outputs: Vec<TensorSpec>) -> ModelSpec {
    ModelSpec {
        inputs,
        outputs,
        fixed_rows: None,
        per_item: false,
    }
}

#[test]
fn an_optional_input_left_out_is_no_column() {
    let model = spec(
        vec![
            tensor("text", ElementType::String, vec![None]),
            tensor("text_pair", ElementType::String, vec![None]).optional(),
        ],
        vec![],
    );
    let single = Batch::new(1, vec![Values::String(vec!["a".into()]), Values::String(vec![])]);
    let capture = Capture::inputs("r1".into(), &single, &model, None);
    assert_eq!(records(&capture), json!([{"text": "a"}]));
    let pair = Batch::new(
        1,
        vec![Values::String(vec!["a".into()]), Values::String(vec!["b".into()])],
    );
    let capture = Capture::inputs("r2".into(), &pair, &model, None);
    assert_eq!(records(&capture), json!([{"text": "a", "text_pair": "b"}]));
}

#[test]
fn named_tabular_columns_keep_their_names_one_scalar_each() {
    let model = spec(
        vec![
            tensor("age", ElementType::F32, vec![None, Some(1)]),
            tensor("workclass", ElementType::String, vec![None, Some(1)]),
            tensor("married", ElementType::Bool, vec![None]),
        ],
        vec![],
    );
    let batch = Batch::new(
        2,
        vec![
            Values::F32(vec![39.0, f32::NAN]),
            Values::String(vec!["Private".into(), "State \"gov\"".into()]),
            Values::Bool(vec![true, false]),
        ],
    );
    let capture = Capture::inputs("r1".into(), &batch, &model, None);
    assert_eq!(
        records(&capture),
        json!([
            {"age": 39.0, "workclass": "Private", "married": true},
            {"age": null, "workclass": "State \"gov\"", "married": false},
        ])
    );
    assert_eq!(capture.collection, Collection::Inputs);
    assert_eq!(&*capture.request_id, "r1");
}

#[test]
fn a_matrix_input_gets_one_column_per_feature_named_as_pandas_does() {
    let model = ModelSpec::matrix(3, ElementType::F64);
    let batch = Batch::new(2, vec![Values::F64(vec![1.0, 2.5, -3.0, 4.0, 5.0, 6.0])]);
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, None)),
        json!([{"0": 1.0, "1": 2.5, "2": -3.0}, {"0": 4.0, "1": 5.0, "2": 6.0}])
    );
}

#[test]
fn a_one_feature_matrix_input_is_named_as_pandas_or_the_request_names_it() {
    let model = ModelSpec::matrix(1, ElementType::F64);
    let batch = Batch::new(2, vec![Values::F64(vec![1.0, 2.5])]);
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, None)),
        json!([{"0": 1.0}, {"0": 2.5}])
    );
    assert_eq!(
        records(&Capture::inputs(
            "r".into(),
            &batch,
            &model,
            Some(vec!["age".into()])
        )),
        json!([{"age": 1.0}, {"age": 2.5}])
    );
}

#[test]
fn a_rank_3_input_is_nested_lists_in_one_column() {
    let model = spec(
        vec![tensor("pixels", ElementType::U8, vec![None, Some(2), Some(3)])],
        vec![],
    );
    let batch = Batch {
        rows: 2,
        inputs: vec![Values::U8((0..12).collect())],
        shapes: vec![vec![2, 3]],
    };
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, None)),
        json!([{"pixels": [[0, 1, 2], [3, 4, 5]]}, {"pixels": [[6, 7, 8], [9, 10, 11]]}])
    );
}

#[test]
fn a_symbolic_sequence_among_several_inputs_is_a_list_per_row() {
    let model = spec(
        vec![
            tensor("input_ids", ElementType::I64, vec![None, None]),
            tensor("attention_mask", ElementType::I64, vec![None, None]),
        ],
        vec![],
    );
    let batch = Batch {
        rows: 1,
        inputs: vec![Values::I64(vec![101, 7, 102]), Values::I64(vec![1, 1, 1])],
        shapes: vec![vec![3], vec![3]],
    };
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, None)),
        json!([{"input_ids": [101, 7, 102], "attention_mask": [1, 1, 1]}])
    );
}

fn classifier() -> (ModelSpec, Predictions) {
    let model = spec(
        vec![tensor("input", ElementType::F32, vec![None, Some(4)])],
        vec![
            tensor("output_label", ElementType::I64, vec![None]),
            tensor("output_probability", ElementType::F32, vec![None, Some(3)]),
        ],
    );
    let predictions = Predictions {
        rows: 2,
        outputs: vec![
            Output {
                per_row: 1,
                values: Values::I64(vec![2, 0]),
                shape: vec![],
            },
            Output {
                per_row: 3,
                values: Values::F32(vec![0.1, 0.2, 0.7, 0.5, 0.25, 0.25]),
                shape: vec![3],
            },
        ],
    };
    (model, predictions)
}

#[test]
fn predict_collects_the_label_column_named_by_the_output() {
    let (model, predictions) = classifier();
    let capture = Capture::outputs(
        "r".into(),
        &predictions,
        &Answered::Outputs(vec![0]),
        &model,
        None,
    );
    assert_eq!(
        records(&capture),
        json!([{"output_label": 2}, {"output_label": 0}])
    );
    assert_eq!(capture.collection, Collection::Outputs);
}

#[test]
fn predict_proba_collects_one_column_per_class() {
    let (model, predictions) = classifier();
    let capture = Capture::outputs(
        "r".into(),
        &predictions,
        &Answered::Probabilities(1),
        &model,
        None,
    );
    assert_eq!(
        records(&capture),
        json!([{"0": 0.1, "1": 0.2, "2": 0.7}, {"0": 0.5, "1": 0.25, "2": 0.25}])
    );
}

#[test]
fn several_outputs_are_a_column_each_with_lists_for_wide_ones() {
    let (model, predictions) = classifier();
    let capture = Capture::outputs("r".into(), &predictions, &Answered::all(&model), &model, None);
    assert_eq!(
        records(&capture),
        json!([
            {"output_label": 2, "output_probability": [0.1, 0.2, 0.7]},
            {"output_label": 0, "output_probability": [0.5, 0.25, 0.25]},
        ])
    );
}

#[test]
fn float32_values_are_written_shortest_as_the_answer_is() {
    let model = ModelSpec::matrix(1, ElementType::F32);
    let batch = Batch::new(1, vec![Values::F32(vec![0.1])]);
    let json = Capture::inputs("r".into(), &batch, &model, None).to_json();
    assert_eq!(String::from_utf8(json).unwrap(), r#"[{"0":0.1}]"#);
}

#[test]
fn predict_proba_columns_are_named_by_the_class_labels_when_the_model_has_them() {
    let (model, predictions) = classifier();
    let labels = ["cat".to_owned(), "dog".to_owned(), "fish".to_owned()];
    let proba = Answered::Probabilities(1);
    let capture = Capture::outputs("r".into(), &predictions, &proba, &model, Some(&labels));
    assert_eq!(
        records(&capture),
        json!([{"cat": 0.1, "dog": 0.2, "fish": 0.7}, {"cat": 0.5, "dog": 0.25, "fish": 0.25}])
    );
    // Labels that do not match the probabilities' width are not used.
    let capture = Capture::outputs("r".into(), &predictions, &proba, &model, Some(&labels[..2]));
    assert_eq!(records(&capture)[0], json!({"0": 0.1, "1": 0.2, "2": 0.7}));
}

#[test]
fn a_matrix_inputs_features_take_the_names_the_request_gave_when_there_are_as_many() {
    let model = ModelSpec::matrix(2, ElementType::F64);
    let batch = Batch::new(1, vec![Values::F64(vec![1.0, 2.0])]);
    let named = Some(vec!["age".to_owned(), "bmi".to_owned()]);
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, named)),
        json!([{"age": 1.0, "bmi": 2.0}])
    );
    let short = Some(vec!["age".to_owned()]);
    assert_eq!(
        records(&Capture::inputs("r".into(), &batch, &model, short)),
        json!([{"0": 1.0, "1": 2.0}])
    );
}
