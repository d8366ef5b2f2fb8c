//! Hugging Face's files beside an exported model (`config.json`, and the tokenizer and image
//! processor files): what they say about pre- and postprocessing, read once at start-up (SPEC 10).

pub mod config;
/// `preprocessor_config.json`: base64 images in, the model's float tensor out.
pub mod image;
pub mod labels;
pub mod text;

use std::path::{Path, PathBuf};

/// The largest Hugging Face file read (a `tokenizer.json` of a large vocabulary is a few MB; a
/// `config.json` with 21,843 ImageNet labels under 1 MB): a file past it is refused, not read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A Hugging Face file that cannot be used: init fails (exit 3) with this message, which names
/// the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{}: {field}: {reason}", file.display())]
pub struct FileError {
    pub file: PathBuf,
    /// The field at fault (`id2label`, `size.shortest_edge`), or `(file)` for the whole file.
    pub field: String,
    pub reason: String,
}

impl FileError {
    pub fn new(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        FileError {
            file: file.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The text of `file` when it exists (`None` when absent), bounded by `MAX_FILE_BYTES`.
pub fn read_optional(file: &Path) -> Result<Option<String>, FileError> {
    use std::io::Read;
    let whole = |reason: String| FileError::new(file, "(file)", reason);
    let opened = match std::fs::File::open(file) {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(whole(format!("cannot be read: {e}"))),
    };
    let mut text = String::new();
    opened
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| whole(format!("cannot be read as UTF-8 text: {e}")))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(whole(format!("is larger than {MAX_FILE_BYTES} bytes")));
    }
    Ok(Some(text))
}
