//! Tensors of any rank (SPEC 9) through the real server, against onnxruntime's answers in
//! `tests/fixtures/tensors` (made by `tests/models/make_tensors.py`): every `/score` request
//! form and error here, V2 in `tensors/v2.rs`.

use serde_json::{json, Value};

use crate::common::{assert_close_to, post, post_to, serve_fixture, Server};

mod refusals;
mod threads;
mod v2;

const DIR: &str = "tests/fixtures/tensors";

/// The case `name` of a fixture.
fn case<'a>(fixture: &'a Value, name: &str) -> &'a Value {
    fixture["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// The lengths of a nested list along its first elements (`[3, 4]` for three lists of four).
fn shape(value: &Value) -> Vec<usize> {
    let mut dims = Vec::new();
    let mut at = value;
    while let Value::Array(items) = at {
        dims.push(items.len());
        match items.first() {
            Some(first) => at = first,
            None => break,
        }
    }
    dims
}

/// Answered 200 with `expected` (numbers within 1e-5), nested as `expected` is.
fn assert_answer(answer: &crate::common::Answer, expected: &Value) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let got = answer.json();
    assert_eq!(shape(&got), shape(expected), "{got}");
    assert_close_to(&got, expected);
}

#[tokio::test]
async fn a_fixed_batch_cnn_answers_a_list_of_items_and_one_bare_item_as_onnxruntime_per_item() {
    let (server, fixture) = serve_fixture(DIR, "cnn_fixed_batch").await;
    let n3 = case(&fixture, "n3");
    let body = json!({ "data": n3["inputs"]["image"]["data"] }).to_string();
    assert_answer(&post(&server, body).await, &n3["outputs"]["logits"]["data"]);

    // One item without the batch level: its rank says so.
    let n1 = case(&fixture, "n1");
    let body = json!({ "data": n1["inputs"]["image"]["data"][0] }).to_string();
    assert_answer(&post(&server, body).await, &n1["outputs"]["logits"]["data"]);
    assert!(
        server.logs().contains("one model run per item"),
        "{}",
        server.logs()
    );
}

#[tokio::test]
async fn the_warm_up_trap_answers_as_onnxruntime_per_item_not_as_one_mixed_run() {
    let (server, fixture) = serve_fixture(DIR, "cnn_fixed_batch_trap").await;
    let n3 = case(&fixture, "n3");
    let body = json!({ "data": n3["inputs"]["image"]["data"] }).to_string();
    assert_answer(&post(&server, body).await, &n3["outputs"]["logits"]["data"]);
}

#[tokio::test]
async fn a_cnn_with_local_response_normalisation_answers_as_onnxruntime() {
    let (server, fixture) = serve_fixture(DIR, "lrn_cnn").await;
    for name in ["n1", "n3"] {
        let case = case(&fixture, name);
        let body = json!({ "data": case["inputs"]["image"]["data"] }).to_string();
        assert_answer(&post(&server, body).await, &case["outputs"]["logits"]["data"]);
    }
}

#[tokio::test]
async fn image_errors_name_the_input_the_index_path_and_the_shape() {
    let (server, fixture) = serve_fixture(DIR, "cnn_dynamic_batch").await;
    let images = case(&fixture, "n3")["inputs"]["image"]["data"].clone();
    let cases = [
        // A row one value short.
        ("/1/2/5", None, "data[1][2][5] has 7 values, the model takes 8"),
        // A number where a list belongs (ragged nesting).
        ("/0/1", Some(json!(1.5)), "data[0][1] is a number, not a list"),
        (
            "/2/0/3/4",
            Some(json!("x")),
            "data[2][0][3][4] is a string, not a number",
        ),
        ("/1/0/0/0", Some(json!([1.0])), "data[1][0][0][0] is a list"),
    ];
    for (pointer, replacement, expected) in cases {
        let mut body = images.clone();
        let at = body.pointer_mut(pointer).expect("the pointer is in the fixture");
        match replacement {
            Some(value) => *at = value,
            None => {
                at.as_array_mut().expect("a row").pop();
            }
        }
        let answer = post(&server, json!({ "data": body }).to_string()).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        let message = answer.message();
        assert!(message.contains(expected), "{message}");
        assert!(
            message.contains("\"image\"") && message.contains("[N, 3, 8, 8]"),
            "{message}"
        );
    }
    // Nested one level too deep for a list of items.
    let answer = post(&server, json!({ "data": [images] }).to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.message().contains("nests 5 lists deep"), "{}", answer.body);
}

