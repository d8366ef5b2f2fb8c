//! The model layer: what a predictor is, how JSON becomes its input and its output becomes JSON,
//! and the `Scorer` that runs requests on it. No HTTP here: protocols call `Scorer::score` with a
//! `Codec` and map `ScoreError`s to statuses.

mod batcher;
mod element;
mod input;
mod onnx;
mod output;
mod scorer;

use std::sync::Arc;

pub use element::{Element, ElementType, InputBuffer, OutputBuffer};
pub use input::{parse_request, InputError};
pub use onnx::{ModelLoadError, OnnxModel};
pub use output::{write_predictions, OutputError};
pub use scorer::{Batching, Codec, ScoreError, Scored, Scorer};

/// What the model takes: rows of `width` values of one element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    pub width: usize,
    pub element: ElementType,
    /// Some models are exported with a fixed batch size; `None` means any number of rows.
    pub fixed_rows: Option<usize>,
}

/// A request's rows, in one contiguous row-major buffer of the model's element type.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: usize,
    pub values: InputBuffer,
}

/// The model's answer: `rows` rows of `per_row` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub rows: usize,
    pub per_row: usize,
    pub values: OutputBuffer,
}

/// The inference engine's own error, shared: one failed batched run reaches every waiter.
pub type EngineFault = Arc<dyn std::error::Error + Send + Sync>;

/// A failure while running the model on a well-formed batch. `Clone` because a batched run's
/// failure is forwarded, unchanged, to every request of the batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PredictError {
    /// The model was exported with a fixed batch size and the request has another.
    #[error("the model takes exactly {expected} rows per request, this request has {found}")]
    FixedBatch { expected: usize, found: usize },
    /// The inference engine failed; the cause may hold tensor values, so it is only logged.
    #[error("the model run failed")]
    Engine(#[source] EngineFault),
}

impl PredictError {
    /// An engine failure from any error (tract's `anyhow` errors included), keeping its chain.
    pub fn engine(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        PredictError::Engine(Arc::from(cause.into()))
    }
}

/// Names and output type, for protocols that describe the model (KServe V2, OpenAPI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    pub input_name: String,
    pub output_name: String,
    pub output_element: ElementType,
    /// Values per row of the first output, when the model declares it.
    pub output_width: Option<usize>,
}

/// Anything that turns a batch into predictions. The ONNX model implements it; router tests use
/// a fake. Implementations are blocking CPU work: the `Scorer` decides where they run.
pub trait Predictor: Send + Sync + 'static {
    fn input(&self) -> InputSpec;
    fn metadata(&self) -> ModelMetadata {
        ModelMetadata {
            input_name: "input".to_owned(),
            output_name: "output".to_owned(),
            output_element: self.input().element,
            output_width: None,
        }
    }
    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError>;
    /// True when a small request costs less to run on the calling thread than to hand to
    /// another one (a few microseconds per call).
    fn is_cheap(&self) -> bool {
        false
    }
}
