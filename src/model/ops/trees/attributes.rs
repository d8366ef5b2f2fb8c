//! A tree ensemble's ONNX attributes, kept in float64 until the input type picks the forest's
//! number type, and turned into the forest and its head.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::super::attribute::{self, ints};
use super::ensemble::{Ensemble, Head};
use super::float::Float;
use super::layout::lay_out;
use super::mode::Mode;
use super::transform::Transform;

/// A float list attribute, from its float32 form or its `*_as_tensor` (float64) form.
fn floats(ctx: &ParsingContext, node: &NodeProto, name: &str) -> TractResult<Vec<f64>> {
    if let Some(values) = attribute::floats(ctx, node, &format!("{name}_as_tensor"))? {
        return Ok(values);
    }
    Ok(node
        .get_attr_opt_vec::<f32>(name)?
        .unwrap_or_default()
        .into_iter()
        .map(f64::from)
        .collect())
}

/// The node's attributes, kept in float64 until the input type picks the forest's number type.
#[derive(Debug, Clone)]
pub(super) struct Attributes {
    pub(super) tree_ids: Vec<i64>,
    pub(super) node_ids: Vec<i64>,
    pub(super) features: Vec<i64>,
    pub(super) modes: Vec<Mode>,
    pub(super) values: Vec<f64>,
    pub(super) true_ids: Vec<i64>,
    pub(super) false_ids: Vec<i64>,
    pub(super) missing_true: Vec<i64>,
    pub(super) vote_trees: Vec<i64>,
    pub(super) vote_nodes: Vec<i64>,
    pub(super) vote_ids: Vec<i64>,
    pub(super) vote_weights: Vec<f64>,
    pub(super) base: Vec<f64>,
    pub(super) transform: Transform,
    /// The nodes the model lists (leaves and set members included): the layout's bound grows
    /// with it.
    pub(super) listed: usize,
}

impl Attributes {
    /// `votes` is the prefix of the vote attributes: `target` (regressor) or `class`.
    pub(super) fn read(ctx: &ParsingContext, node: &NodeProto, votes: &str) -> TractResult<Self> {
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
            listed: modes.len(),
            tree_ids: ints(node, "nodes_treeids")?,
            node_ids: ints(node, "nodes_nodeids")?,
            features: ints(node, "nodes_featureids")?,
            modes,
            values: floats(ctx, node, "nodes_values")?,
            true_ids: ints(node, "nodes_truenodeids")?,
            false_ids: ints(node, "nodes_falsenodeids")?,
            missing_true: ints(node, "nodes_missing_value_tracks_true")?,
            vote_trees: ints(node, &format!("{votes}_treeids"))?,
            vote_nodes: ints(node, &format!("{votes}_nodeids"))?,
            vote_ids: ints(node, ids)?,
            vote_weights: floats(ctx, node, &format!("{votes}_weights"))?,
            base: floats(ctx, node, "base_values")?,
            transform: Transform::parse(&transform)
                .ok_or_else(|| format_err!("unknown post_transform {transform}"))?,
        })
    }

    /// No nodes yet (the ml-opset-5 form fills them in), for a model listing `listed` nodes.
    pub(super) fn empty(transform: Transform, listed: usize) -> Self {
        Attributes {
            listed,
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
    pub(super) fn push_branch(
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

    pub(super) fn push_leaf(&mut self, tree: i64, node: i64, target: i64, weight: f64) {
        self.push_branch(tree, node, 0, Mode::Leaf, 0.0, 0, 0, 0);
        self.vote_trees.push(tree);
        self.vote_nodes.push(node);
        self.vote_ids.push(target);
        self.vote_weights.push(weight);
    }

    /// The forest and its head, in the number type `T`.
    pub(super) fn ensemble<T: Float>(&self, head: Head) -> TractResult<Ensemble<T>> {
        let forest = lay_out(self, head.width()).map_err(|e| format_err!("{e}"))?;
        Ok(Ensemble {
            forest,
            head,
            base: self.base.iter().map(|v| T::from_f64(*v)).collect(),
            transform: self.transform,
        })
    }
}
