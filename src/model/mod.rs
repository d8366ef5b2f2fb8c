//! The model layer: what a scorer is, how JSON becomes its input, and how its output becomes JSON.
//! No HTTP here: the API layer calls `Predictor` and maps `ScoreError`s to statuses.

mod batcher;
mod element;
mod input;
mod onnx;
mod output;

use std::path::{Path, PathBuf};

pub use batcher::BatchingPredictor;
pub use element::{Element, ElementType, InputBuffer, OutputBuffer};
pub use input::{parse_request, InputError};
pub use onnx::{ModelLoadError, OnnxModel};
pub use output::{write_predictions, OutputError};

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

/// A failure while running the model on a well-formed batch.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The model was exported with a fixed batch size and the request has another.
    #[error("the model takes exactly {expected} rows per request, this request has {found}")]
    FixedBatch { expected: usize, found: usize },
    /// The inference engine failed; the detail may hold tensor values, so it is only logged.
    #[error("model run failed: {0}")]
    Engine(String),
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
/// a fake. Implementations are blocking CPU work: callers run them off the async executor.
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
    /// The batching front, when dynamic batching is on: handlers await it instead of blocking.
    fn as_batcher(&self) -> Option<&BatchingPredictor> {
        None
    }
}

/// Finds the one `*.onnx` file under `dir` (searched recursively, as Azure ML mounts models
/// under `<dir>/<name>/<version>/...`). Zero or several is an error naming what was found.
pub fn find_model_file(dir: &Path) -> Result<PathBuf, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let mut found = Vec::new();
    collect_onnx_files(dir, &mut found).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("no *.onnx file under {}", dir.display())),
        _ => {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(format!(
                "several *.onnx files under {} ({}); choose one with --model-file",
                dir.display(),
                names.join(", ")
            ))
        }
    }
}

fn collect_onnx_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_onnx_files(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("onnx"))
        {
            found.push(path);
        }
    }
    Ok(())
}
