//! The warm-up: runs of the model's real input shapes (a size tried for each symbolic dimension
//! other than the batch), and the check that a batch typed symbolic answers as single items.

use std::time::{Duration, Instant};

use tract_onnx::prelude::f16;

use super::facts::MAX_ITEM_ELEMENTS;
use super::{ModelLoadError, OnnxModel};
use crate::model::{Batch, ElementType, PredictError, Predictor, TensorSpec, Values};

/// Sizes tried, in turn, for symbolic dimensions other than the batch at warm-up: a sequence
/// length of 1 runs on any text model, an image model may need a larger size (a ResNet
/// downsamples 32 times).
const SYMBOL_SIZES: [usize; 4] = [1, 8, 64, 224];

/// Runs per measured shape at warm-up; the fastest counts.
const WARM_RUNS: usize = 5;

/// Values of `element`, `count` of them, that differ from one item to the next (so that a run
/// mixing items shows): small integers, valid indices of any embedding table.
fn pattern(element: ElementType, count: usize, item: usize) -> Values {
    let bit = |j: usize| (j + item) % 2;
    let float = |j: usize| ((j * 7 + item * 13) % 17) as f64 / 17.0 - 0.5;
    match element {
        ElementType::F32 => Values::F32((0..count).map(|j| float(j) as f32).collect()),
        ElementType::F64 => Values::F64((0..count).map(float).collect()),
        ElementType::F16 => Values::F16((0..count).map(|j| f16::from_f64(float(j))).collect()),
        ElementType::I8 => Values::I8((0..count).map(|j| bit(j) as i8).collect()),
        ElementType::U8 => Values::U8((0..count).map(|j| bit(j) as u8).collect()),
        ElementType::I16 => Values::I16((0..count).map(|j| bit(j) as i16).collect()),
        ElementType::I32 => Values::I32((0..count).map(|j| bit(j) as i32).collect()),
        ElementType::I64 => Values::I64((0..count).map(|j| bit(j) as i64).collect()),
        ElementType::Bool => Values::Bool((0..count).map(|j| bit(j) == 1).collect()),
        ElementType::String => Values::String((0..count).map(|j| "a".repeat(bit(j))).collect()),
    }
}

/// A batch of `rows` items (items `first..first + rows` of the pattern), symbolic dimensions
/// at `size`; refused when one input's values would pass `MAX_ITEM_ELEMENTS` (a model file's
/// shapes, a fixed batch of many items, or many symbolic dimensions at `size`).
fn inputs(specs: &[TensorSpec], rows: usize, first: usize, size: usize) -> Result<Batch, ModelLoadError> {
    let mut batch = Batch::new(rows, Vec::new());
    for spec in specs {
        let shape: Vec<usize> = spec.item_dims().iter().map(|d| d.unwrap_or(size)).collect();
        let items = if spec.is_scalar() { 1 } else { rows };
        let total = shape.iter().try_fold(items, |n, &d| n.checked_mul(d));
        let (per_item, total) = match total {
            Some(total) if total <= MAX_ITEM_ELEMENTS => (total.checked_div(items).unwrap_or(0), total),
            _ => {
                let mut dims = vec![rows];
                dims.extend(&shape);
                return Err(ModelLoadError::ItemTooLarge {
                    tensor: format!("input {:?} (at warm-up, as {dims:?})", spec.name),
                    shape: spec.shape_text(),
                    elements: total.map_or_else(|| "more than 2^64".to_owned(), |t| t.to_string()),
                    limit: MAX_ITEM_ELEMENTS,
                });
            }
        };
        let mut values = Values::with_capacity(spec.element, total);
        for item in first..first + items {
            values.append(pattern(spec.element, per_item, item));
        }
        batch.inputs.push(values);
        batch
            .shapes
            .push(if spec.is_scalar() { Vec::new() } else { shape });
    }
    Ok(batch)
}

