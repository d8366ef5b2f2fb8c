//! The ONNX model, loaded and optimised by tract into one plan: with a symbolic batch dimension
//! (and symbols for the other open dimensions), or, for an export whose batch is fixed and
//! cannot be typed symbolic, a plan of that batch (run once per item when it is fixed at 1).
//! A slow model with a symbolic batch may get a second plan for exactly one item (`single`).

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

mod constants;
mod error;
mod facts;
mod linear;
mod plan_settings;
mod run;
mod single;
mod tensors;
mod variants;
mod warm;

use error::parse_error;
pub use error::ModelLoadError;
use facts::{declared_input, describe, initializer_values, output_specs, tdim_outputs_as_i64, Declared};
use single::SinglePolicy;

use super::{ModelSpec, RunThreads, TensorSpec};

/// A model whose one-row run is faster than this is run inline for small requests: handing the
/// work to a blocking thread and back costs more (tens of microseconds) than the run itself.
const CHEAP_RUN: std::time::Duration = std::time::Duration::from_micros(50);

/// A loaded, optimised ONNX model. The plan is shared and read-only; each run borrows a run state
/// from `states` (or makes one), so many threads score at once, each on its own state.
pub struct OnnxModel {
    plan: Arc<TypedRunnableModel>,
    /// Run states between runs. A fresh state per run (what `SimplePlan::run` does) allocates
    /// the value table, every operator's state and the matmul scratch space again each time:
    /// for a small request that was most of tract's cost. A state is reset at the end of each
    /// run (`SimpleState::run`), keeping only those allocations. There are at most as many as
    /// runs ever went at once (the scoring slots and the runtime's worker threads).
    states: Mutex<Vec<TypedSimpleState>>,
    /// Whether runs reuse pooled states: only for plans without operator state. An operator
    /// with state (a `Scan`, as KNeighbors exports use) keeps it from one run to the next, so a
    /// reused state would carry one request into another; those plans get a fresh state per run.
    /// False also in the benchmark that measures what the pool saves.
    reuse_states: bool,
    spec: ModelSpec,
    input_shape: String,
    output_shape: String,
    /// Whether one small run takes only microseconds (measured at warm-up).
    cheap: bool,
    /// The fastest single-thread warm-up run of one item.
    warm_run: std::time::Duration,
    /// Where runs go: one thread, or split over the intra-op pool.
    threads: RunThreads,
    /// A classifier's class labels, in the order of its probabilities, when the graph says.
    class_labels: Option<Vec<String>>,
    /// The same model planned for exactly one item, when that ran faster at warm-up
    /// (`single.rs`); requests of one item run on it.
    single: Option<Box<OnnxModel>>,
    /// Whether requests of several items run item by item on `single` (measured faster than
    /// one run of this plan).
    items_on_single: bool,
    /// A linear graph computed without the plan, when it answers as the plan (`linear.rs`).
    linear: Option<linear::Linear>,
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
        let described = path.display().to_string();
        let proto = super::ops::onnx()
            .proto_model_for_path(path)
            .map_err(|cause| parse_error(&described, cause))?;
        Self::from_proto(
            proto,
            path.parent().and_then(Path::to_str),
            &described,
            SinglePolicy::MEASURED,
        )
    }

    /// `load` with a single-item plan as `policy` says (tests force one).
    #[cfg(test)]
    fn load_with(path: &Path, policy: SinglePolicy) -> Result<Self, ModelLoadError> {
        let proto = super::ops::onnx()
            .proto_model_for_path(path)
            .map_err(|cause| parse_error("a test model", cause))?;
        Self::from_proto(
            proto,
            path.parent().and_then(Path::to_str),
            "a test model",
            policy,
        )
    }

    /// Loads a model from its bytes (a download; the file system may be read-only). The bytes
    /// are freed as soon as they are decoded, before tract builds and optimises the model.
    pub fn load_bytes(bytes: Vec<u8>, described: &str) -> Result<Self, ModelLoadError> {
        let proto = super::ops::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|cause| parse_error(described, cause))?;
        drop(bytes);
        Self::from_proto(proto, None, described, SinglePolicy::MEASURED)
    }

    /// The model of `proto` (`folder`: where its external tensor files are, if it has any).
    fn from_proto(
        mut proto: ModelProto,
        folder: Option<&str>,
        described: &str,
        policy: SinglePolicy,
    ) -> Result<Self, ModelLoadError> {
        plan_settings::apply();
        let parse = |cause: TractError| parse_error(described, cause);
        let onnx = super::ops::onnx();
        let class_labels = super::ops::class_labels(&proto);
        let weights = initializer_values(&proto);
        super::ops::unwrap_zipmap(&mut proto);
        if let Some(unsupported) = super::ops::unsupported(&onnx, &proto) {
            return Err(ModelLoadError::Unsupported(unsupported));
        }
        let linear = linear::detect(&proto);
        let model = onnx.parse(&proto, folder).map_err(parse)?.model;
        drop(proto);
        let count = model.input_outlets().map_err(parse)?.len();
        if count == 0 {
            return Err(ModelLoadError::NoInputs);
        }
        let declared = (0..count)
            .map(|index| declared_input(&model, index, &parse))
            .collect::<Result<Vec<_>, _>>()?;
        // One symbol for every input's batch dimension: they all carry the same items, and one
        // optimised plan then serves every batch size. Other declared sizes are kept.
        let rows = model.sym("N").to_dim();
        let fixed = declared
            .iter()
            .filter_map(Declared::fixed_batch)
            .find(|&k| k != 1);
        // tract shares the weights between clones: this copy costs the graph, not the tensors.
        let single_source = fixed.is_none().then(|| model.clone());
        let loaded = if let Some(k) = fixed {
            let batch = |d: &Declared| d.fixed_batch().map_or_else(|| rows.clone(), |k| k.to_dim());
            Self::build(model, &declared, batch, Some(k), false)?
        } else if declared.iter().any(|d| d.fixed_batch() == Some(1)) {
            Self::fixed_at_one(model, &declared, &rows)?
        } else {
            Self::build(model, &declared, |_| rows.clone(), None, false)?
        };
        let (run_time, _) = loaded.warm_up()?;
        let loaded = OnnxModel {
            cheap: run_time < CHEAP_RUN,
            warm_run: run_time,
            class_labels,
            ..loaded
        };
        let loaded = match single_source {
            Some(model) => loaded.with_single_item_plan(model, &declared, weights, policy),
            None => loaded,
        };
        Ok(loaded.with_linear(linear))
    }

    /// An export whose batch is fixed at 1: typed with a symbolic batch when a warm-up at N=2
    /// answers as two runs of N=1 (a Reshape that hard-codes the batch can pass the type check
    /// and still mix items), else kept at 1 and run once per item.
    fn fixed_at_one(
        model: InferenceModel,
        declared: &[Declared],
        rows: &TDim,
    ) -> Result<Self, ModelLoadError> {
        let symbolic = Self::build(model.clone(), declared, |_| rows.clone(), None, false);
        if let Ok(symbolic) = symbolic {
            match symbolic.warm_up() {
                Ok((_, size)) if symbolic.answers_as_items(size) => return Ok(symbolic),
                _ => {}
            }
        }
        tracing::info!(
            "the model's batch is fixed at 1 and does not answer as a symbolic batch: one run per item"
        );
        Self::build(model, declared, |_| 1.to_dim(), None, true)
    }

    /// Types every input (dim 0 as `batch` says), optimises the model and makes its plan.
    fn build(
        mut model: InferenceModel,
        declared: &[Declared],
        batch: impl Fn(&Declared) -> TDim,
        fixed_rows: Option<usize>,
        per_item: bool,
    ) -> Result<Self, ModelLoadError> {
        let parse = |cause: TractError| ModelLoadError::Optimise(format!("{cause:#}"));
        for (index, input) in declared.iter().enumerate() {
            model
                .set_input_fact(index, input.fact(&batch(input)))
                .map_err(parse)?;
        }
        let optimise = |e: TractError| ModelLoadError::Optimise(format!("{e:#}"));
        let mut typed = optimised(model).map_err(optimise)?;
        tdim_outputs_as_i64(&mut typed).map_err(optimise)?;
        constants::make_natural(&mut typed).map_err(optimise)?;
        // Dim 0 of the outputs is the batch unless it is fixed, or every input is a scalar.
        let batched = fixed_rows.is_none() && declared.iter().any(|d| !d.spec.is_scalar());
        let outputs = output_specs(&typed, batched)?;
        let (input_shape, output_shape) = describe(&typed).map_err(optimise)?;
        let plan = typed.into_runnable().map_err(optimise)?;
        let inputs = declared
            .iter()
            .map(|input| {
                let mut spec: TensorSpec = input.spec.clone();
                if let Some(first) = spec.shape.first_mut() {
                    *first = fixed_rows;
                }
                spec
            })
            .collect();
        Ok(OnnxModel {
            reuse_states: stateless(&plan),
            plan,
            states: Mutex::default(),
            spec: ModelSpec {
                inputs,
                outputs,
                fixed_rows,
                per_item,
            },
            input_shape,
            output_shape,
            cheap: false,
            warm_run: std::time::Duration::ZERO,
            threads: RunThreads::default(),
            class_labels: None,
            single: None,
            items_on_single: false,
            linear: None,
        })
    }

    /// Input shapes as tract sees them after optimisation, e.g. `N,10,F64`.
    pub fn input_shape(&self) -> &str {
        &self.input_shape
    }

    /// Output shapes as tract sees them after optimisation.
    pub fn output_shape(&self) -> &str {
        &self.output_shape
    }
}

/// The model typed, decluttered, with our direct convolutions and max pools in place of tract's
/// where they run (`ops::conv`), and optimised.
fn optimised(model: InferenceModel) -> TractResult<TypedModel> {
    let mut typed = model.into_typed()?.into_decluttered()?;
    super::ops::direct_convolutions(&mut typed)?;
    super::ops::direct_max_pools(&mut typed)?;
    let mut typed = typed.into_compact()?;
    typed.optimize()?;
    Ok(typed)
}

/// Whether no operator of `plan` keeps state between runs (checked on a fresh run state).
fn stateless(plan: &Arc<TypedRunnableModel>) -> bool {
    plan.spawn()
        .map(|state| state.op_states.iter().all(Option::is_none))
        .unwrap_or(false)
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod shape_tests;
#[cfg(test)]
mod tests;
