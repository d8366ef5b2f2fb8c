//! Optional inputs (a text model's `text_pair`) in every tabular form.

use crate::model::{parse_request, ElementType, InputError, ModelSpec, TensorSpec, Values};

fn text_model() -> ModelSpec {
    let mut spec = ModelSpec::matrix(1, ElementType::String);
    spec.inputs = vec![
        TensorSpec::matrix("text", ElementType::String, 1, true),
        TensorSpec::matrix("text_pair", ElementType::String, 1, true).optional(),
    ];
    spec
}

fn strings(values: &[&str]) -> Values {
    Values::String(values.iter().map(|s| s.to_string()).collect())
}

#[test]
fn pairs_read_alike_in_rows_records_columns_and_split_frames() {
    let bodies: [&[u8]; 4] = [
        br#"{"data": [["a", "b"], ["c", "d"]]}"#,
        br#"{"data": [{"text": "a", "text_pair": "b"}, {"text": "c", "text_pair": "d"}]}"#,
        br#"{"data": {"text": ["a", "c"], "text_pair": ["b", "d"]}}"#,
        br#"{"input_data": {"columns": ["text_pair", "text"], "data": [["b", "a"], ["d", "c"]]}}"#,
    ];
    for body in bodies {
        let batch = parse_request(body, &text_model()).unwrap();
        assert_eq!(batch.rows, 2);
        assert_eq!(
            batch.inputs,
            [strings(&["a", "c"]), strings(&["b", "d"])],
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_request_without_the_optional_input_leaves_it_empty() {
    let bodies: [&[u8]; 4] = [
        br#"{"data": ["a", "c"]}"#,
        br#"{"data": [{"text": "a"}, {"text": "c"}]}"#,
        br#"{"data": {"text": ["a", "c"]}}"#,
        br#"{"input_data": {"columns": ["text"], "data": [["a"], ["c"]]}}"#,
    ];
    for body in bodies {
        let batch = parse_request(body, &text_model()).unwrap();
        assert_eq!(
            batch.inputs,
            [strings(&["a", "c"]), strings(&[])],
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn mixing_items_with_and_without_the_optional_input_names_the_item() {
    let cases: [(&[u8], &str); 4] = [
        (br#"{"data": ["a", ["b", "c"]]}"#, "data[1]"),
        (br#"{"data": [["a", "b"], "c"]}"#, "data[1]"),
        (br#"{"data": [["a", "b"], ["c"]]}"#, "data[1]"),
        (
            br#"{"data": [{"text": "a"}, {"text": "c", "text_pair": "d"}]}"#,
            "data[1]",
        ),
    ];
    for (body, item) in cases {
        let error = parse_request(body, &text_model()).unwrap_err();
        assert!(matches!(error, InputError::OptionalMixed { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(item) && message.contains("text_pair"),
            "{message}"
        );
    }
}

#[test]
fn a_row_of_the_wrong_arity_says_both_widths() {
    let error = parse_request(br#"{"data": [["a", "b", "c"]]}"#, &text_model()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "row 0 has 3 values, the model takes 1 (text) or 2 (text, text_pair)"
    );
}

#[test]
fn a_member_that_is_not_a_string_names_its_column_and_row() {
    let error = parse_request(br#"{"data": [["a", "b"], ["c", 5]]}"#, &text_model()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("\"text_pair\", row 1") && message.contains("a number"),
        "{message}"
    );
}
