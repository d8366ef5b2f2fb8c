//! The ONNX model, loaded and optimised once by tract with a symbolic batch dimension.

use std::{path::Path, sync::Arc};

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

mod facts;

use facts::{describe_outputs, element_type, io_names};

use super::{
    Batch, ElementType, InputBuffer, InputSpec, ModelMetadata, OutputBuffer, PredictError, Predictions,
    Predictor,
};

/// A model whose one-row run is faster than this is run inline for small requests: handing the
/// work to a blocking thread and back costs more (tens of microseconds) than the run itself.
const CHEAP_RUN: std::time::Duration = std::time::Duration::from_micros(50);

/// Why a model cannot be served; each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    #[error("cannot parse {path} as ONNX: {cause}")]
    Parse { path: String, cause: String },
    #[error("the model has {0} inputs; this server feeds exactly one 2-D input")]
    InputCount(usize),
    #[error("the model's input is {0}; this server feeds a 2-D input [rows, features]")]
    InputRank(String),
    #[error("the model's input width is not fixed ({0}); export it with a known feature count")]
    OpenWidth(String),
    #[error("the model's input type {0:?} is not supported (float32, float64, int32, int64 are)")]
    InputType(DatumType),
    #[error(
        "the model's output {index} has type {datum:?}; float32, float64, int32 and int64 are supported"
    )]
    OutputType { index: usize, datum: DatumType },
    #[error("cannot optimise the model (an operator tract does not implement?): {0}")]
    Optimise(String),
    #[error("the warm-up run failed")]
    WarmUp(#[source] PredictError),
}

/// A loaded, optimised ONNX model. The plan is shared: tract runs it with `&self`, building a
/// fresh state per call, so many threads can score at once without a lock.
pub struct OnnxModel {
    plan: Arc<TypedRunnableModel>,
    input: InputSpec,
    metadata: ModelMetadata,
    input_shape: String,
    output_shape: String,
    /// Whether one small run takes only microseconds (measured at warm-up).
    cheap: bool,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("input", &self.input_shape)
            .field("output", &self.output_shape)
            .finish()
    }
}

impl OnnxModel {
    /// Loads `path`, gives its batch dimension a symbol, optimises it and runs one warm-up row.
    pub fn load(path: &Path) -> Result<Self, ModelLoadError> {
        let parse = |cause: TractError| ModelLoadError::Parse {
            path: path.display().to_string(),
            cause: format!("{cause:#}"),
        };
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(parse)?;
        let inputs = model.input_outlets().map_err(parse)?.len();
        if inputs != 1 {
            return Err(ModelLoadError::InputCount(inputs));
        }
        let declared = model.input_fact(0).map_err(parse)?.clone();
        let datum = declared.datum_type.concretize().unwrap_or(DatumType::F32);
        let element = element_type(datum).ok_or(ModelLoadError::InputType(datum))?;
        let dims: Vec<Option<usize>> = declared
            .shape
            .dims()
            .map(|d| {
                d.concretize()
                    .and_then(|d| d.as_i64())
                    .and_then(|d| usize::try_from(d).ok())
            })
            .collect();
        if declared.shape.is_open() || dims.len() != 2 {
            return Err(ModelLoadError::InputRank(declared.format_dt_shape()));
        }
        let width = dims[1].ok_or_else(|| ModelLoadError::OpenWidth(declared.format_dt_shape()))?;
        // Keep what the model declares; only an unknown batch dimension becomes a symbol, so one
        // optimised plan serves every batch size.
        let batch = match dims[0] {
            Some(rows) => rows.to_dim(),
            None => model.sym("N").to_dim(),
        };
        let (input_name, output_name) = io_names(&model).map_err(parse)?;
        let fact = InferenceFact::dt_shape(datum, tvec![batch, width.to_dim()]);
        model.set_input_fact(0, fact).map_err(parse)?;
        let typed = model
            .into_optimized()
            .map_err(|e| ModelLoadError::Optimise(format!("{e:#}")))?;
        let output_shape = describe_outputs(&typed)?;
        let output_fact = typed.output_fact(0).map_err(parse)?;
        let metadata = ModelMetadata {
            input_name,
            output_name,
            output_element: element_type(output_fact.datum_type).unwrap_or(element),
            output_width: output_fact
                .shape
                .get(1)
                .and_then(|d| d.as_i64())
                .and_then(|d| usize::try_from(d).ok()),
        };
        let input_shape = format!("{:?}", typed.input_fact(0).map_err(parse)?);
        let plan = typed
            .into_runnable()
            .map_err(|e| ModelLoadError::Optimise(format!("{e:#}")))?;
        let input = InputSpec {
            width,
            element,
            fixed_rows: dims[0],
        };
        let loaded = OnnxModel {
            plan,
            input,
            metadata,
            input_shape,
            output_shape,
            cheap: false,
        };
        let run_time = loaded.warm_up()?;
        Ok(OnnxModel {
            cheap: run_time < CHEAP_RUN,
            ..loaded
        })
    }

