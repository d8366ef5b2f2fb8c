//! The nested-list reader on specs built here: items or one item, learnt symbolic sizes, and the
//! index path of each error.

use crate::model::{parse_request, ElementType, ModelSpec, TensorSpec, Values};

fn spec(shape: Vec<Option<usize>>, element: ElementType) -> ModelSpec {
    let mut spec = ModelSpec::matrix(1, element);
    spec.inputs[0] = TensorSpec {
        name: "x".to_owned(),
        element,
        width: None,
        rank1: false,
        shape,
        optional: false,
    };
    spec
}

#[test]
fn a_list_of_items_and_one_item_without_the_batch_level_read_alike() {
    let spec = spec(vec![None, Some(2), Some(2)], ElementType::U8);
    let items = parse_request(br#"{"data": [[[1, 2], [3, 4]]]}"#, &spec).unwrap();
    let item = parse_request(br#"{"data": [[1, 2], [3, 4]]}"#, &spec).unwrap();
    assert_eq!(items, item);
    assert_eq!((item.rows, &item.shapes), (1, &vec![vec![2, 2]]));
    assert_eq!(item.inputs, vec![Values::U8(vec![1, 2, 3, 4])]);
}

#[test]
fn a_symbolic_dimension_takes_its_size_from_the_first_item() {
    let spec = spec(vec![None, None], ElementType::I64);
    let batch = parse_request(br#"{"data": [[1, 2, 3], [4, 5, 6]]}"#, &spec).unwrap();
    assert_eq!(batch.shapes, vec![vec![3]]);
    let error = parse_request(br#"{"data": [[1, 2, 3], [4, 5]]}"#, &spec).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("data[1] has 2 values, the items before it have 3"),
        "{error}"
    );
}

#[test]
fn errors_name_the_index_path_and_the_shape() {
    let spec = spec(vec![None, Some(2), Some(3)], ElementType::F32);
    let cases = [
        (
            r#"[[[1, 2, 3], [4, 5]]]"#,
            "data[0][1] has 2 values, the model takes 3",
        ),
        (r#"[[[1, 2, 3], 4]]"#, "data[0][1] is a number, not a list"),
        (
            r#"[[[1, 2, 3], [4, true, 6]]]"#,
            "data[0][1][1] is a boolean, not a number",
        ),
        (
            r#"[[[1, 2, 3], [4, 5, 1e39]]]"#,
            "data[0][1][2] = 1e39 does not fit the input's type float32",
        ),
    ];
    for (data, expected) in cases {
        let body = format!(r#"{{"data": {data}}}"#);
        let error = parse_request(body.as_bytes(), &spec).unwrap_err().to_string();
        assert!(error.contains(expected) && error.contains("[N, 2, 3]"), "{error}");
    }
}

#[test]
fn a_scalar_input_takes_one_value_bare_or_in_a_list_of_one() {
    let mut spec = spec(vec![None, Some(2)], ElementType::F32);
    spec.inputs.push(TensorSpec {
        name: "t".to_owned(),
        element: ElementType::F64,
        width: Some(1),
        rank1: false,
        shape: Vec::new(),
        optional: false,
    });
    let bare = parse_request(br#"{"input_data": {"x": [[1, 2]], "t": 0.5}}"#, &spec).unwrap();
    let listed = parse_request(br#"{"input_data": {"x": [[1, 2]], "t": [0.5]}}"#, &spec).unwrap();
    assert_eq!(bare, listed);
    assert_eq!(bare.inputs[1], Values::F64(vec![0.5]));
    let two = parse_request(br#"{"input_data": {"x": [[1, 2]], "t": [0.5, 1]}}"#, &spec).unwrap_err();
    assert!(two.to_string().contains("one per request"), "{two}");
}

#[test]
fn an_empty_symbolic_dimension_is_refused_naming_the_input_and_the_dimension() {
    let sequence = spec(vec![None, None], ElementType::I64);
    for body in [br#"{"data": [[]]}"#.as_slice(), br#"{"data": [[], [1]]}"#] {
        let error = parse_request(body, &sequence).unwrap_err().to_string();
        assert!(error.contains("input \"x\""), "{error}");
        assert!(error.contains("dimension 1 of the input is symbolic"), "{error}");
    }
    // A deeper symbolic dimension, as one item.
    let deeper = spec(vec![None, Some(2), None], ElementType::I64);
    let error = parse_request(br#"{"data": [[], []]}"#, &deeper)
        .unwrap_err()
        .to_string();
    assert!(error.contains("data[0] has no values; dimension 2"), "{error}");
}
