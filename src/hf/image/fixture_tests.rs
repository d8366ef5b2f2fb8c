//! The preprocessing against the `transformers` slow (Pillow) image processors' tensors for the
//! images `tests/models/make_hf_image.py` made: PNG (and the other lossless formats) within 1e-3
//! after normalization, JPEG within two 8-bit levels (decoders differ).

use std::path::PathBuf;

use serde_json::Value;

use super::{decode_rgb, to_tensor, ImageConfig, Layout};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf_image")
}

#[test]
fn every_fixture_image_matches_the_transformers_pillow_processor_within_tolerance() {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("expected.json")).expect("run make_hf_image.py"),
    )
    .unwrap();
    let tensors = expected["tensors"].as_array().unwrap();
    assert!(tensors.len() >= 15, "every image and config is checked");
    for case in tensors {
        let (name, config_name) = (case["image"].as_str().unwrap(), case["config"].as_str().unwrap());
        let Value::Object(fields) = &expected["configs"][config_name] else {
            panic!()
        };
        let config = ImageConfig::from_fields(fields).unwrap();
        let bytes = std::fs::read(fixtures().join("images").join(name)).unwrap();
        let image = decode_rgb(&bytes, 1 << 20).unwrap();
        let size = config.output_size().unwrap();
        let mut actual = Vec::new();
        to_tensor(image, &config, size, Layout::ChannelsFirst, &mut actual).unwrap();
        let want: Vec<f32> = case["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(actual.len(), want.len(), "{name} ({config_name})");
        let std = config.normalize.map_or([1.0; 3], |(_, std)| std);
        let plane = want.len() / 3;
        for (i, (a, w)) in actual.iter().zip(&want).enumerate() {
            let tolerance = if name.ends_with(".jpg") {
                2.0 / 255.0 / std[i / plane] + 1e-4
            } else {
                1e-3
            };
            assert!(
                (a - w).abs() <= tolerance,
                "{name} ({config_name}) value {i}: {a} vs transformers' {w} (tolerance {tolerance})"
            );
        }
    }
}

#[test]
fn exif_orientation_turns_the_stored_image_upright() {
    let bytes = std::fs::read(fixtures().join("images/exif6.jpg")).unwrap();
    let image = decode_rgb(&bytes, 1 << 20).unwrap();
    assert_eq!((image.width, image.height), (48, 40));
}
