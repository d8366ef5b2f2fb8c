//! How the ONNX model's inputs are fed from the tokenizer, and the spec clients see instead.

use std::path::Path;

use super::{EMBEDDING_OUTPUT, TEXT_INPUT, TEXT_PAIR_INPUT};
use crate::hf::FileError;
use crate::model::{ElementType, ModelSpec, TensorSpec};

/// Where each tokenizer output goes among the inner model's inputs, and its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    Ids,
    Mask,
    Types,
}

/// Which tokenizer output fills each inner input; any other input is a model this cannot feed.
pub(super) fn feeds(spec: &ModelSpec, path: &Path) -> Result<Vec<(Feed, ElementType)>, FileError> {
    spec.inputs
        .iter()
        .map(|input| {
            let feed = match input.name.as_str() {
                "input_ids" => Feed::Ids,
                "attention_mask" => Feed::Mask,
                "token_type_ids" => Feed::Types,
                other => {
                    return Err(FileError::new(path, "(file)", format!(
                        "is beside a model with an input {other:?}; text models take input_ids, attention_mask and \
                         token_type_ids only"
                    )))
                }
            };
            let element = match (input.element, input.shape.len()) {
                (ElementType::I64 | ElementType::I32, 2) => input.element,
                _ => {
                    return Err(FileError::new(path, "(file)", format!(
                        "is beside a model whose input {:?} is {} {}, not int64 or int32 [N, T]",
                        input.name,
                        input.element,
                        input.shape_text()
                    )))
                }
            };
            Ok((feed, element))
        })
        .collect()
}

/// A float output `[N, T, H]` named `last_hidden_state` (or the only rank-3 output), and H.
pub(super) fn hidden_states(spec: &ModelSpec) -> Option<(usize, usize)> {
    let rank3 = |o: &TensorSpec| o.shape.len() == 3 && o.element == ElementType::F32;
    let index = spec
        .outputs
        .iter()
        .position(|o| o.name == "last_hidden_state" && rank3(o))
        .or_else(|| match spec.outputs.iter().filter(|o| rank3(o)).count() {
            1 => spec.outputs.iter().position(rank3),
            _ => None,
        })?;
    Some((index, spec.outputs[index].shape[2]?))
}

/// The inner spec with one string input `text` and the optional `text_pair` (one string input
/// each, so that records, columns and V2 name them alike, and a list of strings stays a list of
/// items), and `embedding [N, H]` when there are hidden states.
pub(super) fn text_spec(inner: &ModelSpec, hidden: Option<usize>) -> ModelSpec {
    let mut spec = inner.clone();
    spec.inputs = vec![
        TensorSpec::matrix(TEXT_INPUT, ElementType::String, 1, true),
        TensorSpec::matrix(TEXT_PAIR_INPUT, ElementType::String, 1, true).optional(),
    ];
    if let Some(width) = hidden {
        spec.outputs.push(TensorSpec::matrix(
            EMBEDDING_OUTPUT,
            ElementType::F32,
            width,
            false,
        ));
    }
    spec
}
