//! Why a model cannot be served: the load error, each variant's message saying what to change.

use tract_onnx::prelude::{DatumType, TractError};

use crate::model::PredictError;

/// Why a model cannot be served; each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    #[error("cannot parse {path} as ONNX: {cause}")]
    Parse { path: String, cause: String },
    #[error("the model has no inputs")]
    NoInputs,
    #[error("{0}")]
    Unsupported(crate::model::ops::Unsupported),
    #[error("the model's input {name} is {shape}, of unknown rank; export it with a known shape")]
    InputRank { name: String, shape: String },
    #[error(
        "the model's input {name} has type {datum:?}; float32, float64, float16, int8, uint8, int16, int32, \
         int64, bool and string are supported"
    )]
    InputType { name: String, datum: DatumType },
    #[error(
        "the model's output {name} has type {datum:?}; float32, float64, float16, int8, uint8, int16, int32, \
         int64, bool and string are supported"
    )]
    OutputType { name: String, datum: DatumType },
    #[error(
        "the model's {tensor} is {shape}: one item holds {elements} values, more than the limit of {limit} \
         (MAX_ITEM_ELEMENTS) this server sizes one item's buffers by"
    )]
    ItemTooLarge {
        /// `input "x"` or `output "y"`.
        tensor: String,
        shape: String,
        /// The count, or `more than 2^64` past `usize`.
        elements: String,
        limit: usize,
    },
    #[error("cannot optimise the model (an operator tract does not implement?): {0}")]
    Optimise(String),
    #[error("the warm-up run failed")]
    WarmUp(#[source] PredictError),
}

pub(super) fn parse_error(described: &str, cause: TractError) -> ModelLoadError {
    ModelLoadError::Parse {
        path: described.to_owned(),
        cause: format!("{cause:#}"),
    }
}
