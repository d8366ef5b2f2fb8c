//! Text in (SPEC 10): with `tokenizer.json` beside a model that takes `input_ids` (and
//! `attention_mask`, `token_type_ids`), requests carry strings in the input `text`, and for
//! sentence pairs the second strings in the optional input `text_pair` (every item of a request
//! is a pair or none is; pairs are encoded as Python's `tokenizer(text, text_pair)`). Each request
//! is tokenized on the thread that runs it (one item after another: no second thread pool),
//! truncated to `model_max_length`, padded to its longest item with the pad token, and run on
//! the ONNX model. Models that answer `last_hidden_state [N, T, H]` gain an output `embedding`
//! `[N, H]`: the hidden states mean-pooled over the attention mask and L2-normalized
//! (`?method=embed`).

use std::path::Path;

use tokenizers::{EncodeInput, PaddingDirection, Tokenizer, TruncationDirection, TruncationParams};

use crate::hf::{config::ModelConfig, read_optional, FileError};
use crate::model::{Batch, ElementType, ModelSpec, PredictError, Predictor, Values};

mod files;
mod pool;
mod predictor;
mod spec;

use spec::{feeds, hidden_states, text_spec, Feed};

/// Characters of one item read per token kept (at least `MIN_CHARS`): the tokenizer holds
/// alignments for every character it normalizes, so a 100 MB string would cost gigabytes before
/// truncation drops all but `max_length` tokens. WordPiece reads at most 100 characters into one
/// token, so the cut only changes the ids of an item whose first `max_length` tokens span more.
const CHARS_PER_TOKEN: usize = 100;
const MIN_CHARS: usize = 65_536;

/// The request-facing input of a text model.
pub const TEXT_INPUT: &str = "text";
/// The optional second input: the second text of each pair (Hugging Face's own name for it).
pub const TEXT_PAIR_INPUT: &str = "text_pair";
/// The pooled output a text model with hidden states gains.
pub const EMBEDDING_OUTPUT: &str = "embedding";

/// A model that takes token ids, served as a model that takes text.
pub struct TextModel<P> {
    inner: P,
    tokenizer: Tokenizer,
    /// Per inner input, in its order: what fills it and its element type (int64 or int32).
    feeds: Vec<(Feed, ElementType)>,
    pad_id: u32,
    pad_type_id: u32,
    pad_left: bool,
    /// The characters of one item that are tokenized (`CHARS_PER_TOKEN`).
    max_chars: usize,
    /// Whether truncation keeps an item's end (`truncation_side: left`): the characters read are
    /// then its last `max_chars`.
    keep_end: bool,
    /// The tokens an item is truncated to: what `decoded_bytes` charges per item.
    max_length: usize,
    /// The hidden-states output `[N, T, H]` pooled into `embedding`, and H.
    hidden: Option<(usize, usize)>,
    spec: ModelSpec,
    /// `config.json`'s labels for the first output, when it has some.
    labels: Option<ModelConfig>,
    /// Said in the start line: which files turned the preprocessing on and its length.
    pub summary: String,
}

impl<P: Predictor> TextModel<P> {
    /// The text model, or `Ok(Err(inner))` back when the folder has no `tokenizer.json` or the
    /// model takes no `input_ids`; a file that cannot be used is an error naming it and its field.
    pub fn load(folder: &Path, inner: P) -> Result<Result<Self, P>, FileError> {
        let path = folder.join("tokenizer.json");
        let inner_spec = inner.spec();
        if !inner_spec.inputs.iter().any(|i| i.name == "input_ids") {
            return Ok(Err(inner));
        }
        let Some(text) = read_optional(&path)? else {
            return Ok(Err(inner));
        };
        let feeds = feeds(inner_spec, &path)?;
        let mut tokenizer = Tokenizer::from_bytes(text.as_bytes()).map_err(|e| {
            FileError::new(
                &path,
                "(file)",
                format!("is not a tokenizer Hugging Face's tokenizers reads: {e}"),
            )
        })?;
        let config_path = folder.join("tokenizer_config.json");
        let config = files::tokenizer_config(&config_path)?;
        let max_length = match config.model_max_length {
            Some(length) => length,
            None => files::max_position_embeddings(&folder.join("config.json"))?.ok_or_else(|| {
                FileError::new(
                    &config_path,
                    "model_max_length",
                    "is missing, and config.json has no \"max_position_embeddings\" to bound the token count instead",
                )
            })?,
        };
        tokenizer
            // As `transformers` truncates with `truncation=True`: the longest of a pair first,
            // no stride, on the side tokenizer_config.json names.
            .with_truncation(Some(TruncationParams {
                max_length,
                direction: if config.truncate_left {
                    TruncationDirection::Left
                } else {
                    TruncationDirection::Right
                },
                ..TruncationParams::default()
            }))
            .map_err(|e| {
                FileError::new(
                    &path,
                    "truncation",
                    format!("cannot truncate to {max_length} tokens: {e}"),
                )
            })?;
        // Padding is ours (to the request's longest item); tokenizer.json's own settings, when it
        // has some, give the pad ids, else tokenizer_config.json's pad token does.
        let padding = tokenizer.get_padding().cloned();
        tokenizer.with_padding(None);
        let (pad_id, pad_type_id, pad_left) = match (&padding, &config.pad_token) {
            (Some(p), _) => (
                p.pad_id,
                p.pad_type_id,
                matches!(p.direction, PaddingDirection::Left),
            ),
            (None, Some(token)) => {
                let id = tokenizer.token_to_id(token).ok_or_else(|| {
                    FileError::new(
                        &config_path,
                        "pad_token",
                        format!("{token:?} is not in tokenizer.json's vocabulary"),
                    )
                })?;
                (id, 0, config.pad_left)
            }
            // No pad token: padded places are masked out, so any id serves; 0 is in every vocabulary.
            (None, None) => (0, 0, config.pad_left),
        };
        let labels = ModelConfig::read(folder)?;
        let hidden = hidden_states(inner_spec);
        let spec = text_spec(inner_spec, hidden.map(|(_, h)| h));
        let summary = format!(
            "text: tokenizer.json, up to {max_length} tokens, inputs {}{}",
            inner_spec.input_names(),
            if hidden.is_some() { ", ?method=embed" } else { "" }
        );
        Ok(Ok(TextModel {
            inner,
            tokenizer,
            feeds,
            pad_id,
            pad_type_id,
            pad_left,
            max_chars: max_length.saturating_mul(CHARS_PER_TOKEN).max(MIN_CHARS),
            keep_end: config.truncate_left,
            max_length,
            hidden,
            spec,
            labels,
            summary,
        }))
    }