impl OnnxModel {
    /// Runs the model's real input shapes a few times; returns the fastest run's time and the
    /// size its symbolic dimensions took (the first of `SYMBOL_SIZES` that runs).
    pub(super) fn warm_up(&self) -> Result<(Duration, usize), ModelLoadError> {
        let rows = self.spec.fixed_rows.unwrap_or(1);
        let symbolic = self
            .spec
            .inputs
            .iter()
            .any(|i| i.item_dims().iter().any(Option::is_none));
        let sizes: &[usize] = if symbolic {
            &SYMBOL_SIZES
        } else {
            &SYMBOL_SIZES[..1]
        };
        let mut failure = None;
        for &size in sizes {
            let batch = match inputs(&self.spec.inputs, rows, 0, size) {
                Ok(batch) => batch,
                // Too large at the first size: the model's own shapes are; past it, larger
                // sizes only grow.
                Err(too_large) if failure.is_none() => return Err(too_large),
                Err(_) => break,
            };
            let mut fastest = Duration::MAX;
            let mut runs = (0..WARM_RUNS).map(|_| {
                let started = Instant::now();
                let ran = self.predict(batch.clone());
                fastest = fastest.min(started.elapsed());
                ran
            });
            match runs.find_map(Result::err) {
                None => return Ok((fastest, size)),
                Some(error) => failure = Some(error),
            }
        }
        Err(ModelLoadError::WarmUp(
            failure.expect("at least one size was tried"),
        ))
    }

    /// The fastest of a few runs of `rows` items of this plan (symbolic dimensions at `size`).
    pub(super) fn fastest_run(&self, rows: usize, size: usize) -> Option<Duration> {
        let batch = inputs(&self.spec.inputs, rows, 0, size).ok()?;
        let mut fastest = Duration::MAX;
        for _ in 0..WARM_RUNS {
            let started = Instant::now();
            self.run_once(batch.clone()).ok()?;
            fastest = fastest.min(started.elapsed());
        }
        Some(fastest)
    }

    /// Whether `other` (the same model planned otherwise) answers one item as this plan does.
    pub(super) fn answers_like(&self, other: &OnnxModel, size: usize) -> bool {
        let run = |model: &OnnxModel| {
            inputs(&model.spec.inputs, 1, 0, size)
                .ok()
                .and_then(|batch| model.run_once(batch).ok())
        };
        let (Some(mine), Some(theirs)) = (run(self), run(other)) else {
            return false;
        };
        mine.outputs.len() == theirs.outputs.len()
            && mine
                .outputs
                .iter()
                .zip(&theirs.outputs)
                .all(|(a, b)| a.shape == b.shape && close(&a.values, &b.values))
    }

    /// Whether one run of two items answers as two runs of one (same shapes, values within a
    /// tolerance for summation order: matrix kernels may tile two rows otherwise than one).
    pub(super) fn answers_as_items(&self, size: usize) -> bool {
        let run = |rows, first| match inputs(&self.spec.inputs, rows, first, size) {
            Ok(batch) => self.run_once(batch),
            Err(_) => Err(PredictError::engine("the warm-up batch is too large")),
        };
        let (Ok(both), Ok(one), Ok(two)) = (run(2, 0), run(1, 0), run(1, 1)) else {
            return false;
        };
        both.outputs.len() == one.outputs.len()
            && both.outputs.iter().enumerate().all(|(index, output)| {
                let mut alone = one.outputs[index].values.clone();
                alone.append(two.outputs[index].values.clone());
                output.shape == one.outputs[index].shape && close(&output.values, &alone)
            })
    }
}

/// Equal values (floats within 1e-4 relative, NaN equal to NaN).
fn close(a: &Values, b: &Values) -> bool {
    fn floats(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> bool {
        a.zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x - y).abs() <= 1e-4 * (1.0 + x.abs().max(y.abs())))
    }
    if a.len() != b.len() {
        return false;
    }
    match (a, b) {
        (Values::F32(x), Values::F32(y)) => {
            floats(x.iter().map(|v| f64::from(*v)), y.iter().map(|v| f64::from(*v)))
        }
        (Values::F64(x), Values::F64(y)) => floats(x.iter().copied(), y.iter().copied()),
        (Values::F16(x), Values::F16(y)) => {
            floats(x.iter().map(|v| v.to_f64()), y.iter().map(|v| v.to_f64()))
        }
        _ => a == b,
    }
}
