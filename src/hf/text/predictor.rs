//! The text model as a `Predictor`: strings tokenized and run on the inner model, hidden states
//! pooled into `embedding`, and what tokenizing a batch holds, charged before it runs.

use super::pool::pool;
use super::TextModel;
use crate::hf::config::ModelConfig;
use crate::model::{Batch, InputError, ModelSpec, PredictError, Predictions, Predictor, Values};

impl<P: Predictor> Predictor for TextModel<P> {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let (texts, pairs) = match batch.inputs.as_slice() {
            [Values::String(texts), Values::String(pairs)] if pairs.is_empty() => (texts, None),
            [Values::String(texts), Values::String(pairs)] if pairs.len() == texts.len() => {
                (texts, Some(pairs.as_slice()))
            }
            _ => {
                return Err(PredictError::engine(
                    "the text model's inputs are not strings, and pairs for every text or none",
                ))
            }
        };
        let tokens = self.tokenize(texts, pairs)?;
        let (rows, longest) = (tokens.rows, tokens.shapes.first().map_or(0, |s| s[0]));
        // The mask as floats, only for a model whose hidden states are pooled.
        let mask: Option<Vec<f64>> = self.hidden.map(|_| match self.mask(&tokens) {
            Some(Values::I64(mask)) => mask.iter().map(|&m| m as f64).collect(),
            Some(Values::I32(mask)) => mask.iter().map(|&m| f64::from(m)).collect(),
            _ => vec![1.0; rows * longest],
        });
        let mut predictions = self.inner.predict(tokens)?;
        if let (Some((index, width)), Some(mask)) = (self.hidden, mask) {
            let embedding = pool(&predictions.outputs[index], &mask, rows, longest, width)?;
            predictions.outputs.push(embedding);
        }
        Ok(predictions)
    }

    fn labels(&self) -> Option<&ModelConfig> {
        self.labels.as_ref()
    }

    /// What tokenizing `batch` holds at its peak, charged before it runs: per item, its tokens
    /// unpadded (`TOKEN_BYTES` a token), every inner input padded (8 bytes a token as int64) and
    /// the pooling mask (8), all at `max_length`, since the longest item sets every row's length;
    /// and the one `Encoding` alive at a time (of both texts of a pair: truncation keeps
    /// `max_length` tokens of the two, but each is normalized whole first). Without it, one long
    /// item and 330,000 empty ones in a 1 MB body would be padded to gigabytes.
    fn decoded_bytes(&self, batch: &Batch) -> Result<u64, InputError> {
        let Some(Values::String(texts)) = batch.inputs.first() else {
            return Ok(0);
        };
        let pairs = match batch.inputs.get(1) {
            Some(Values::String(pairs)) => pairs.as_slice(),
            _ => &[],
        };
        let feeds = self.feeds.len() as u64;
        let per_token = feeds * (TOKEN_BYTES + 8) + 8;
        let per_item = (self.max_length as u64)
            .saturating_mul(per_token)
            .saturating_add(ROW_BYTES + feeds * 16);
        // The bytes of an item's text that are read: `max_chars` characters of up to 4 bytes.
        let read = |text: &String| text.len().min(self.max_chars.saturating_mul(4));
        let longest = texts
            .iter()
            .enumerate()
            .map(|(index, text)| read(text) + pairs.get(index).map_or(0, read))
            .max()
            .unwrap_or(0) as u64;
        Ok((texts.len() as u64)
            .saturating_mul(per_item)
            .saturating_add(longest.saturating_mul(ENCODING_BYTES_PER_BYTE)))
    }
}

/// Bytes of one unpadded token of one input (`u32`).
const TOKEN_BYTES: u64 = 4;
/// Bytes of an item's row of unpadded inputs beyond its tokens (the `Vec` and its boxes).
const ROW_BYTES: u64 = 24;
/// What the tokenizer holds per byte of the item it tokenizes: the original and normalized
/// strings, an alignment (two `usize`) per normalized byte, and the tokens' strings and offsets.
const ENCODING_BYTES_PER_BYTE: u64 = 64;