    /// Input shape as tract sees it after optimisation, e.g. `N,10,F64`.
    pub fn input_shape(&self) -> &str {
        &self.input_shape
    }

    /// Output shapes as tract sees them after optimisation.
    pub fn output_shape(&self) -> &str {
        &self.output_shape
    }

    /// Runs a row of zeros a few times; returns the fastest run's time.
    fn warm_up(&self) -> Result<std::time::Duration, ModelLoadError> {
        let rows = self.input.fixed_rows.unwrap_or(1);
        let zeros = rows * self.input.width;
        let values = match self.input.element {
            ElementType::F32 => InputBuffer::F32(vec![0.0; zeros]),
            ElementType::F64 => InputBuffer::F64(vec![0.0; zeros]),
            ElementType::I32 => InputBuffer::I32(vec![0; zeros]),
            ElementType::I64 => InputBuffer::I64(vec![0; zeros]),
        };
        let mut fastest = std::time::Duration::MAX;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            self.predict(Batch {
                rows,
                values: values.clone(),
            })
            .map_err(ModelLoadError::WarmUp)?;
            fastest = fastest.min(started.elapsed());
        }
        Ok(fastest)
    }
}

impl Predictor for OnnxModel {
    fn input(&self) -> InputSpec {
        self.input
    }

    fn metadata(&self) -> ModelMetadata {
        self.metadata.clone()
    }

    fn is_cheap(&self) -> bool {
        self.cheap
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        if let Some(expected) = self.input.fixed_rows {
            if batch.rows != expected {
                return Err(PredictError::FixedBatch {
                    expected,
                    found: batch.rows,
                });
            }
        }
        let shape = [batch.rows, self.input.width];
        let engine = |e: TractError| PredictError::engine(e);
        let tensor = match batch.values {
            InputBuffer::F32(v) => tract_ndarray::Array2::from_shape_vec(shape, v).map(Tensor::from),
            InputBuffer::F64(v) => tract_ndarray::Array2::from_shape_vec(shape, v).map(Tensor::from),
            InputBuffer::I32(v) => tract_ndarray::Array2::from_shape_vec(shape, v).map(Tensor::from),
            InputBuffer::I64(v) => tract_ndarray::Array2::from_shape_vec(shape, v).map(Tensor::from),
        }
        .map_err(PredictError::engine)?;
        let outputs = self.plan.run(tvec!(tensor.into_tvalue())).map_err(engine)?;
        // The first output is the prediction (as scikit-learn's `predict` returns); classifiers'
        // extra outputs (probabilities) are not sent.
        let output = outputs
            .into_iter()
            .next()
            .ok_or_else(|| PredictError::engine("the model returned no output"))?;
        let output = output.into_tensor();
        let per_row = output.len().checked_div(batch.rows).unwrap_or(0);
        let values = match output.datum_type() {
            DatumType::F32 => OutputBuffer::F32(into_vec(output)?),
            DatumType::F64 => OutputBuffer::F64(into_vec(output)?),
            DatumType::I32 => OutputBuffer::I32(into_vec(output)?),
            DatumType::I64 => OutputBuffer::I64(into_vec(output)?),
            other => return Err(PredictError::engine(format!("unsupported output type {other:?}"))),
        };
        Ok(Predictions {
            rows: batch.rows,
            per_row,
            values,
        })
    }
}

/// The tensor's values, row-major, without a copy when tract hands over its buffer.
fn into_vec<T: Datum>(tensor: Tensor) -> Result<Vec<T>, PredictError> {
    let array = tensor.into_plain_array::<T>().map_err(PredictError::engine)?;
    Ok(array.into_raw_vec_and_offset().0)
}
