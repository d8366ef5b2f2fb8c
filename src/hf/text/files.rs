//! What the text preprocessing reads besides `tokenizer.json`: `tokenizer_config.json`
//! (`model_max_length`, `pad_token`, `padding_side`, `truncation_side`) and `config.json`'s
//! `max_position_embeddings`, each field checked, a bad one named.

use std::path::Path;

use serde_json::Value;

use crate::hf::{read_optional, FileError};

/// `transformers` writes this (`int(1e30)`) when a tokenizer has no length of its own.
const UNSET_LENGTH: f64 = 1e29;

/// What the tokenizer configuration says about lengths and padding.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TokenizerConfig {
    pub model_max_length: Option<usize>,
    pub pad_token: Option<String>,
    pub pad_left: bool,
    /// `truncation_side` is `left`: long items keep their end.
    pub truncate_left: bool,
}

/// The longest `model_max_length` taken: it sizes the characters read and the memory charged
/// per item, so a config file cannot make them unbounded (a million tokens is past any
/// model's position table).
const MAX_TOKENS: usize = 1 << 20;
const LENGTH_WANTED: &str = "a positive integer up to 1048576";

/// Reads `tokenizer_config.json` when present (a missing one says nothing).
pub fn tokenizer_config(path: &Path) -> Result<TokenizerConfig, FileError> {
    let Some(object) = read_object(path)? else {
        return Ok(TokenizerConfig::default());
    };
    let model_max_length = match object.get("model_max_length") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v >= UNSET_LENGTH => None,
            Some(v) if (1.0..=MAX_TOKENS as f64).contains(&v) && v.fract() == 0.0 => Some(v as usize),
            _ => return Err(field(path, "model_max_length", LENGTH_WANTED)),
        },
        Some(_) => return Err(field(path, "model_max_length", LENGTH_WANTED)),
    };
    // A special token is its text, or an object with `content` (transformers' AddedToken).
    let pad_token = match object.get("pad_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(token)) => match token.get("content") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                return Err(field(
                    path,
                    "pad_token",
                    "a string or an object with a \"content\" string",
                ))
            }
        },
        Some(_) => {
            return Err(field(
                path,
                "pad_token",
                "a string or an object with a \"content\" string",
            ))
        }
    };
    let left = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(side)) if side == "right" => Ok(false),
        Some(Value::String(side)) if side == "left" => Ok(true),
        Some(_) => Err(field(path, name, "\"left\" or \"right\"")),
    };
    Ok(TokenizerConfig {
        model_max_length,
        pad_token,
        pad_left: left("padding_side")?,
        truncate_left: left("truncation_side")?,
    })
}

/// Models whose position ids start after `padding_idx` (1), so two rows of the position table
/// are never a token's: `max_position_embeddings` 514 holds 512 tokens, and a 513th would index
/// past the table.
const OFFSET_POSITION_MODELS: &[&str] = &["roberta", "xlm-roberta", "camembert"];

/// The tokens `config.json`'s `max_position_embeddings` holds, when the file and the field are
/// there: the field, less the two offset rows of RoBERTa-like models (`OFFSET_POSITION_MODELS`).
pub fn max_position_embeddings(path: &Path) -> Result<Option<usize>, FileError> {
    let Some(object) = read_object(path)? else {
        return Ok(None);
    };
    let offset = match object.get("model_type").and_then(Value::as_str) {
        Some(model_type) if OFFSET_POSITION_MODELS.contains(&model_type) => 2,
        _ => 0,
    };
    match object.get("max_position_embeddings") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if n > offset => Ok(Some((n - offset) as usize)),
            _ if offset > 0 => Err(field(
                path,
                "max_position_embeddings",
                "an integer above 2 (this model_type's positions start at 2)",
            )),
            _ => Err(field(path, "max_position_embeddings", "a positive integer")),
        },
    }
}

fn read_object(path: &Path) -> Result<Option<serde_json::Map<String, Value>>, FileError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(object)) => Ok(Some(object)),
        Ok(_) => Err(FileError::new(path, "(file)", "is not a JSON object")),
        Err(e) => Err(FileError::new(path, "(file)", format!("is not valid JSON: {e}"))),
    }
}

fn field(path: &Path, name: &str, expected: &str) -> FileError {
    FileError::new(path, name, format!("must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<TokenizerConfig, FileError> {
        let dir = std::env::temp_dir().join(format!("hf-text-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokenizer_config.json");
        std::fs::write(&path, text).unwrap();
        let read = tokenizer_config(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        read
    }

    #[test]
    fn the_unset_sentinel_of_transformers_is_no_length() {
        let read = config(r#"{"model_max_length": 1000000000000000019884624838656}"#).unwrap();
        assert_eq!(read.model_max_length, None);
    }

    #[test]
    fn a_pad_token_may_be_an_added_token_object() {
        let read = config(r#"{"pad_token": {"content": "<pad>", "lstrip": false}, "padding_side": "left"}"#)
            .unwrap();
        assert_eq!(read.pad_token.as_deref(), Some("<pad>"));
        assert!(read.pad_left);
    }

    #[test]
    fn truncation_side_left_keeps_the_end_as_transformers_does() {
        assert!(config(r#"{"truncation_side": "left"}"#).unwrap().truncate_left);
        assert!(!config(r#"{"truncation_side": "right"}"#).unwrap().truncate_left);
        let error = config(r#"{"truncation_side": "middle"}"#).unwrap_err();
        assert!(error.to_string().contains("truncation_side"), "{error}");
    }

    fn positions(text: &str) -> Result<Option<usize>, FileError> {
        let dir = std::env::temp_dir().join(format!("hf-text-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, text).unwrap();
        let read = max_position_embeddings(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        read
    }

    #[test]
    fn roberta_like_models_hold_two_tokens_fewer_than_their_position_table() {
        for model_type in ["roberta", "xlm-roberta", "camembert"] {
            let text = format!(r#"{{"model_type": "{model_type}", "max_position_embeddings": 514}}"#);
            assert_eq!(positions(&text).unwrap(), Some(512), "{model_type}");
        }
        let bert = r#"{"model_type": "bert", "max_position_embeddings": 512}"#;
        assert_eq!(positions(bert).unwrap(), Some(512));
    }

    #[test]
    fn a_bad_field_is_named() {
        let error = config(r#"{"model_max_length": "long"}"#).unwrap_err();
        assert!(error.to_string().contains("model_max_length"), "{error}");
        let error = config(r#"{"model_max_length": 1e20}"#).unwrap_err();
        assert!(error.to_string().contains("up to 1048576"), "{error}");
        assert!(error.to_string().contains("tokenizer_config.json"), "{error}");
    }
}
