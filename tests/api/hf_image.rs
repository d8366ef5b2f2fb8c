//! Image models with Hugging Face's `preprocessor_config.json` (SPEC 10) through the real server:
//! base64 images in every request form, V2 BYTES, AutoML's answer, and every refusal, against the
//! tensors of the `transformers` Pillow processor and onnxruntime's answers in
//! `tests/fixtures/hf_image` (made by `tests/models/make_hf_image.py`).

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{post, post_to, repo_path, Server};

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

/// A 400 whose message names `item` and says `problem`.
async fn assert_refused(server: &Server, body: Value, item: &str, problem: &str) {
    let answer = post(server, body.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.message();
    assert!(message.contains(item) && message.contains(problem), "{message}");
}

#[tokio::test]
async fn bad_items_are_400s_naming_the_item_and_the_server_keeps_serving() {
    let server = serve("cnn", &[]).await;
    assert_refused(
        &server,
        json!({ "data": [b64("rgb.png"), "not base64!"] }),
        "image 1",
        "not base64",
    )
    .await;
    assert_refused(
        &server,
        json!({ "data": ["aGVsbG8gd29ybGQ="] }),
        "image 0",
        "not an image",
    )
    .await;
    // A PNG cut short after its header: the header passes, decoding fails.
    let mut truncated = image("tall.png");
    truncated.truncate(60);
    let body =
        json!({ "data": [b64("rgb.png"), base64::engine::general_purpose::STANDARD.encode(&truncated)] });
    assert_refused(&server, body, "image 1", "not an image").await;
    let ok = post(&server, json!({ "data": [b64("rgb.png")] }).to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn an_image_over_max_image_pixels_is_refused_from_its_header() {
    // 48x40 = 1920 pixels, over a limit of 1000.
    let server = serve("cnn", &["--max-image-pixels", "1000"]).await;
    let body = json!({ "data": [b64("rgb.jpg")] });
    assert_refused(
        &server,
        body,
        "image 0",
        "(1920 pixels), more than the 1000 pixels",
    )
    .await;
    let answer = post(&server, json!({ "data": [b64("rgb.jpg")] }).to_string()).await;
    assert!(
        answer.message().contains("AML_SCORER_MAX_IMAGE_PIXELS"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_malformed_preprocessor_config_exits_3_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_path(&format!("{DIR}/cnn/model.onnx")),
        dir.path().join("model.onnx"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("preprocessor_config.json"),
        r#"{"size": {"shortest_edge": 20}, "do_center_crop": true, "crop_size": 16, "resample": 9}"#,
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap();
    let mut server = Server::start(&["--model-dir", folder, "--model-file", "model.onnx"], &[]);
    let status = server
        .wait_exit(Duration::from_secs(30))
        .expect("init fails and the process exits");
    let logs = server.logs();
    assert_eq!(status.code(), Some(3), "{logs}");
    assert!(
        logs.contains("preprocessor_config.json") && logs.contains("resample"),
        "{logs}"
    );
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
async fn decoded_pixels_are_charged_to_the_in_flight_budget_before_decoding() {
    // The 640x480 JPEG's body (60 KB of base64) fits a 1 MB budget; its decoded pixels (2 MB
    // and more) do not: 413 before anything is decoded.
    let server = serve("cnn", &["--max-inflight-bytes", "1000000"]).await;
    let answer = post(&server, json!({ "data": [b64("photo640x480.jpg")] }).to_string()).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    let small = post(&server, json!({ "data": [b64("rgb.png")] }).to_string()).await;
    assert_eq!(small.status, 200, "{}", small.body);
}

#[tokio::test]
async fn a_16_bit_rgba_image_is_charged_its_8_bytes_a_pixel_and_its_rgb_copy() {
    // 500x500 16-bit RGBA: the decoder's buffer is 2 MB and the RGB copy 0.75 MB; at 7 bytes a
    // pixel (1.75 MB) the request would fit a 2.3 MB budget.
    let server = serve("cnn", &["--max-inflight-bytes", "2300000"]).await;
    let mut png = Vec::new();
    let deep = image::ImageBuffer::<image::Rgba<u16>, _>::from_pixel(
        500,
        500,
        image::Rgba([1000, 2000, 3000, 65535]),
    );
    image::DynamicImage::ImageRgba16(deep)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let body = json!({ "data": [base64::engine::general_purpose::STANDARD.encode(&png)] });
    let answer = post(&server, body.to_string()).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    let small = post(&server, json!({ "data": [b64("rgb.png")] }).to_string()).await;
    assert_eq!(small.status, 200, "{}", small.body);
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
async fn a_thin_image_whose_resize_would_pass_the_pixel_limit_is_refused() {
    // 2000x1 is 2000 pixels, under the limit; its shortest edge to 20 makes it 40000x20.
    let server = serve("cnn", &["--max-image-pixels", "100000"]).await;
    let mut png = Vec::new();
    let thin = image::RgbImage::from_pixel(2000, 1, image::Rgb([10, 20, 30]));
    image::DynamicImage::ImageRgb8(thin)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let body = json!({ "data": [base64::engine::general_purpose::STANDARD.encode(&png)] });
    assert_refused(&server, body, "image 0", "40000x20").await;
}

/// A PNG of `width` x `height` of one colour.
fn flat_png(width: u32, height: u32) -> String {
    let mut png = Vec::new();
    let flat = image::RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30]));
    image::DynamicImage::ImageRgb8(flat)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(&png)
}

#[tokio::test]
async fn a_thin_image_whose_resize_buffers_pass_what_the_pixel_limit_allows_is_refused() {
    // An exact 16x16 resize: a 1x100000 image is at the limit, but the horizontal pass holds
    // every row at 16 wide (4.8 MB), more than the 300 KB of rows an image at the limit needs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_path(&format!("{DIR}/cnn/model.onnx")),
        dir.path().join("model.onnx"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("preprocessor_config.json"),
        r#"{"size": {"height": 16, "width": 16}, "resample": 2, "do_normalize": false}"#,
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap();
    let args = [
        "--model-dir",
        folder,
        "--model-file",
        "model.onnx",
        "--max-image-pixels",
        "100000",
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let body = json!({ "data": [b64("rgb.png"), flat_png(1, 100_000)] });
    assert_refused(&server, body, "image 1", "working buffers").await;
    let ok = post(&server, json!({ "data": [flat_png(100, 100)] }).to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
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
