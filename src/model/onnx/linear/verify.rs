//! A linear graph is computed directly only when, on probe batches, it answers bit for bit as
//! tract's plan and is not slower.

use std::time::{Duration, Instant};

use super::Linear;
use crate::model::onnx::OnnxModel;
use crate::model::{Batch, ElementType, Predictions, Values};

/// The probe batches' rows: tract picks its kernels by the row count of each run (a
/// matrix-vector kernel for one row), so the answers must agree at each kind of size; the
/// largest, enough that the timing is of the products and not of the calls, also times both.
pub(in crate::model::onnx) const PROBE_ROWS: [usize; 4] = [1, 2, 7, 256];

/// Timed runs of each side; the fastest counts.
const TIMED_RUNS: usize = 3;

impl OnnxModel {
    /// This model with `linear` as its shortcut, in the accumulation that answers as the plan,
    /// when one does and is not slower (on one thread, as the shortcut runs: measured at load,
    /// before the server sets the intra-op threads; the shortcut never runs on them);
    /// unchanged otherwise, and always for plans that are not one symbolic batch.
    pub(in crate::model::onnx) fn with_linear(self, linear: Option<Linear>) -> Self {
        let Some(linear) = linear else { return self };
        if self.spec.fixed_rows.is_some() || self.spec.per_item || self.single.is_some() {
            return self;
        }
        let Some(probes) = probes(&self) else { return self };
        let Some(linear) = self.agreeing(linear, &probes) else {
            tracing::debug!("a linear graph that answers otherwise than the plan: run on the plan");
            return self;
        };
        let largest = probes.last().expect("several probe sizes");
        let direct = fastest(|| linear.predict(largest).is_some());
        // The plan consumes its batch: the copies are made before the clock starts.
        let mut copies = vec![largest.clone(); TIMED_RUNS].into_iter();
        let planned = fastest(|| copies.next().is_some_and(|batch| self.run_once(batch).is_ok()));
        if direct > planned {
            return self;
        }
        tracing::info!("a linear model (x * W + b): computed directly, without tract's plan");
        OnnxModel {
            linear: Some(linear),
            ..self
        }
    }

    /// The variant of `linear` (plain or fused accumulation) that answers every probe bit for
    /// bit as the plan, if one does.
    pub(in crate::model::onnx) fn agreeing(&self, linear: Linear, probes: &[Batch]) -> Option<Linear> {
        let expected: Vec<Predictions> = probes
            .iter()
            .map(|probe| self.run_once(probe.clone()).ok())
            .collect::<Option<_>>()?;
        linear.variants().into_iter().find(|variant| {
            probes
                .iter()
                .zip(&expected)
                .all(|(probe, expected)| variant.predict(probe).is_some_and(|p| same_bits(&p, expected)))
        })
    }
}

/// A probe batch of each size of `PROBE_ROWS` for the model's one float input `[N, F]`.
pub(in crate::model::onnx) fn probes(model: &OnnxModel) -> Option<Vec<Batch>> {
    let [input] = &model.spec.inputs[..] else {
        return None;
    };
    PROBE_ROWS
        .iter()
        .map(|&rows| probe(input.element, input.item_dims(), rows))
        .collect()
}

/// `rows` rows of varied values (both signs, zeros, magnitudes from 1e-3 to 1e3) for a
/// float input of item dims `[F]`.
fn probe(element: ElementType, dims: &[Option<usize>], rows: usize) -> Option<Batch> {
    let &[Some(features)] = dims else { return None };
    let mut rng = fastrand::Rng::with_seed(7);
    let mut value = || match rng.u8(0..16) {
        0 => 0.0,
        1 => -0.0,
        _ => (rng.f64() - 0.5) * 10f64.powi(rng.i32(-3..=3)),
    };
    let count = rows * features;
    let values = match element {
        ElementType::F32 => Values::F32((0..count).map(|_| value() as f32).collect()),
        ElementType::F64 => Values::F64((0..count).map(|_| value()).collect()),
        _ => return None,
    };
    Some(Batch::new(rows, vec![values]))
}

/// Whether every output has the same rows, shapes and bits.
fn same_bits(a: &Predictions, b: &Predictions) -> bool {
    let bits = |values: &Values| -> Option<Vec<u64>> {
        match values {
            Values::F32(v) => Some(v.iter().map(|x| u64::from(x.to_bits())).collect()),
            Values::F64(v) => Some(v.iter().map(|x| x.to_bits()).collect()),
            _ => None,
        }
    };
    a.rows == b.rows
        && a.outputs.len() == b.outputs.len()
        && a.outputs.iter().zip(&b.outputs).all(|(x, y)| {
            x.per_row == y.per_row
                && x.shape == y.shape
                && bits(&x.values).is_some()
                && bits(&x.values) == bits(&y.values)
        })
}

/// The fastest of a few runs (`Duration::MAX` when one fails).
fn fastest(mut run: impl FnMut() -> bool) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..TIMED_RUNS {
        let started = Instant::now();
        if !run() {
            return Duration::MAX;
        }
        best = best.min(started.elapsed());
    }
    best
}