    /// The characters of `text` that are tokenized (`CHARS_PER_TOKEN`), from the side that
    /// truncation keeps.
    fn part_read<'a>(&self, text: &'a str) -> &'a str {
        if self.keep_end {
            suffix(text, self.max_chars)
        } else {
            prefix(text, self.max_chars)
        }
    }

    /// The inner model's inputs for `texts` (and their `pairs`, when the request sends pairs):
    /// every item tokenized, padded to the longest. Each item's `Encoding` (tokens, offsets and
    /// more, tens of bytes a token) is dropped once its ids are copied out, so only one is alive
    /// at a time. (Public for `benches/hf.rs`, which times it alone.)
    pub fn tokenize(&self, texts: &[String], pairs: Option<&[String]>) -> Result<Batch, PredictError> {
        // Per item, per feed, its tokens unpadded.
        let mut rows: Vec<Vec<Box<[u32]>>> = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let text = self.part_read(text);
            let input: EncodeInput = match pairs.and_then(|pairs| pairs.get(index)) {
                Some(pair) => (text, self.part_read(pair)).into(),
                None => text.into(),
            };
            let encoding = self
                .tokenizer
                .encode(input, true)
                .map_err(|e| PredictError::engine(format!("tokenizing failed: {e}")))?;
            let row = self
                .feeds
                .iter()
                .map(|&(feed, _)| match feed {
                    Feed::Ids => encoding.get_ids().into(),
                    Feed::Mask => encoding.get_attention_mask().into(),
                    Feed::Types => encoding.get_type_ids().into(),
                })
                .collect();
            rows.push(row);
        }
        let longest = rows
            .iter()
            .filter_map(|row: &Vec<Box<[u32]>>| row.first().map(|tokens| tokens.len()))
            .max()
            .unwrap_or(0);
        let inputs = self
            .feeds
            .iter()
            .enumerate()
            .map(|(index, &(feed, element))| {
                let pad = match feed {
                    Feed::Ids => self.pad_id,
                    Feed::Mask => 0,
                    Feed::Types => self.pad_type_id,
                };
                let padded = rows.iter().flat_map(|row| {
                    let tokens = &row[index];
                    let padding = std::iter::repeat_n(pad, longest - tokens.len());
                    let (before, after) = if self.pad_left {
                        (Some(padding), None)
                    } else {
                        (None, Some(padding))
                    };
                    before
                        .into_iter()
                        .flatten()
                        .chain(tokens.iter().copied())
                        .chain(after.into_iter().flatten())
                });
                match element {
                    ElementType::I32 => Values::I32(padded.map(|v| v as i32).collect()),
                    _ => Values::I64(padded.map(i64::from).collect()),
                }
            })
            .collect::<Vec<_>>();
        let shapes = vec![vec![longest]; inputs.len()];
        Ok(Batch {
            rows: texts.len(),
            inputs,
            shapes,
        })
    }

    /// The mask the tokenizer gave, whichever inner input carries it.
    fn mask<'a>(&self, batch: &'a Batch) -> Option<&'a Values> {
        let index = self.feeds.iter().position(|(feed, _)| *feed == Feed::Mask)?;
        batch.inputs.get(index)
    }
}

/// The first `chars` characters of `text`.
fn prefix(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The last `chars` characters of `text`, cut on a character boundary.
fn suffix(text: &str, chars: usize) -> &str {
    match chars
        .checked_sub(1)
        .and_then(|last| text.char_indices().nth_back(last))
    {
        Some((start, _)) => &text[start..],
        None if chars == 0 => "",
        None => text,
    }
}

#[cfg(test)]
mod tests;
