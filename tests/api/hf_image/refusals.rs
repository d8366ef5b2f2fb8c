//! Images the server refuses, each naming the item: bad base64 or image bytes, pixel limits
//! checked from the header and after the resize steps, decoded pixels charged to the in-flight
//! budget (413), and a malformed `preprocessor_config.json` ending start-up.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use super::{b64, image, serve, DIR};
use crate::common::{post, repo_path, Server};

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
