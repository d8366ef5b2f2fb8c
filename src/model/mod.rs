//! The model layer: what a predictor is, how JSON becomes its input and its output becomes JSON,
//! and the `Scorer` that runs requests on it. No HTTP here: protocols call `Scorer::score` with a
//! `Codec` and map `ScoreError`s to statuses.

mod batcher;
mod element;
mod input;
/// JSON numbers read from bytes with JSON's grammar, to the bits `str::parse::<f64>` gives.
pub mod number;
mod onnx;
mod ops;
mod output;
mod raw;
mod scorer;
mod spec;
#[cfg(test)]
mod test_proto;
pub(crate) mod threads;

use std::sync::Arc;

pub use element::{Element, ElementType, Values};
pub use input::{parse_request, parse_scoring_request, Envelope, InputError, ScoringRequest};
pub use onnx::{ModelLoadError, OnnxModel};
pub use ops::{choose_kernels, DirectKernels, Isa};
pub use output::{write_labels, write_output, write_predictions, OutputError};
pub use raw::{bytes_values, raw_len, raw_width, values_from_raw, write_raw, RawError};
pub use scorer::{
    Answered, Batching, Codec, Collect, Draw, Enqueue, ScoreError, Scored, Scorer, ScorerSettings,
};
pub use spec::{BatchRule, ModelSpec, TensorSpec};
pub use threads::{Entered, IntraOpThreads, Occupancy, RunThreads};

/// A request's rows: one buffer per model input, in the model's input order, each row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: usize,
    pub inputs: Vec<Values>,
    /// Per input, the shape of one item (a scalar input's whole shape, `[]`). Empty when the
    /// model fixes every item's shape (tabular models), so their parsers need not say it.
    pub shapes: Vec<Vec<usize>>,
}

impl Batch {
    /// A batch whose item shapes the model fixes.
    pub fn new(rows: usize, inputs: Vec<Values>) -> Self {
        Batch {
            rows,
            inputs,
            shapes: Vec::new(),
        }
    }
}

/// The model's answer: every output, in the model's order, for `rows` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub rows: usize,
    pub outputs: Vec<Output>,
}

/// One output: `per_row` values for each row, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub per_row: usize,
    pub values: Values,
    /// The shape of one row's values (the output's shape without its batch dimension); empty
    /// when unknown, which answers `per_row` values as a flat list.
    pub shape: Vec<usize>,
}

/// The inference engine's own error, shared: one failed batched run reaches every waiter.
pub type EngineFault = Arc<dyn std::error::Error + Send + Sync>;

/// A failure while running the model on a well-formed batch. `Clone` because a batched run's
/// failure is forwarded, unchanged, to every request of the batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PredictError {
    /// The model was exported with a fixed batch size and the request has another.
    #[error("the model takes exactly {expected} rows (items) per request, this request has {found}")]
    FixedBatch { expected: usize, found: usize },
    /// The inference engine stopped on these input values: a run of the warmed-up plan that
    /// fails or panics (tract indexes without checking) fails on what this request holds (a
    /// token id outside the vocabulary, a sequence longer than the position table). The cause
    /// may hold tensor values, so it is only logged.
    #[error(
        "the model refused these input values (an index out of its range, such as a token id outside its \
         vocabulary, or a sequence longer than it takes?); the server log has the engine's message"
    )]
    Refused(#[source] EngineFault),
    /// One of our operators' named limits on a request's size (`ops::RequestLimit`): its message
    /// names sizes and the limit, never values, so it is answered as it is.
    #[error("{0}")]
    TooLarge(String),
    /// An output's dim 0 is not the request's item count (an output that is not per item, such
    /// as a constant `[1, k]` or a sequence-first `[T, N, H]`, or a pipeline that dropped an
    /// item): answering it would give items each other's values.
    #[error(
        "the model's output {output:?} is {shape:?} for a batch of {rows} items: its dim 0 is not the batch, \
         so its values cannot be answered per item"
    )]
    OutputRows {
        output: String,
        rows: usize,
        shape: Vec<usize>,
    },
    /// One item of the request cannot be preprocessed (an image that does not decode); the
    /// message names the item and holds no values.
    #[error("{0}")]
    BadItem(String),
    /// The inference engine failed; the cause may hold tensor values, so it is only logged.
    #[error("the model run failed")]
    Engine(#[source] EngineFault),
}

impl PredictError {
    /// An engine failure from any error (tract's `anyhow` errors included), keeping its chain.
    pub fn engine(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        PredictError::Engine(Arc::from(cause.into()))
    }

    /// The model's refusal of a request's values, keeping the engine's cause for the log.
    pub fn refused(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        PredictError::Refused(Arc::from(cause.into()))
    }
}

/// `predictor.predict(batch)`, a panic in it an engine failure of this batch rather than the end
/// of the thread (a batching worker) or of the connection (an inline run). The ONNX model
/// catches tract's own panics closer, as a refusal of the input values.
fn predict_caught(predictor: &dyn Predictor, batch: Batch) -> Result<Predictions, PredictError> {
    let run = std::panic::AssertUnwindSafe(|| predictor.predict(batch));
    std::panic::catch_unwind(run).unwrap_or_else(|_| Err(PredictError::engine("the model run panicked")))
}

/// Anything that turns a batch into predictions. The ONNX model implements it; router tests use
/// a fake. Implementations are blocking CPU work: the `Scorer` decides where they run.
pub trait Predictor: Send + Sync + 'static {
    fn spec(&self) -> &ModelSpec;
    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError>;
    /// True when a small request costs less to run on the calling thread than to hand to
    /// another one (a few microseconds per call).
    fn is_cheap(&self) -> bool {
        false
    }
    /// Memory the predictor will take for `batch` beyond its values (decoded images), known
    /// before it runs so the in-flight budget is charged first; a bad item is refused here.
    fn decoded_bytes(&self, _batch: &Batch) -> Result<u64, InputError> {
        Ok(0)
    }
    /// A classifier's class labels in the order of its probabilities, when the model says (for
    /// collected `predict_proba` outputs).
    fn class_labels(&self) -> Option<&[String]> {
        None
    }
    /// The labels of the first output (`config.json`'s `id2label`) and how its values become
    /// scores, when the model was exported with them: `/score` then answers labels.
    fn labels(&self) -> Option<&crate::hf::config::ModelConfig> {
        None
    }
}
