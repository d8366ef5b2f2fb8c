//! Hugging Face's files beside the `.onnx`: the preprocessing they configure.

/// `preprocessor_config.json`: base64 images in, the model's float tensor out.
pub mod image;
