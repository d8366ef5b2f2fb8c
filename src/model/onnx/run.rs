//! One request through the plan: its buffers as tensors of the model's shapes, one run (or one
//! per item for a batch fixed at 1), and the outputs back as buffers with their item shapes.

use std::panic::AssertUnwindSafe;

use tract_onnx::prelude::*;

use super::tensors::{from_tensor, into_tensor};
use super::OnnxModel;
use crate::model::ops::RequestLimit;
use crate::model::{Batch, ModelSpec, Output, PredictError, Predictions, Predictor, TensorSpec};

impl Predictor for OnnxModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn is_cheap(&self) -> bool {
        self.cheap
    }

    fn class_labels(&self) -> Option<&[String]> {
        self.class_labels.as_deref()
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        if let Some(expected) = self.spec.fixed_rows {
            if batch.rows != expected {
                return Err(PredictError::FixedBatch {
                    expected,
                    found: batch.rows,
                });
            }
        }
        if let Some(predictions) = self.linear.as_ref().and_then(|linear| linear.predict(&batch)) {
            return Ok(predictions);
        }
        if let Some(single) = self.plan_for(batch.rows) {
            return single.predict(batch);
        }
        if self.spec.per_item && batch.rows > 1 {
            return self.per_item(batch);
        }
        self.run_once(batch)
    }
}

/// The shape of one item of `spec`: as the request said, or as the model fixes it.
fn item_shape(spec: &TensorSpec, said: Option<&Vec<usize>>) -> Vec<usize> {
    if let Some(said) = said {
        return said.clone();
    }
    match spec.item_dims() {
        [] => Vec::new(),
        [width] => vec![width.unwrap_or(1)],
        dims => dims.iter().map(|d| d.unwrap_or(1)).collect(),
    }
}

impl OnnxModel {
    /// One run of the whole batch.
    pub(super) fn run_once(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let mut tensors = TVec::with_capacity(batch.inputs.len());
        for (index, (spec, values)) in self.spec.inputs.iter().zip(batch.inputs).enumerate() {
            let mut shape = item_shape(spec, batch.shapes.get(index));
            if !spec.is_scalar() {
                shape.insert(0, batch.rows);
            }
            tensors.push(into_tensor(values, &shape)?.into_tvalue());
        }
        let outputs = self.run(tensors)?;
        let batched = self.spec.is_batched();
        let outputs = outputs
            .into_iter()
            .enumerate()
            .map(|(index, output)| {
                let output = output.into_tensor();
                // Values are split per item by dim 0: it must be the batch. A batch fixed at 1
                // and run per item is exempt (its outputs are whatever one run gives).
                if batched && !self.spec.per_item && output.shape().first() != Some(&batch.rows) {
                    let scalar_of_one = output.rank() == 0 && batch.rows == 1;
                    if !scalar_of_one {
                        return Err(PredictError::OutputRows {
                            output: self.spec.outputs[index].name.clone(),
                            rows: batch.rows,
                            shape: output.shape().to_vec(),
                        });
                    }
                }
                let per_row = output.len().checked_div(batch.rows).unwrap_or(0);
                let shape = match output.shape() {
                    [_, rest @ ..] if batched => rest.to_vec(),
                    whole => whole.to_vec(),
                };
                Ok(Output {
                    per_row,
                    values: from_tensor(output)?,
                    shape,
                })
            })
            .collect::<Result<Vec<_>, PredictError>>()?;
        Ok(Predictions {
            rows: batch.rows,
            outputs,
        })
    }

