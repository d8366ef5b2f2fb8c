//! `ai.onnx.ml` TreeEnsemble (ml opset 5): nodes and leaves in separate lists, trees named by their
//! roots, modes as a uint8 tensor with MEMBER (set membership, its values NaN-separated in
//! `membership_values`). It becomes the same forest as the opset-3 regressor: a MEMBER node turns
//! into a chain of EQ nodes with the same true branch, as onnxruntime converts it.

use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

use super::attributes::{tensor_values, Attributes};
use super::ensemble::{Aggregate, Head};
use super::forest::Mode;
use super::score::Transform;

const MEMBER: u8 = 6;

fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    Ok(node.get_attr_opt_vec::<i64>(name)?.unwrap_or_default())
}

fn tensor(node: &NodeProto, name: &str) -> TractResult<Vec<f64>> {
    match node.get_attr_opt::<&TensorProto>(name)? {
        Some(t) => tensor_values(t).with_context(|| format!("attribute {name}")),
        None => Ok(vec![]),
    }
}

fn modes(node: &NodeProto) -> TractResult<Vec<u8>> {
    let Some(t) = node.get_attr_opt::<&TensorProto>("nodes_modes")? else {
        bail!("TreeEnsemble has no nodes_modes");
    };
    Ok(if t.raw_data.is_empty() {
        t.int32_data.iter().map(|m| *m as u8).collect()
    } else {
        t.raw_data.clone()
    })
}

/// The node's attributes in the opset-3 form, and its head.
pub fn read(node: &NodeProto) -> TractResult<(Attributes, Head)> {
    let modes = modes(node)?;
    let splits = tensor(node, "nodes_splits")?;
    let features = ints(node, "nodes_featureids")?;
    let true_ids = ints(node, "nodes_truenodeids")?;
    let false_ids = ints(node, "nodes_falsenodeids")?;
    let true_leafs = ints(node, "nodes_trueleafs")?;
    let false_leafs = ints(node, "nodes_falseleafs")?;
    let missing = ints(node, "nodes_missing_value_tracks_true")?;
    let leaf_targets = ints(node, "leaf_targetids")?;
    let leaf_weights = tensor(node, "leaf_weights")?;
    let roots = ints(node, "tree_roots")?;
    let members = tensor(node, "membership_values")?;
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
    if leaf_targets.len() != leaf_weights.len() {
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

    let mut a = Attributes::empty(
        Transform::from_v5(node.get_attr_opt::<i64>("post_transform")?.unwrap_or(0))
            .context("TreeEnsemble: unknown post_transform")?,
    );
    let leaf_id = |leaf: usize| (n + leaf) as i64;
    let mut next_id = (n + leaf_targets.len()) as i64;
    let index = |value: i64, len: usize, what: &str| -> TractResult<usize> {
        usize::try_from(value)
            .ok()
            .filter(|v| *v < len)
            .with_context(|| format!("TreeEnsemble: {what} {value} is out of range"))
    };
    for (tree, &root) in roots.iter().enumerate() {
        let tree = tree as i64;
        let root = index(root, n.max(1), "tree root")?;
        let degenerate =
            n > 0 && true_leafs[root] != 0 && false_leafs[root] != 0 && true_ids[root] == false_ids[root];
        // (is a leaf, index) pending, root first.
        let mut pending = vec![if degenerate {
            (true, true_ids[root])
        } else {
            (false, root as i64)
        }];
        while let Some((is_leaf, at)) = pending.pop() {
            if is_leaf {
                let leaf = index(at, leaf_targets.len(), "leaf")?;
                a.push_leaf(tree, leaf_id(leaf), leaf_targets[leaf], leaf_weights[leaf]);
                continue;
            }
            let at = index(at, n, "node")?;
            let target = |leaf: i64, id: i64| -> TractResult<i64> {
                Ok(if leaf != 0 {
                    leaf_id(index(id, leaf_targets.len(), "leaf")?)
                } else {
                    index(id, n, "node")? as i64
                })
            };
            let on_true = target(true_leafs[at], true_ids[at])?;
            let on_false = target(false_leafs[at], false_ids[at])?;
            let missing_true = missing.get(at).copied().unwrap_or(0);
            if modes[at] == MEMBER {
                // x in {v1..vk}: EQ v1 ? true : (EQ v2 ? true : ... : false).
                let set = &member_sets[at];
                let mut id = at as i64;
                for (k, value) in set.iter().enumerate() {
                    let next = if k + 1 == set.len() {
                        on_false
                    } else {
                        next_id += 1;
                        next_id - 1
                    };
                    let tracks = if k == 0 { missing_true } else { 0 };
                    a.push_branch(tree, id, features[at], Mode::Eq, *value, on_true, next, tracks);
                    id = next;
                }
                if set.is_empty() {
                    // An empty set holds for nothing: equality with NaN never does.
                    a.push_branch(
                        tree,
                        id,
                        features[at],
                        Mode::Eq,
                        f64::NAN,
                        on_true,
                        on_false,
                        missing_true,
                    );
                }
            } else {
                let mode = match modes[at] {
                    0 => Mode::Leq,
                    1 => Mode::Lt,
                    2 => Mode::Gte,
                    3 => Mode::Gt,
                    4 => Mode::Eq,
                    5 => Mode::Neq,
                    other => bail!("TreeEnsemble: unknown node mode {other}"),
                };
                a.push_branch(
                    tree,
                    at as i64,
                    features[at],
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
    let targets = node.get_attr_opt::<i64>("n_targets")?.unwrap_or(1).max(1) as usize;
    Ok((a, Head::Regressor { targets, aggregate }))
}