#[tokio::test]
async fn a_body_over_the_limit_for_an_image_model_points_to_the_binary_transports() {
    let args = [
        "--model-dir",
        DIR,
        "--model-file",
        "cnn_dynamic_batch.onnx",
        "--max-body-bytes",
        "2000",
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(std::time::Duration::from_secs(20)).await;
    let body = json!({ "data": vec![vec![0.5; 3 * 8 * 8]; 10] }).to_string();
    for path in ["/score", "/v2/models/cnn_dynamic_batch/infer"] {
        let answer = post_to(&server, path, body.clone()).await;
        assert_eq!(answer.status, 413, "{}", answer.body);
        assert!(answer.body.contains("binary"), "{}", answer.body);
    }
}

#[tokio::test]
async fn a_bert_style_encoder_takes_named_inputs_records_and_mlflow_forms() {
    let (server, fixture) = serve_fixture(DIR, "tiny_bert").await;
    let padded = case(&fixture, "b2_t5_padded");
    let (ids, mask) = (
        &padded["inputs"]["input_ids"]["data"],
        &padded["inputs"]["attention_mask"]["data"],
    );
    let expected = &padded["outputs"]["logits"]["data"];
    let named = json!({ "input_ids": ids, "attention_mask": mask });
    assert_answer(
        &post(&server, json!({ "input_data": named }).to_string()).await,
        expected,
    );

    let records: Vec<Value> = (0..2)
        .map(|i| json!({ "input_ids": ids[i], "attention_mask": mask[i] }))
        .collect();
    assert_answer(
        &post(&server, json!({ "data": records }).to_string()).await,
        expected,
    );

    for key in ["inputs", "instances"] {
        let answer = post(&server, json!({ key: named }).to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_close_to(&answer.json()["predictions"], expected);
    }

    // A missing input, and items of two lengths.
    let answer = post(&server, json!({ "input_data": { "input_ids": ids } }).to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.message().contains("attention_mask"), "{}", answer.body);
    let ragged =
        json!({ "input_data": { "input_ids": [[1, 2, 3], [4, 5]], "attention_mask": [[1, 1, 1], [1, 1]] } });
    let answer = post(&server, ragged.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.message();
    assert!(
        message.contains("input_data.input_ids[1] has 2 values, the items before it have 3"),
        "{message}"
    );
}

#[tokio::test]
async fn a_rank_three_output_is_nested_per_item_and_outputs_are_chosen_by_name() {
    let (server, fixture) = serve_fixture(DIR, "sequence_rank3").await;
    let n3 = case(&fixture, "n3_t2");
    let body = json!({ "data": n3["inputs"]["x"]["data"] }).to_string();
    assert_answer(&post(&server, body.clone()).await, &n3["outputs"]["y"]["data"]);
    let answer = post_to(&server, "/score?outputs=y_mean,y", body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let both = answer.json();
    assert_eq!(shape(&both["y"]), [3, 2, 3]);
    assert_close_to(&both["y"], &n3["outputs"]["y"]["data"]);
    assert_close_to(&both["y_mean"], &n3["outputs"]["y_mean"]["data"]);
}

#[tokio::test]
async fn fp16_and_uint8_inputs_convert_and_values_out_of_range_are_400() {
    let (server, fixture) = serve_fixture(DIR, "fp16_uint8").await;
    let n3 = case(&fixture, "n3");
    let (a, b) = (&n3["inputs"]["a"]["data"], &n3["inputs"]["b"]["data"]);
    let body = json!({ "input_data": { "a": a, "b": b } }).to_string();
    assert_answer(&post(&server, body).await, &n3["outputs"]["y"]["data"]);
    for (a, b, expected) in [
        (
            json!([[1, 2, 3]]),
            json!([[1, 2, 256]]),
            "input_data.b[0][2] = 256 does not fit the input's type uint8",
        ),
        (
            json!([[1, 2, 3]]),
            json!([[1, 2, -1]]),
            "= -1 does not fit the input's type uint8",
        ),
        (
            json!([[1, 70000, 3]]),
            json!([[1, 2, 3]]),
            "input_data.a[0][1] = 70000 does not fit the input's type float16",
        ),
    ] {
        let answer = post(&server, json!({ "input_data": { "a": a, "b": b } }).to_string()).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(answer.message().contains(expected), "{}", answer.body);
    }
}

#[tokio::test]
async fn a_scalar_input_is_given_once_per_request() {
    let (server, fixture) = serve_fixture(DIR, "bool_rank0").await;
    let n3 = case(&fixture, "n3");
    let (x, threshold) = (&n3["inputs"]["x"]["data"], &n3["inputs"]["threshold"]["data"]);
    let answer = post(
        &server,
        json!({ "input_data": { "x": x, "threshold": threshold } }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), n3["outputs"]["y"]["data"]);
    let records: Vec<Value> = (0..3)
        .map(|i| json!({ "x": x[i], "threshold": threshold }))
        .collect();
    let answer = post(&server, json!({ "data": records }).to_string()).await;
    assert_eq!(answer.json(), n3["outputs"]["y"]["data"], "{}", answer.body);
}

#[tokio::test]
async fn per_item_models_refuse_dynamic_batching_at_start_naming_the_setting() {
    let args = [
        "--model-dir",
        DIR,
        "--model-file",
        "cnn_fixed_batch.onnx",
        "--batch-max-rows",
        "8",
    ];
    let mut server = Server::start(&args, &[]);
    let status = server
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("the server exits");
    let logs = server.logs();
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(
        logs.contains("--batch-max-rows") && logs.contains("one model run per item"),
        "{logs}"
    );
}