    /// One run per item (a batch fixed at 1), the answers stacked as one batch's. A scalar
    /// input goes whole to every run.
    fn per_item(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let rows = batch.rows;
        let mut stacked: Option<Predictions> = None;
        for row in 0..rows {
            let inputs = self
                .spec
                .inputs
                .iter()
                .zip(&batch.inputs)
                .map(|(spec, values)| {
                    if spec.is_scalar() {
                        return values.clone();
                    }
                    let size = values.len() / rows;
                    values.slice(row * size..(row + 1) * size)
                })
                .collect();
            let item = self.run_once(Batch {
                rows: 1,
                inputs,
                shapes: batch.shapes.clone(),
            })?;
            match &mut stacked {
                None => stacked = Some(item),
                Some(all) => {
                    for (into, more) in all.outputs.iter_mut().zip(item.outputs) {
                        into.values.append(more.values);
                    }
                    all.rows += 1;
                }
            }
        }
        stacked.ok_or_else(|| PredictError::engine("a batch of no items"))
    }
}

impl OnnxModel {
    /// Runs the plan on a pooled state. A state whose run failed is dropped rather than reused:
    /// it may hold that run's values. The plan was typed, optimised and warmed up, so a run
    /// that fails, or panics inside tract (its `Gather` indexes without checking: a token id
    /// outside the vocabulary panics), fails on this request's values: refused, and the thread
    /// goes on. The state it panicked in is dropped here, never pooled.
    fn run(&self, inputs: TVec<TValue>) -> Result<TVec<TValue>, PredictError> {
        self.threads.scope(|| self.run_here(inputs))
    }

    fn run_here(&self, inputs: TVec<TValue>) -> Result<TVec<TValue>, PredictError> {
        if !self.reuse_states {
            return caught(|| self.plan.run(inputs))?.map_err(refusal);
        }
        let pooled = self.pool().pop();
        let mut state = match pooled {
            Some(state) => state,
            None => self.plan.spawn().map_err(PredictError::engine)?,
        };
        let outputs = caught(|| state.run(inputs))?.map_err(refusal)?;
        self.pool().push(state);
        Ok(outputs)
    }

    pub(super) fn pool(&self) -> std::sync::MutexGuard<'_, Vec<TypedSimpleState>> {
        // A panic while the lock was held left a valid Vec: keep using it.
        self.states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A failed run's error: an operator's named limit on the request's size is answered as it is;
/// anything else is the model's refusal of these values (its cause only logged).
fn refusal(error: TractError) -> PredictError {
    match error
        .chain()
        .find_map(|cause| cause.downcast_ref::<RequestLimit>())
    {
        Some(limit) => PredictError::TooLarge(limit.0.clone()),
        None => PredictError::refused(error),
    }
}

thread_local! {
    /// True while this thread runs a model inside `caught`.
    static IN_MODEL_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
static QUIET_HOOK: std::sync::Once = std::sync::Once::new();

/// Rust's default panic hook writes every panic to stderr, a raw line outside the JSON log and
/// its rate cap, with the panic's message (which may hold a request's values). A panic inside a
/// model run is caught and logged once by the edge as the refusal's cause, so the hook stays
/// silent for those and prints every other panic as before.
fn install_quiet_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_MODEL_RUN.get() {
            default(info);
        }
    }));
}

/// Runs `run`, a panic in it becoming `PredictError::Refused` with the panic's message as its
/// cause (logged by the edge, never answered: it may hold values). `AssertUnwindSafe`: what
/// `run` borrows (the shared plan, a run state) is read-only or dropped after a panic.
fn caught<T>(run: impl FnOnce() -> T) -> Result<T, PredictError> {
    QUIET_HOOK.call_once(install_quiet_hook);
    IN_MODEL_RUN.set(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(run));
    IN_MODEL_RUN.set(false);
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        PredictError::refused(format!("the model run panicked: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_request_limit_is_answered_as_it_is_and_other_failures_are_refusals() {
        let limit: TractError = RequestLimit("4 rows of 3 columns is over MAX_CELLS (10)".into()).into();
        let failed = limit.context("evaluating node #7 \"TfIdfVectorizer\"");
        assert!(
            matches!(refusal(failed), PredictError::TooLarge(m) if m == "4 rows of 3 columns is over MAX_CELLS (10)")
        );
        let other = refusal(anyhow::anyhow!("Slice: Invalid range 0..40"));
        assert!(matches!(other, PredictError::Refused(_)), "{other:?}");
    }
}
