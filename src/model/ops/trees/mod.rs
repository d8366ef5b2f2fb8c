//! `ai.onnx.ml` TreeEnsembleRegressor and TreeEnsembleClassifier (DecisionTree, RandomForest,
//! ExtraTrees, GradientBoosting, LightGBM, XGBoost, CatBoost), replacing tract's: answers as
//! onnxruntime computes them, including its binary-classifier rules, on a forest laid out for speed.

mod ensemble;
mod forest;
mod score;
mod v5;

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use ensemble::{Aggregate, Ensemble, Head};
use forest::{Forest, Listing, Mode};
use score::Score;
pub(super) use score::{logistic, probit, Transform};

/// A float list attribute, from its float32 form or its `*_as_tensor` (float64) form.
fn floats(node: &NodeProto, name: &str) -> TractResult<Vec<f64>> {
    if let Some(tensor) = node.get_attr_opt::<&TensorProto>(&format!("{name}_as_tensor"))? {
        return tensor_values(tensor).with_context(|| format!("attribute {name}_as_tensor"));
    }
    Ok(node
        .get_attr_opt_vec::<f32>(name)?
        .unwrap_or_default()
        .into_iter()
        .map(f64::from)
        .collect())
}

fn tensor_values(tensor: &TensorProto) -> TractResult<Vec<f64>> {
    const FLOAT: i32 = 1;
    const DOUBLE: i32 = 11;
    match tensor.data_type {
        DOUBLE if !tensor.double_data.is_empty() => Ok(tensor.double_data.clone()),
        DOUBLE => Ok(tensor
            .raw_data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()),
        FLOAT if !tensor.float_data.is_empty() => {
            Ok(tensor.float_data.iter().map(|v| f64::from(*v)).collect())
        }
        FLOAT => Ok(tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
            .collect()),
        other => bail!("a float tensor was expected, found ONNX type {other}"),
    }
}

fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

/// The node's attributes, kept in float64 until the input type picks the forest's number type.
#[derive(Debug, Clone)]
struct Attributes {
    tree_ids: Vec<i64>,
    node_ids: Vec<i64>,
    features: Vec<i64>,
    modes: Vec<Mode>,
    values: Vec<f64>,
    true_ids: Vec<i64>,
    false_ids: Vec<i64>,
    missing_true: Vec<i64>,
    vote_trees: Vec<i64>,
    vote_nodes: Vec<i64>,
    vote_ids: Vec<i64>,
    vote_weights: Vec<f64>,
    base: Vec<f64>,
    transform: Transform,
}

impl Attributes {
    /// `votes` is the prefix of the vote attributes: `target` (regressor) or `class`.
    fn read(node: &NodeProto, votes: &str) -> TractResult<Self> {
        let modes = node
            .get_attr_opt_vec::<String>("nodes_modes")?
            .unwrap_or_default()
            .iter()
            .map(|m| Mode::parse(m).ok_or_else(|| format_err!("unknown node mode {m}")))
            .collect::<TractResult<Vec<_>>>()?;
        let transform = node
            .get_attr_opt::<String>("post_transform")?
            .unwrap_or_else(|| "NONE".into());
        let ids = if votes == "target" {
            "target_ids"
        } else {
            "class_ids"
        };
        Ok(Attributes {
            tree_ids: ints(node, "nodes_treeids")?,
            node_ids: ints(node, "nodes_nodeids")?,
            features: ints(node, "nodes_featureids")?,
            modes,
            values: floats(node, "nodes_values")?,
            true_ids: ints(node, "nodes_truenodeids")?,
            false_ids: ints(node, "nodes_falsenodeids")?,
            missing_true: ints(node, "nodes_missing_value_tracks_true")?,
            vote_trees: ints(node, &format!("{votes}_treeids"))?,
            vote_nodes: ints(node, &format!("{votes}_nodeids"))?,
            vote_ids: ints(node, ids)?,
            vote_weights: floats(node, &format!("{votes}_weights"))?,
            base: floats(node, "base_values")?,
            transform: Transform::parse(&transform)
                .ok_or_else(|| format_err!("unknown post_transform {transform}"))?,
        })
    }

