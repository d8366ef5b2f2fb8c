//! A second plan for exactly one item, beside a plan typed with a symbolic batch. tract plans a
//! convolution network for known shapes far better than for a symbolic batch (DenseNet-121 ran
//! in about a third of the time: BENCHMARKS.md, "Deep-learning models"), so a model whose
//! one-item run is slow enough to matter gets a plan typed with a batch of 1 too, kept only when
//! its warm-up runs are faster and answer the same. A request of one item then runs on it, and a
//! request of several items runs item by item on it when that measured faster than one run of
//! the symbolic plan. Two plans at most: a request can never make the server plan again.

use std::time::Duration;

use tract_onnx::prelude::*;

use super::facts::Declared;
use super::OnnxModel;

/// When a model gets a single-item plan (tests force one).
#[derive(Debug, Clone, Copy)]
pub(super) struct SinglePolicy {
    /// Models whose one-item run on the symbolic plan is faster than this keep that plan
    /// alone: a second plan would cost load time and memory to save microseconds (tabular
    /// models).
    worth: Duration,
    /// The single-item plan is kept only when its run takes at most this share of the
    /// symbolic plan's: run times at warm-up vary by a few percent.
    faster_by: f64,
    /// Whether several items run item by item on the single-item plan; measured when `None`.
    items_on_single: Option<bool>,
    /// Models with more weights (values of their initializers) keep one plan: a second plan
    /// holds its own packed copy of them, and its optimisation takes as long as the first.
    max_weights: usize,
}

impl SinglePolicy {
    pub(super) const MEASURED: SinglePolicy = SinglePolicy {
        worth: Duration::from_micros(200),
        faster_by: 0.9,
        items_on_single: None,
        // 256 MB of float32: DenseNet-121 has 8 million, BERT-base 110 million.
        max_weights: 64 << 20,
    };

    /// The symbolic plan alone whatever the times.
    #[cfg(test)]
    pub(super) fn never() -> SinglePolicy {
        SinglePolicy {
            worth: Duration::MAX,
            ..SinglePolicy::MEASURED
        }
    }

    /// A single-item plan whatever the times, several items on it or not as said.
    #[cfg(test)]
    pub(super) fn forced(items_on_single: bool) -> SinglePolicy {
        SinglePolicy {
            worth: Duration::ZERO,
            faster_by: f64::INFINITY,
            items_on_single: Some(items_on_single),
            max_weights: usize::MAX,
        }
    }
}

/// Why the symbolic plan stays alone, or what the single-item plan measured.
#[derive(Debug)]
pub(super) enum SinglePlan {
    Kept {
        single: Duration,
        symbolic: Duration,
        items_on_single: bool,
    },
    NotTried,
    Slower,
}

impl OnnxModel {
    /// `self` (a plan with a symbolic batch, warmed up) with a plan for exactly one item built
    /// from `model` when it runs faster; `self` as it is otherwise.
    pub(super) fn with_single_item_plan(
        mut self,
        model: InferenceModel,
        declared: &[Declared],
        weights: usize,
        policy: SinglePolicy,
    ) -> Self {
        let outcome = self.add_single_item_plan(model, declared, weights, policy);
        if let SinglePlan::Kept {
            single,
            symbolic,
            items_on_single,
        } = outcome
        {
            tracing::info!(
                single_ms = single.as_secs_f64() * 1e3,
                symbolic_ms = symbolic.as_secs_f64() * 1e3,
                several_items = if items_on_single {
                    "item by item on it"
                } else {
                    "on the symbolic plan"
                },
                "one-item requests run on a plan typed for exactly one item (faster at warm-up)"
            );
        }
        self
    }

    fn add_single_item_plan(
        &mut self,
        model: InferenceModel,
        declared: &[Declared],
        weights: usize,
        policy: SinglePolicy,
    ) -> SinglePlan {
        if self.spec.per_item
            || self.spec.fixed_rows.is_some()
            || !self.spec.is_batched()
            || self.warm_run < policy.worth
            || weights > policy.max_weights
        {
            return SinglePlan::NotTried;
        }
        let Ok(single) = Self::build(model, declared, |_| 1.to_dim(), None, true) else {
            return SinglePlan::NotTried;
        };
        let Ok((single_run, size)) = single.warm_up() else {
            return SinglePlan::NotTried;
        };
        if single_run.as_secs_f64() > self.warm_run.as_secs_f64() * policy.faster_by
            || !self.answers_like(&single, size)
        {
            return SinglePlan::Slower;
        }
        // Several items: one symbolic run of two against two single-item runs.
        let items_on_single = policy.items_on_single.unwrap_or_else(|| {
            match (self.fastest_run(2, size), single.fastest_run(1, size)) {
                (Some(both), Some(one)) => one * 2 < both,
                _ => false,
            }
        });
        let symbolic = self.warm_run;
        self.warm_run = single_run;
        self.single = Some(Box::new(single));
        self.items_on_single = items_on_single;
        SinglePlan::Kept {
            single: single_run,
            symbolic,
            items_on_single,
        }
    }

    /// The plan a batch of `rows` items runs on: the single-item plan when there is one and it
    /// serves that many, else this one.
    pub(super) fn plan_for(&self, rows: usize) -> Option<&OnnxModel> {
        let single = self.single.as_deref()?;
        // No items at all stay on the symbolic plan, which can run an empty batch.
        (rows == 1 || (rows > 1 && self.items_on_single)).then_some(single)
    }
}
