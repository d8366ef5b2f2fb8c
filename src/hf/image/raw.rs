//! Image models' input in the KServe V2 binary extension: BYTES values that are raw image bytes.

use base64::Engine;

use super::IMAGE_INPUT;
use crate::model::{bytes_values, ElementType, RawError, TensorSpec, Values};

/// Whether `input` is an image model's request-facing input (`ImageModel`'s STRING `image`).
pub fn takes_images(input: &TensorSpec) -> bool {
    input.name == IMAGE_INPUT && input.element == ElementType::String && input.shape.len() == 1
}

/// The images of a V2 binary BYTES tensor: each value's raw image bytes, carried base64-encoded
/// in the batch's strings (which `ImageModel` decodes), or base64 text as it is.
pub fn images_from_raw(count: usize, bytes: &[u8]) -> Result<Values, RawError> {
    let images = bytes_values(count, bytes)?
        .into_iter()
        .map(|value| match std::str::from_utf8(value) {
            Ok(text) => text.to_owned(),
            Err(_) => base64::engine::general_purpose::STANDARD.encode(value),
        })
        .collect();
    Ok(Values::String(images))
}
