//! `ai.onnx.ml` TreeEnsembleRegressor and TreeEnsembleClassifier (DecisionTree, RandomForest,
//! ExtraTrees, GradientBoosting, LightGBM, XGBoost, CatBoost), replacing tract's: answers as
//! onnxruntime computes them, including its binary-classifier rules, on a forest laid out for speed.

mod attributes;
mod ensemble;
mod float;
mod forest;
mod layout;
mod mode;
mod output;
mod transform;
mod v5;

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use attributes::Attributes;
use ensemble::{Aggregate, Ensemble, Head, MAX_TARGETS};
use float::Float;
pub(super) use transform::{logistic, probit, Transform};

/// The parsed node: a regressor or a classifier over its attributes.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    attributes: Arc<Attributes>,
    head: Head,
    labels: Option<Labels>,
    /// The scores take the input's type (ml opset 5) rather than float32.
    typed_like_input: bool,
}

/// `n_targets`, at least 1 and at most `MAX_TARGETS`.
fn targets(node: &NodeProto) -> TractResult<usize> {
    let targets = node.get_attr_opt::<i64>("n_targets")?.unwrap_or(1).max(1);
    usize::try_from(targets)
        .ok()
        .filter(|t| *t <= MAX_TARGETS)
        .with_context(|| format!("n_targets is {targets}; the limit is {MAX_TARGETS}"))
}

pub fn parse_regressor(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let attributes = Attributes::read(ctx, node, "target")?;
    let aggregate = node
        .get_attr_opt::<String>("aggregate_function")?
        .unwrap_or_else(|| "SUM".into());
    let head = Head::Regressor {
        targets: targets(node)?,
        aggregate: Aggregate::parse(&aggregate)
            .ok_or_else(|| format_err!("unknown aggregate_function {aggregate}"))?,
    };
    Ok((
        expand(TreeEnsemble {
            attributes: Arc::new(attributes),
            head,
            labels: None,
            typed_like_input: false,
        }),
        vec![],
    ))
}

pub fn parse_classifier(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let attributes = Attributes::read(ctx, node, "class")?;
    let labels = Labels::read(node, "classlabels_int64s")?;
    if labels.len() < 2 {
        bail!("a TreeEnsembleClassifier needs at least two class labels");
    }
    let distinct: std::collections::HashSet<i64> = attributes.vote_ids.iter().copied().collect();
    let head = Head::Classifier {
        classes: labels.len(),
        binary: labels.len() == 2 && distinct.len() == 1,
        all_positive: attributes.vote_weights.iter().all(|w| *w >= 0.0),
    };
    Ok((
        expand(TreeEnsemble {
            attributes: Arc::new(attributes),
            head,
            labels: Some(labels),
            typed_like_input: false,
        }),
        vec![],
    ))
}

pub fn parse_v5(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (attributes, head) = v5::read(ctx, node)?;
    Ok((
        expand(TreeEnsemble {
            attributes: Arc::new(attributes),
            head,
            labels: None,
            typed_like_input: true,
        }),
        vec![],
    ))
}

impl Expansion for TreeEnsemble {
    fn name(&self) -> StaticName {
        "TreeEnsemble".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(if self.labels.is_some() { 2 } else { 1 })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        let labels = self.labels.as_ref().map(Labels::datum_type);
        super::labels::output_rules(
            s,
            inputs,
            outputs,
            labels,
            self.head.width(),
            self.typed_like_input,
        )
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        if fact.rank() != 2 {
            bail!("a tree ensemble reads [rows, features], not {:?}", fact.shape);
        }
        // onnxruntime compares and sums in float64 for a float64 input, in float32 otherwise.
        let engine = if fact.datum_type == f64::datum_type() {
            Engine::F64(self.attributes.ensemble(self.head.clone())?)
        } else {
            Engine::F32(self.attributes.ensemble(self.head.clone())?)
        };
        let x = match engine {
            Engine::F64(_) => inputs[0],
            Engine::F32(_) => super::to_f32(model, format!("{prefix}.to_f32"), inputs[0])?,
        };
        let op = Trees {
            engine: Arc::new(engine),
            labels: self.labels.clone().map(Arc::new),
        };
        if self.typed_like_input && fact.datum_type != f32::datum_type() {
            let datum = fact.datum_type;
            let scores = model.wire_node(format!("{prefix}.trees"), op, &[x])?;
            return model.wire_node(prefix, tract_core::ops::cast::cast(datum), &scores);
        }
        model.wire_node(prefix, op, &[x])
    }
}

#[derive(Debug)]
enum Engine {
    F32(Ensemble<f32>),
    F64(Ensemble<f64>),
}

/// The typed op: scores (and labels) for every row.
#[derive(Debug, Clone)]
struct Trees {
    engine: Arc<Engine>,
    labels: Option<Arc<Labels>>,
}

super::op_by_identity!(Trees, engine, "TreeEnsemble");

impl Trees {
    fn evaluate<T: Float + Datum>(
        &self,
        ensemble: &Ensemble<T>,
        input: &Tensor,
    ) -> TractResult<TVec<TValue>> {
        let (rows, row_width) = (input.shape()[0], input.shape()[1]);
        // A forest of leaves only reads nothing: its max_feature is 0, and rows are never empty.
        if ensemble.forest.max_feature() >= row_width {
            bail!(
                "the trees read feature {} but rows have {row_width}",
                ensemble.forest.max_feature()
            );
        }
        let values = super::row_major::<T>(input)?;
        let width = ensemble.width();
        let mut scores = vec![0f32; rows * width];
        let mut classes = vec![0usize; if self.labels.is_some() { rows } else { 0 }];
        ensemble.run(&values, row_width, &mut scores, &mut classes);
        let scores = tract_ndarray::Array2::from_shape_vec((rows, width), scores)?.into_dyn();
        let scores = Tensor::from(scores).into_tvalue();
        let Some(labels) = &self.labels else {
            return Ok(tvec!(scores));
        };
        let labels = labels.tensor(&classes)?;
        Ok(tvec!(labels.into_tvalue(), scores))
    }
}

impl EvalOp for Trees {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        match &*self.engine {
            Engine::F32(ensemble) => self.evaluate(ensemble, &input),
            Engine::F64(ensemble) => self.evaluate(ensemble, &input),
        }
    }
}

impl TypedOp for Trees {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let rows = inputs[0].shape[0].clone();
        let width = match &*self.engine {
            Engine::F32(e) => e.width(),
            Engine::F64(e) => e.width(),
        };
        let scores = f32::fact([rows.clone(), width.to_dim()]);
        Ok(match &self.labels {
            None => tvec!(scores),
            Some(labels) => tvec!(labels.datum_type().fact([rows]), scores),
        })
    }

    as_op!();
}

#[cfg(test)]
mod tests;
