//! `ai.onnx.ml` TreeEnsemble (ml opset 5): nodes and leaves in separate lists, trees named by their
//! roots, modes as a uint8 tensor with MEMBER (set membership, its values NaN-separated in
//! `membership_values`). It becomes the same listing as the opset-3 regressor: a MEMBER node turns
//! into a chain of EQ nodes with the same true branch, as onnxruntime converts it. Each tree lists
//! every node it reaches once (node ids are node indices, leaves follow the nodes); the layout
//! then refuses a cycle and bounds the copies of shared subtrees.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::super::attribute::{self, ints};
use super::attributes::Attributes;
use super::ensemble::{Aggregate, Head};
use super::layout::node_limit;
use super::mode::Mode;
use super::transform::Transform;

const MEMBER: i64 = 6;

fn tensor(ctx: &ParsingContext, node: &NodeProto, name: &str) -> TractResult<Vec<f64>> {
    Ok(attribute::floats(ctx, node, name)?.unwrap_or_default())
}

/// The node's attributes in the opset-3 form, and its head.
pub fn read(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Attributes, Head)> {
    let modes = match attribute::tensor(ctx, node, "nodes_modes")? {
        Some(modes) => attribute::values::<i64>(&modes)?,
        None => bail!("TreeEnsemble has no nodes_modes"),
    };
    let splits = tensor(ctx, node, "nodes_splits")?;
    let features = ints(node, "nodes_featureids")?;
    let true_ids = ints(node, "nodes_truenodeids")?;
    let false_ids = ints(node, "nodes_falsenodeids")?;
    let true_leafs = ints(node, "nodes_trueleafs")?;
    let false_leafs = ints(node, "nodes_falseleafs")?;
    let missing = ints(node, "nodes_missing_value_tracks_true")?;
    let leaf_targets = ints(node, "leaf_targetids")?;
    let leaf_weights = tensor(ctx, node, "leaf_weights")?;
    let roots = ints(node, "tree_roots")?;
    let members = tensor(ctx, node, "membership_values")?;
    let n = modes.len();
    for (name, len) in [
        ("nodes_splits", splits.len()),
        ("nodes_featureids", features.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_trueleafs", true_leafs.len()),
        ("nodes_falseleafs", false_leafs.len()),
    ] {
        if len != n {
            bail!("TreeEnsemble: {name} has {len} entries for {n} nodes");
        }
    }
    let leaves = leaf_targets.len();
    if leaf_weights.len() != leaves {
        bail!("TreeEnsemble: leaf_targetids and leaf_weights differ in length");
    }
    // Each MEMBER node's set, in node order.
    let mut sets = members.split(|v| v.is_nan()).map(<[f64]>::to_vec);
    let mut member_sets = vec![Vec::new(); n];
    for (at, mode) in modes.iter().enumerate() {
        if *mode == MEMBER {
            member_sets[at] = sets
                .next()
                .context("TreeEnsemble: fewer membership sets than MEMBER nodes")?;
        }
    }

    // Trees may share nodes, so the listing is bounded as the layout is: by the model's size.
    let limit = node_limit(n + leaves + members.len());
    let mut a = Attributes::empty(
        Transform::from_v5(node.get_attr_opt::<i64>("post_transform")?.unwrap_or(0))
            .context("TreeEnsemble: unknown post_transform")?,
        n + leaves + members.len(),
    );
    let leaf_id = |leaf: usize| (n + leaf) as i64;
    let mut next_id = (n + leaves) as i64;
    let index = |value: i64, len: usize, what: &str| -> TractResult<usize> {
        usize::try_from(value)
            .ok()
            .filter(|v| *v < len)
            .with_context(|| format!("TreeEnsemble: {what} {value} is out of range"))
    };
    // The tree (plus one) that last listed each node and leaf: each tree lists them once.
    let mut listed_by = vec![0usize; n + leaves];
    for (tree, &root) in roots.iter().enumerate() {
        let root = index(root, n.max(1), "tree root")?;
        let degenerate =
            n > 0 && true_leafs[root] != 0 && false_leafs[root] != 0 && true_ids[root] == false_ids[root];
        // (is a leaf, index) pending, root first.
        let mut pending = vec![if degenerate {
            (true, true_ids[root])
        } else {
            (false, root as i64)
        }];
        let tree = tree as i64;
        while let Some((is_leaf, at)) = pending.pop() {
            let at = if is_leaf {
                n + index(at, leaves, "leaf")?
            } else {
                index(at, n, "node")?
            };
            if std::mem::replace(&mut listed_by[at], tree as usize + 1) == tree as usize + 1 {
                continue;
            }
            if a.node_ids.len() >= limit {
                let what = if is_leaf { "leaf" } else { "node" };
                bail!(
                    "TreeEnsemble: the trees list more than {limit} nodes in all (tree {tree} reaches \
                     {what} {}), the layout's limit for a model of {} nodes, leaves and set members",
                    if is_leaf { at - n } else { at },
                    n + leaves + members.len()
                );
            }
            if is_leaf {
                a.push_leaf(tree, leaf_id(at - n), leaf_targets[at - n], leaf_weights[at - n]);
                continue;
            }
            let target = |leaf: i64, id: i64| -> TractResult<i64> {
                Ok(if leaf != 0 {
                    leaf_id(index(id, leaves, "leaf")?)
                } else {
                    index(id, n, "node")? as i64
                })
            };
            let on_true = target(true_leafs[at], true_ids[at])?;
            let on_false = target(false_leafs[at], false_ids[at])?;
            let missing_true = missing.get(at).copied().unwrap_or(0);
            let feature = features[at];
            if modes[at] == MEMBER {
                // x in {v1..vk}: EQ v1 ? true : (EQ v2 ? true : ... : false). An empty set holds
                // for nothing: equality with NaN never does.
                let set = &member_sets[at];
                let values = if set.is_empty() { &[f64::NAN][..] } else { set };
                let mut id = at as i64;
                for (k, value) in values.iter().enumerate() {
                    let next = if k + 1 == values.len() {
                        on_false
                    } else {
                        next_id += 1;
                        next_id - 1
                    };
                    let tracks = if k == 0 { missing_true } else { 0 };
                    a.push_branch(tree, id, feature, Mode::Eq, *value, on_true, next, tracks);
                    id = next;
                }
            } else {
                let mode = Mode::from_v5(modes[at])
                    .with_context(|| format!("TreeEnsemble: unknown node mode {}", modes[at]))?;
                a.push_branch(
                    tree,
                    at as i64,
                    feature,
                    mode,
                    splits[at],
                    on_true,
                    on_false,
                    missing_true,
                );
            }
            pending.push((true_leafs[at] != 0, true_ids[at]));
            pending.push((false_leafs[at] != 0, false_ids[at]));
        }
    }
    let aggregate = match node.get_attr_opt::<i64>("aggregate_function")?.unwrap_or(1) {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        other => bail!("TreeEnsemble: unknown aggregate_function {other}"),
    };
    let targets = super::targets(node)?;
    Ok((a, Head::Regressor { targets, aggregate }))
}

#[cfg(test)]
mod tests;
