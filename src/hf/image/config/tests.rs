//! Unit tests of reading `preprocessor_config.json`: resize rules per processor and named faults.

use super::*;

fn config(json: &str) -> Result<ImageConfig, Fault> {
    let Value::Object(fields) = serde_json::from_str(json).unwrap() else {
        panic!()
    };
    ImageConfig::from_fields(&fields)
}

#[test]
fn convnext_crop_pct_resizes_the_shortest_edge_to_size_over_crop_pct_and_crops_to_size() {
    let c = config(r#"{"crop_pct": 0.875, "size": {"shortest_edge": 224}, "image_mean": [0.5,0.5,0.5], "image_std": [0.5,0.5,0.5]}"#).unwrap();
    assert_eq!(c.resize, Some(Resize::ShortestEdge(256)));
    assert_eq!(c.crop, Some((224, 224)));
}

#[test]
fn a_crop_pct_that_scales_the_edge_past_the_largest_side_is_named() {
    let error =
        config(r#"{"crop_pct": 0.001, "size": {"shortest_edge": 224}, "do_normalize": false}"#).unwrap_err();
    assert_eq!(error.field, "crop_pct");
    assert!(error.reason.contains("224000"), "{}", error.reason);
}

#[test]
fn an_integer_size_is_a_square_for_vit() {
    let c = config(r#"{"image_processor_type": "ViTImageProcessor", "size": 32, "do_normalize": false}"#)
        .unwrap();
    assert_eq!(
        c.resize,
        Some(Resize::Exact {
            height: 32,
            width: 32
        })
    );
    assert_eq!(c.output_size(), Some((32, 32)));
}

#[test]
fn a_malformed_field_is_named() {
    let error = config(r#"{"size": {"height": 0, "width": 3}, "do_normalize": false}"#).unwrap_err();
    assert_eq!(error.field, "size.height");
    let error = config(r#"{"size": 4, "image_mean": [0.5, 0.5]}"#).unwrap_err();
    assert_eq!(error.field, "image_mean");
    let error = config(r#"{"size": 4, "resample": 9, "do_normalize": false}"#).unwrap_err();
    assert_eq!(error.field, "resample");
}
