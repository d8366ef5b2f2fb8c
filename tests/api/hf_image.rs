//! Image models with Hugging Face's `preprocessor_config.json` (SPEC 10) through the real server:
//! base64 images in every request form, V2 BYTES and AutoML's answer, against the tensors of the
//! `transformers` Pillow processor and onnxruntime's answers in `tests/fixtures/hf_image` (made by
//! `tests/models/make_hf_image.py`); every refusal in `hf_image/refusals.rs`.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{post, post_to, repo_path, Server};

mod refusals;

const DIR: &str = "tests/fixtures/hf_image";

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(repo_path(&format!("{DIR}/expected.json"))).unwrap()).unwrap()
}

fn image(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("{DIR}/images/{name}"))).unwrap()
}

fn b64(name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(image(name))
}

async fn serve(folder: &str, args: &[&str]) -> Server {
    let dir = format!("{DIR}/{folder}");
    let mut all = vec!["--model-dir", dir.as_str(), "--model-file", "model.onnx"];
    all.extend_from_slice(args);
    let server = Server::start(&all, &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

/// Each answered item's values within `tolerance` of onnxruntime's on the processor's tensor.
fn assert_items(answer: &Value, expected: &[&Value], tolerance: f64) {
    let items = answer.as_array().unwrap_or_else(|| panic!("a list: {answer}"));
    assert_eq!(items.len(), expected.len(), "{answer}");
    for (got, want) in items.iter().zip(expected) {
        for (g, w) in got.as_array().unwrap().iter().zip(want.as_array().unwrap()) {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= tolerance, "{got} vs onnxruntime's {want}");
        }
    }
}

/// JPEG decoders differ by a level or two; the logits of this small CNN move by less than this.
const JPEG_TOLERANCE: f64 = 0.02;

#[tokio::test]
async fn every_format_in_the_data_form_answers_as_transformers_and_onnxruntime() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    let names = [
        "rgb.png",
        "tall.png",
        "gray.png",
        "rgba.png",
        "rgb.webp",
        "rgb.bmp",
        "rgb.gif",
        "rgb.jpg",
        "exif6.jpg",
    ];
    let body = json!({ "data": names.iter().map(|n| b64(n)).collect::<Vec<_>>() }).to_string();
    // The raw logits by name: the model's config.json would otherwise answer labels.
    let answer = post_to(&server, "/score?outputs=logits", body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let want: Vec<&Value> = names.iter().map(|n| &expected["answers"][n]["logits"]).collect();
    let items = answer.json()["logits"].as_array().expect("a list").clone();
    assert_items(&Value::Array(items[..7].to_vec()), &want[..7], 1e-4);
    assert_items(&Value::Array(items[7..].to_vec()), &want[7..], JPEG_TOLERANCE);
    assert!(
        server.logs().contains("preprocessing"),
        "the start line says preprocessing is on"
    );
}

#[tokio::test]
async fn records_and_base64_with_line_breaks_answer_the_same() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    // base64.encodebytes: lines of 76 characters, each ending in a newline.
    let wrapped: String = b64("rgb.png")
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
        .collect();
    let body = json!({ "data": [{ "image": wrapped }, { "image": b64("tall.png") }] }).to_string();
    let answer = post(&server, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // config.json's labels: the best label and its softmax score per image.
    let items = answer.json();
    for (item, name) in items
        .as_array()
        .expect("a list")
        .iter()
        .zip(["rgb.png", "tall.png"])
    {
        let probs: Vec<f64> = expected["answers"][name]["probs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect();
        let best = (0..probs.len())
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap();
        assert_eq!(item["label"], expected["labels"][best], "{items}");
        assert!(
            (item["score"].as_f64().unwrap() - probs[best]).abs() < 1e-5,
            "{items}"
        );
    }
}

#[tokio::test]
async fn automl_image_form_answers_probs_and_labels_per_image() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    let body = json!({ "input_data": { "columns": ["image"], "data": [b64("rgb.png"), b64("gray.png")] } })
        .to_string();
    let answer = post(&server, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let items = answer.json();
    assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
    for (item, name) in items.as_array().unwrap().iter().zip(["rgb.png", "gray.png"]) {
        assert_eq!(item["labels"], expected["labels"], "{item}");
        assert_items(
            &json!([item["probs"]]),
            &[&expected["answers"][name]["probs"]],
            1e-5,
        );
    }
}

#[tokio::test]
async fn v2_bytes_take_base64_in_json() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    let body = json!({ "inputs": [{ "name": "image", "datatype": "BYTES", "shape": [1], "data": [b64("rgb.png")] }] });
    let answer = post_to(&server, "/v2/models/model/infer", body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let output = &answer.json()["outputs"][0];
    assert_eq!(output["shape"], json!([1, 3]), "{output}");
    assert_items(
        &json!([output["data"]]),
        &[&expected["answers"]["rgb.png"]["logits"]],
        1e-4,
    );
}

#[tokio::test]
async fn a_channels_last_model_is_fed_channels_last() {
    let server = serve("nhwc", &[]).await;
    let answer = post(&server, json!({ "data": [b64("rgb.png")] }).to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json().as_array().unwrap()[0].as_array().unwrap().len(), 3);
    assert!(server.logs().contains("channels last"), "{}", server.logs());
}

#[tokio::test]
async fn v2_binary_bytes_take_raw_image_bytes() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    let mut binary = Vec::new();
    for name in ["rgb.png", "tall.png"] {
        let bytes = image(name);
        binary.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        binary.extend_from_slice(&bytes);
    }
    let header = json!({ "inputs": [{ "name": "image", "datatype": "BYTES", "shape": [2],
                                      "parameters": { "binary_data_size": binary.len() } }] });
    let mut body = header.to_string().into_bytes();
    let length = body.len().to_string();
    body.extend_from_slice(&binary);
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(server.url("/v2/models/model/infer"))
        .header("Inference-Header-Content-Length", length)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let data = answer["outputs"][0]["data"].as_array().unwrap();
    let rows = [Value::Array(data[..3].to_vec()), Value::Array(data[3..].to_vec())];
    let want = [
        &expected["answers"]["rgb.png"]["logits"],
        &expected["answers"]["tall.png"]["logits"],
    ];
    assert_items(&Value::Array(rows.to_vec()), &want, 1e-4);
}

#[tokio::test]
async fn the_openapi_document_describes_base64_images() {
    let server = serve("cnn", &[]).await;
    let document = crate::common::get_text(&server, "/swagger.json").await;
    assert!(
        document.contains("Base64 images") && document.contains("\"byte\""),
        "{document}"
    );
}

#[tokio::test]
async fn a_model_of_symbolic_height_and_width_takes_the_size_the_steps_give() {
    let server = serve("dynamic", &[]).await;
    let expected = expected();
    let answer = post(
        &server,
        json!({ "data": [b64("rgb.png"), b64("tall.png")] }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let want = [
        &expected["answers"]["dynamic"]["rgb.png"],
        &expected["answers"]["dynamic"]["tall.png"],
    ];
    assert_items(&answer.json(), &want, 1e-4);
}

#[tokio::test]
async fn tritonclient_sends_raw_image_bytes_over_http_and_grpc() {
    let server = serve("cnn", &[]).await;
    let expected = expected();
    let (http, grpc) = (server.addr.to_string(), server.grpc_addr().to_string());
    let png = repo_path(&format!("{DIR}/images/rgb.png"));
    let jpg = repo_path(&format!("{DIR}/images/exif6.jpg"));
    let args = [
        http.as_str(),
        grpc.as_str(),
        "model",
        png.to_str().unwrap(),
        jpg.to_str().unwrap(),
    ];
    let out = crate::common::run_client("hf_image_triton.py", &args);
    let answers: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    for protocol in ["http", "grpc"] {
        let rows = answers[protocol]
            .as_array()
            .unwrap_or_else(|| panic!("{answers}"));
        assert_items(
            &json!([rows[0]]),
            &[&expected["answers"]["rgb.png"]["logits"]],
            1e-4,
        );
        assert_items(
            &json!([rows[1]]),
            &[&expected["answers"]["exif6.jpg"]["logits"]],
            JPEG_TOLERANCE,
        );
    }
}
