//! One request through the plan: its buffers as tensors of the model's shapes, one run (or one
//! per item for a batch fixed at 1), and the outputs back as buffers with their item shapes.

use tract_onnx::prelude::*;

use super::tensors::{from_tensor, into_tensor};
use super::OnnxModel;
use crate::model::{Batch, ModelSpec, Output, PredictError, Predictions, Predictor, TensorSpec};

impl Predictor for OnnxModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn is_cheap(&self) -> bool {
        self.cheap
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
        let batched = !self.spec.inputs.iter().all(TensorSpec::is_scalar);
        let outputs = outputs
            .into_iter()
            .map(|output| {
                let output = output.into_tensor();
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