    /// No nodes yet (the ml-opset-5 form fills them in).
    fn empty(transform: Transform) -> Self {
        Attributes {
            tree_ids: vec![],
            node_ids: vec![],
            features: vec![],
            modes: vec![],
            values: vec![],
            true_ids: vec![],
            false_ids: vec![],
            missing_true: vec![],
            vote_trees: vec![],
            vote_nodes: vec![],
            vote_ids: vec![],
            vote_weights: vec![],
            base: vec![],
            transform,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_branch(
        &mut self,
        tree: i64,
        node: i64,
        feature: i64,
        mode: Mode,
        value: f64,
        on_true: i64,
        on_false: i64,
        missing_true: i64,
    ) {
        self.tree_ids.push(tree);
        self.node_ids.push(node);
        self.features.push(feature);
        self.modes.push(mode);
        self.values.push(value);
        self.true_ids.push(on_true);
        self.false_ids.push(on_false);
        self.missing_true.push(missing_true);
    }

    fn push_leaf(&mut self, tree: i64, node: i64, target: i64, weight: f64) {
        self.push_branch(tree, node, 0, Mode::Leaf, 0.0, 0, 0, 0);
        self.vote_trees.push(tree);
        self.vote_nodes.push(node);
        self.vote_ids.push(target);
        self.vote_weights.push(weight);
    }

    fn ensemble<T: Score>(&self, head: Head) -> TractResult<Ensemble<T>> {
        let n = self.vote_ids.len();
        if self.vote_trees.len() != n || self.vote_nodes.len() != n || self.vote_weights.len() != n {
            bail!("the vote lists (tree ids, node ids, ids, weights) differ in length");
        }
        let listing = Listing {
            tree_ids: self.tree_ids.clone(),
            node_ids: self.node_ids.clone(),
            features: self.features.clone(),
            modes: self.modes.clone(),
            values: self.values.iter().map(|v| T::from_f64(*v)).collect(),
            true_ids: self.true_ids.clone(),
            false_ids: self.false_ids.clone(),
            missing_true: self.missing_true.clone(),
            votes: (0..n)
                .map(|i| {
                    (
                        self.vote_trees[i],
                        self.vote_nodes[i],
                        self.vote_ids[i],
                        T::from_f64(self.vote_weights[i]),
                    )
                })
                .collect(),
        };
        let targets = match head {
            Head::Regressor { targets, .. } => targets,
            Head::Classifier { classes, .. } => classes,
        };
        let forest = Forest::build(listing, targets).map_err(|e| format_err!("{e}"))?;
        Ok(Ensemble {
            forest,
            head,
            base: self.base.iter().map(|v| T::from_f64(*v)).collect(),
            transform: self.transform,
        })
    }
}

/// The parsed node: a regressor or a classifier over its attributes.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    attributes: Arc<Attributes>,
    head: Head,
    labels: Option<Labels>,
    /// The scores take the input's type (ml opset 5) rather than float32.
    typed_like_input: bool,
}

pub fn parse_regressor(
    _: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let attributes = Attributes::read(node, "target")?;
    let aggregate = node
        .get_attr_opt::<String>("aggregate_function")?
        .unwrap_or_else(|| "SUM".into());
    let head = Head::Regressor {
        targets: node.get_attr_opt::<i64>("n_targets")?.unwrap_or(1).max(1) as usize,
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
    _: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let attributes = Attributes::read(node, "class")?;
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

pub fn parse_v5(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (attributes, head) = v5::read(node)?;
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
        super::labels::output_rules(s, inputs, outputs, labels, self.width(), self.typed_like_input)
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

impl TreeEnsemble {
    fn width(&self) -> usize {
        match self.head {
            Head::Regressor { targets, .. } => targets,
            Head::Classifier { classes, .. } => classes,
        }
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
    fn evaluate<T: Score + Datum>(
        &self,
        ensemble: &Ensemble<T>,
        input: &Tensor,
    ) -> TractResult<TVec<TValue>> {
        let (rows, row_width) = (input.shape()[0], input.shape()[1]);
        // A forest of leaves only reads nothing: its max_feature is 0, and rows are never empty.
        if ensemble.forest.max_feature >= row_width {
            bail!(
                "the trees read feature {} but rows have {row_width}",
                ensemble.forest.max_feature
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
