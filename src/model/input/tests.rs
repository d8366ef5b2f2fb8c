use super::*;
fn spec(width: usize, element: ElementType) -> ModelSpec {
    ModelSpec::matrix(width, element)
}

fn parse_f64(body: &str, width: usize) -> Result<Batch, InputError> {
    parse_request(body.as_bytes(), &spec(width, ElementType::F64))
}

fn message(body: &str, width: usize) -> String {
    parse_f64(body, width).unwrap_err().to_string()
}

#[test]
fn rows_are_parsed_into_one_row_major_buffer() {
    let batch = parse_f64(r#"{"data": [[1, 2.5], [3, -4e2]]}"#, 2).unwrap();
    assert_eq!(
        batch,
        Batch {
            rows: 2,
            inputs: vec![Values::F64(vec![1.0, 2.5, 3.0, -400.0])],
            shapes: Vec::new(),
        }
    );
}

#[test]
fn a_flat_row_is_one_row() {
    let batch = parse_f64(r#"{"data": [1, 2, 3]}"#, 3).unwrap();
    assert_eq!(batch.rows, 1);
}

#[test]
fn other_fields_are_ignored() {
    let batch = parse_f64(r#"{"id": {"x": [1, "a"]}, "data": [[1, 2]], "more": null}"#, 2).unwrap();
    assert_eq!(batch.rows, 1);
}

#[test]
fn float32_models_get_float32_values() {
    let batch = parse_request(br#"{"data": [[0.1, 2]]}"#, &spec(2, ElementType::F32)).unwrap();
    assert_eq!(batch.inputs[0], Values::F32(vec![0.1, 2.0]));
}

#[test]
fn integer_models_take_whole_numbers_only() {
    let int_spec = spec(2, ElementType::I64);
    assert_eq!(
        parse_request(br#"{"data": [[1, 2.0]]}"#, &int_spec)
            .unwrap()
            .inputs[0],
        Values::I64(vec![1, 2])
    );
    let error = parse_request(br#"{"data": [[1, 2.5]]}"#, &int_spec).unwrap_err();
    assert_eq!(
        error.to_string(),
        "data[0][1] = 2.5 does not fit the model's input type int64"
    );
}

#[test]
fn two_to_the_63_as_a_float_does_not_fit_int64() {
    let int_spec = spec(1, ElementType::I64);
    // 2^63 is one past i64::MAX, the first float above the largest one below 2^63.
    let error = parse_request(br#"{"data": [[9223372036854775808.0]]}"#, &int_spec).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("does not fit the model's input type int64"),
        "{error}"
    );
    let largest = parse_request(br#"{"data": [[9223372036854774784.0]]}"#, &int_spec).unwrap();
    assert_eq!(largest.inputs[0], Values::I64(vec![9_223_372_036_854_774_784]));
    let int32 = spec(1, ElementType::I32);
    let bounds = parse_request(br#"{"data": [[2147483647.0], [-2147483648.0]]}"#, &int32).unwrap();
    assert_eq!(bounds.inputs[0], Values::I32(vec![i32::MAX, i32::MIN]));
    assert!(parse_request(br#"{"data": [[2147483648.0]]}"#, &int32).is_err());
}

#[test]
fn empty_body_says_what_to_send() {
    assert_eq!(parse_f64("  \n", 2).unwrap_err(), InputError::EmptyBody);
}

#[test]
fn invalid_utf8_names_the_offset() {
    let error = parse_request(b"{\"data\": [[1, \xff]]}", &spec(2, ElementType::F64)).unwrap_err();
    assert_eq!(error, InputError::NotUtf8 { offset: 14 });
}

#[test]
fn not_json_is_reported_as_such() {
    assert!(message("hello", 2).starts_with("the request body is not valid JSON"));
}

#[test]
fn truncated_json_is_reported_as_invalid_json() {
    assert!(message(r#"{"data": [[1, 2]"#, 2).starts_with("the request body is not valid JSON"));
}

#[test]
fn trailing_garbage_is_invalid_json() {
    assert!(message(r#"{"data": [[1, 2]]} x"#, 2).starts_with("the request body is not valid JSON"));
}

#[test]
fn a_body_that_is_not_an_object_names_what_it_is() {
    assert_eq!(
        message("[[1, 2]]", 2),
        "the request body must be a JSON object with a \"data\" field, found an array"
    );
}

#[test]
fn missing_data_is_named() {
    assert_eq!(
        parse_f64(r#"{"rows": []}"#, 2).unwrap_err(),
        InputError::MissingData
    );
}

#[test]
fn data_that_is_not_an_array_is_named() {
    assert_eq!(
        parse_f64(r#"{"data": "x"}"#, 2).unwrap_err(),
        InputError::DataNotArray { found: "a string" }
    );
}

#[test]
fn empty_data_is_rejected() {
    assert_eq!(
        parse_f64(r#"{"data": []}"#, 2).unwrap_err(),
        InputError::EmptyData
    );
}

#[test]
fn a_short_row_names_the_row_and_the_counts() {
    assert_eq!(
        message(r#"{"data": [[1, 2], [1]]}"#, 2),
        "row 1 has 1 values, the model takes 2"
    );
}

#[test]
fn a_long_row_counts_all_its_values() {
    assert_eq!(
        message(r#"{"data": [[1, 2, 3, "x", null]]}"#, 2),
        "row 0 has 5 values, the model takes 2"
    );
}

#[test]
fn a_flat_row_of_the_wrong_width_is_row_0() {
    assert_eq!(
        message(r#"{"data": [1, 2, 3]}"#, 2),
        "row 0 has 3 values, the model takes 2"
    );
}

#[test]
fn rows_mixed_with_numbers_are_rejected() {
    let expected = "data[1] is a number, but data[0] is a row; send one row of numbers or a list of rows";
    assert_eq!(message(r#"{"data": [[1, 2], 3]}"#, 2), expected);
}

#[test]
fn each_non_number_names_its_cell_and_kind() {
    for (value, kind) in [
        ("\"1\"", "a string"),
        ("null", "null"),
        ("true", "a boolean"),
        ("[1]", "an array"),
        ("{}", "an object"),
    ] {
        let body = format!(r#"{{"data": [[1, 2], [3, {value}]]}}"#);
        assert_eq!(
            message(&body, 2),
            format!("data[1][1] is not a number (found {kind})")
        );
    }
}

#[test]
fn a_non_number_in_a_flat_row_names_its_index() {
    assert_eq!(
        message(r#"{"data": [1, null]}"#, 2),
        "data[1] is not a number (found null)"
    );
}

#[test]
fn a_number_too_large_for_float64_names_its_cell() {
    assert_eq!(
        message(r#"{"data": [[1, 1e999]]}"#, 2),
        "data[0][1]: number out of range"
    );
}

#[test]
fn a_number_too_large_for_float32_names_its_cell() {
    let error = parse_request(br#"{"data": [[1e39, 1]]}"#, &spec(2, ElementType::F32)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "data[0][0] = 1000000000000000000000000000000000000000 does not fit the model's input type float32"
    );
}

#[test]
fn deeply_nested_arrays_are_rejected_without_recursing() {
    let depth = 100_000;
    let body = format!(r#"{{"data": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert_eq!(message(&body, 2), "data[0][0] is not a number (found an array)");
}

#[test]
fn deep_nesting_outside_data_is_skipped_without_recursing() {
    let depth = 100_000;
    let body = format!(
        r#"{{"x": {}{}, "data": [[1, 2]]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(parse_f64(&body, 2).unwrap().rows, 1);
}

#[test]
fn duplicate_data_is_rejected() {
    assert_eq!(
        parse_f64(r#"{"data": [[1, 2]], "data": [[3, 4]]}"#, 2).unwrap_err(),
        InputError::DuplicateData
    );
}

#[test]
fn the_rows_parser_refuses_a_type_it_does_not_read_instead_of_panicking() {
    let error = parse_matrix(br#"{"data": [[1]]}"#, 1, ElementType::U8).unwrap_err();
    assert_eq!(
        error,
        InputError::NotTabular {
            element: ElementType::U8
        }
    );
}

#[test]
fn commas_are_counted_across_chunk_edges() {
    let mut rng = fastrand::Rng::with_seed(4);
    for len in [0, 1, 254, 255, 256, 510, 511, 4096] {
        let body: Vec<u8> = (0..len).map(|_| if rng.bool() { b',' } else { b'1' }).collect();
        let expected = body.iter().filter(|&&b| b == b',').count();
        assert_eq!(super::count_commas(&body), expected, "{len} bytes");
    }
    assert_eq!(super::count_commas(&[b','; 1000]), 1000);
}
