//! The valid bodies the fuzzer starts from: every request form and V2 for the sample model and
//! the column pipeline, their binary-extension framings, and gzip.

use axum::http::Request;

/// Valid bodies of the sample model (10 numbers per row) in every form, and V2.
pub(super) const SAMPLE: &[(&str, &str)] = &[
    (
        "/score",
        r#"{"data": [[1,2,3,4,5,6,7,8,9,10], [10,9,8,7,6,5,4,3,2,1]]}"#,
    ),
    (
        "/score",
        r#"{"input_data": {"columns": [0,1,2,3,4,5,6,7,8,9], "index": [0], "data": [[1,2,3,4,5,6,7,8,9,10]]}}"#,
    ),
    ("/score", r#"{"input_data": [[1,2,3,4,5,6,7,8,9,10]]}"#),
    (
        "/score",
        r#"{"Inputs": {"data": [[1,2,3,4,5,6,7,8,9,10]]}, "GlobalParameters": {"method": "predict"}}"#,
    ),
    ("/score", r#"{"instances": [[1,2,3,4,5,6,7,8,9,10]]}"#),
    ("/score", r#"{"inputs": [[1,2,3,4,5,6,7,8,9,10]]}"#),
    (
        "/score",
        r#"{"dataframe_split": {"columns": [0,1,2,3,4,5,6,7,8,9], "data": [[1,2,3,4,5,6,7,8,9,10]]}}"#,
    ),
    (
        "/v2/models/fuzz/infer",
        r#"{"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64", "data": [1,2,3,4,5,6,7,8,9,10]}]}"#,
    ),
];

/// Valid bodies of the column pipeline (records with gaps and strings, columns, V2).
pub(super) const PIPELINE: &[(&str, &str)] = &[
    (
        "/score",
        r#"{"data": [{"age": 39.0, "hours": 40.0, "workclass": "Private"}, {"age": 52.0, "hours": null, "workclass": "x"}]}"#,
    ),
    (
        "/score",
        r#"{"data": {"age": [39.0], "hours": [40.0], "workclass": ["Private"]}}"#,
    ),
    (
        "/score?method=predict_proba",
        r#"{"dataframe_records": [{"age": 39.0, "hours": 40.0, "workclass": "Self-emp"}]}"#,
    ),
    (
        "/v2/models/fuzz/infer",
        r#"{"inputs": [{"name": "age", "shape": [1, 1], "datatype": "FP32", "data": [39]}, {"name": "hours", "shape": [1, 1], "datatype": "FP32", "data": [40]}, {"name": "workclass", "shape": [1, 1], "datatype": "BYTES", "data": ["Private"]}]}"#,
    ),
];

/// A V2 body in the binary tensor extension: the JSON header, then the inputs' bytes; with
/// the header's length.
fn binary_body(header: &str, binary: &[u8]) -> (Vec<u8>, usize) {
    let mut body = header.as_bytes().to_vec();
    body.extend_from_slice(binary);
    (body, header.len())
}

/// The sample model's V2 body with its 10 values in binary (FP64, little-endian).
pub(super) fn sample_binary() -> (Vec<u8>, usize) {
    let values: Vec<u8> = (1..=10).flat_map(|x| f64::from(x).to_le_bytes()).collect();
    binary_body(
        r#"{"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64", "parameters": {"binary_data_size": 80}}], "parameters": {"binary_data_output": true}}"#,
        &values,
    )
}

/// The pipeline's V2 body with its float and string columns in binary.
pub(super) fn pipeline_binary() -> (Vec<u8>, usize) {
    let mut values: Vec<u8> = [39.0f32, 40.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    values.extend_from_slice(&7u32.to_le_bytes());
    values.extend_from_slice(b"Private");
    binary_body(
        r#"{"inputs": [{"name": "age", "shape": [1, 1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}, {"name": "hours", "shape": [1, 1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}, {"name": "workclass", "shape": [1, 1], "datatype": "BYTES", "parameters": {"binary_data_size": 11}}], "outputs": [{"name": "output_label", "parameters": {"binary_data": true}}]}"#,
        &values,
    )
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// A POST of a binary body with its header length, gzip-compressed when `gzip`.
pub(super) fn binary_request(path: &str, length: i64, gzip: bool) -> axum::http::request::Builder {
    let request = Request::post(path).header("inference-header-content-length", length.to_string());
    if gzip {
        request.header("content-encoding", "gzip")
    } else {
        request
    }
}
