//! V2 (`/v2/models/{name}/infer` and metadata) for tensors of any rank: any shape, `data` flat
//! or nested, answers as flat `data` with their `shape`.

use serde_json::{json, Value};

use super::{case, DIR};
use crate::common::{assert_close_to, get_text, post_to, repo_path, serve_fixture, Server};

fn infer_path(name: &str) -> String {
    format!("/v2/models/{name}/infer")
}

/// A V2 input from a fixture tensor, its data flat when `flat`.
fn input(name: &str, tensor: &Value, flat: bool) -> Value {
    fn leaves(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| leaves(item, out)),
            leaf => out.push(leaf.clone()),
        }
    }
    let data = if flat {
        let mut out = Vec::new();
        leaves(&tensor["data"], &mut out);
        Value::Array(out)
    } else {
        tensor["data"].clone()
    };
    json!({ "name": name, "datatype": tensor["datatype"], "shape": tensor["shape"], "data": data })
}

/// The answer's output `name`: its shape, and its data checked against onnxruntime's.
fn assert_output(answer: &Value, name: &str, expected: &Value) {
    let outputs = answer["outputs"].as_array().expect("outputs");
    let output = outputs
        .iter()
        .find(|o| o["name"] == name)
        .expect("the output is answered");
    assert_eq!(output["shape"], expected["shape"], "{answer}");
    assert!(
        output["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|v| !v.is_array()),
        "flat: {answer}"
    );
    assert_close_to(&output["data"], &expected["data"]);
}

#[tokio::test]
async fn images_in_any_shape_flat_or_nested_answer_as_onnxruntime_per_item() {
    let (server, fixture) = serve_fixture(DIR, "cnn_fixed_batch").await;
    let n3 = case(&fixture, "n3");
    for flat in [false, true] {
        let body = json!({ "inputs": [input("image", &n3["inputs"]["image"], flat)] });
        let answer = post_to(&server, &infer_path("cnn_fixed_batch"), body.to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_output(&answer.json(), "logits", &n3["outputs"]["logits"]);
    }
    let mut wrong = input("image", &n3["inputs"]["image"], true);
    wrong["shape"] = json!([3, 3, 8, 7]);
    let answer = post_to(
        &server,
        &infer_path("cnn_fixed_batch"),
        json!({ "inputs": [wrong] }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("[-1, 3, 8, 8]"), "{}", answer.body);

    let metadata: Value =
        serde_json::from_str(&get_text(&server, "/v2/models/cnn_fixed_batch").await).unwrap();
    assert_eq!(metadata["inputs"][0]["shape"], json!([-1, 3, 8, 8]));
    assert_eq!(metadata["outputs"][0]["shape"], json!([-1, 4]));
    let swagger: Value = serde_json::from_str(&get_text(&server, "/swagger.json").await).unwrap();
    let body = &swagger["paths"]["/score"]["post"]["parameters"][0]["schema"];
    assert_eq!(
        body["properties"]["data"]["x-shape"],
        json!([-1, 3, 8, 8]),
        "{body}"
    );
}

#[tokio::test]
async fn two_int64_inputs_with_symbolic_lengths_and_rank_three_outputs_answer_as_onnxruntime() {
    let (server, fixture) = serve_fixture(DIR, "tiny_bert").await;
    let padded = case(&fixture, "b2_t5_padded");
    let inputs = ["input_ids", "attention_mask"].map(|name| input(name, &padded["inputs"][name], false));
    let answer = post_to(
        &server,
        &infer_path("tiny_bert"),
        json!({ "inputs": inputs }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_output(&answer.json(), "logits", &padded["outputs"]["logits"]);
    let metadata: Value = serde_json::from_str(&get_text(&server, "/v2/models/tiny_bert").await).unwrap();
    assert_eq!(metadata["inputs"][0]["shape"], json!([-1, -1]));
    assert_eq!(metadata["inputs"][0]["datatype"], "INT64");

    let (server, fixture) = serve_fixture(DIR, "sequence_rank3").await;
    let n3 = case(&fixture, "n3_t2");
    let body = json!({ "inputs": [input("x", &n3["inputs"]["x"], true)] });
    let answer = post_to(&server, &infer_path("sequence_rank3"), body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_output(&answer.json(), "y", &n3["outputs"]["y"]);
    assert_output(&answer.json(), "y_mean", &n3["outputs"]["y_mean"]);
}

#[tokio::test]
async fn fp16_uint8_and_scalar_inputs_take_their_datatypes_and_shapes() {
    let (server, fixture) = serve_fixture(DIR, "fp16_uint8").await;
    let n3 = case(&fixture, "n3");
    let inputs = ["a", "b"].map(|name| input(name, &n3["inputs"][name], false));
    let answer = post_to(
        &server,
        &infer_path("fp16_uint8"),
        json!({ "inputs": inputs }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_output(&answer.json(), "y", &n3["outputs"]["y"]);
    let mut over = inputs.clone();
    over[1]["data"] = json!([[1, 2, 3], [4, 5, 6], [7, 8, 256]]);
    let answer = post_to(
        &server,
        &infer_path("fp16_uint8"),
        json!({ "inputs": over }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("256 does not fit") && answer.body.contains("uint8"),
        "{}",
        answer.body
    );

    let (server, fixture) = serve_fixture(DIR, "bool_rank0").await;
    let n3 = case(&fixture, "n3");
    let inputs = ["x", "threshold"].map(|name| input(name, &n3["inputs"][name], false));
    let answer = post_to(
        &server,
        &infer_path("bool_rank0"),
        json!({ "inputs": inputs }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let y = &answer.json()["outputs"][0];
    assert_eq!(y["shape"], json!([3, 4]), "{}", answer.body);
    let mut expected = Vec::new();
    for row in n3["outputs"]["y"]["data"].as_array().unwrap() {
        expected.extend(row.as_array().unwrap().iter().cloned());
    }
    assert_eq!(y["data"], Value::Array(expected));
}

#[tokio::test]
async fn a_batch_fixed_at_two_takes_exactly_two_items_in_v2() {
    // The fixture is beside the others, the model one folder up.
    let args = [
        "--model-dir",
        "tests/fixtures",
        "--model-file",
        "linear_f32_fixed2x4.onnx",
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(std::time::Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(repo_path(&format!("{DIR}/linear_f32_fixed2x4.json"))).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let n2 = case(&fixture, "n2");
    let body = json!({ "inputs": [input("input", &n2["inputs"]["input"], false)] });
    let answer = post_to(&server, &infer_path("linear_f32_fixed2x4"), body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_output(&answer.json(), "output", &n2["outputs"]["output"]);
    let one =
        json!({ "inputs": [{ "name": "input", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4] }] });
    let answer = post_to(&server, &infer_path("linear_f32_fixed2x4"), one.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("exactly 2"), "{}", answer.body);
}
