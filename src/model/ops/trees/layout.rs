//! Laying out the listed trees (parallel lists, nodes named by ids) as a `Forest`: each tree from
//! its first listed node, depth first, false child first. A subtree reached from two branches (as
//! onnxruntime reads a node graph) is copied once per path, so the layout first refuses a cycle
//! and bounds the copies, before it allocates anything of the expanded size.

use std::collections::HashMap;

use super::attributes::Attributes;
use super::float::Float;
use super::forest::{Forest, Node, Vote};
use super::mode::Mode;

/// Nodes laid out per node the model lists, at most: copies of shared subtrees are bounded by the
/// model's own size (with `EXTRA_NODES` for small models), so memory at start follows the file.
pub const COPIES_PER_NODE: usize = 8;

/// Laid-out nodes allowed beyond `COPIES_PER_NODE` per listed node.
pub const EXTRA_NODES: usize = 4096;

/// The most nodes a forest holds whatever the model (its positions are `u32`).
pub const MAX_NODES: usize = (u32::MAX / 2) as usize;

/// The nodes a layout may hold for a model that lists `listed` nodes (leaves and set members
/// included).
pub fn node_limit(listed: usize) -> usize {
    listed
        .saturating_mul(COPIES_PER_NODE)
        .saturating_add(EXTRA_NODES)
        .min(MAX_NODES)
}

const NONE: usize = usize::MAX;

/// The forest of `a`; `targets` bounds the vote ids (classes or regression targets).
pub fn lay_out<T: Float>(a: &Attributes, targets: usize) -> Result<Forest<T>, String> {
    let n = a.node_ids.len();
    let lists = [
        ("nodes_treeids", a.tree_ids.len()),
        ("nodes_featureids", a.features.len()),
        ("nodes_modes", a.modes.len()),
        ("nodes_values", a.values.len()),
        ("nodes_truenodeids", a.true_ids.len()),
        ("nodes_falsenodeids", a.false_ids.len()),
    ];
    if let Some((name, len)) = lists.iter().find(|(_, len)| *len != n) {
        return Err(format!("{name} has {len} entries for {n} nodes"));
    }
    let votes = a.vote_ids.len();
    if a.vote_trees.len() != votes || a.vote_nodes.len() != votes || a.vote_weights.len() != votes {
        return Err("the vote lists (tree ids, node ids, ids, weights) differ in length".to_owned());
    }
    let mut position = HashMap::with_capacity(n);
    for at in 0..n {
        let id = (a.tree_ids[at], a.node_ids[at]);
        if position.insert(id, at).is_some() {
            return Err(format!("node {} of tree {} is listed twice", id.1, id.0));
        }
    }
    let name = |at: usize| format!("node {} of tree {}", a.node_ids[at], a.tree_ids[at]);
    // A leaf's votes in (tree, node, listing) order, as onnxruntime sorts them.
    let mut order: Vec<usize> = (0..votes).collect();
    order.sort_by_key(|&i| (a.vote_trees[i], a.vote_nodes[i], i));
    let mut votes_of: Vec<Vec<Vote<T>>> = vec![Vec::new(); n];
    for i in order {
        let (tree, node, target) = (a.vote_trees[i], a.vote_nodes[i], a.vote_ids[i]);
        let at = *position
            .get(&(tree, node))
            .ok_or_else(|| format!("a vote names node {node} of tree {tree}, which is not listed"))?;
        let target = u32::try_from(target)
            .ok()
            .filter(|t| (*t as usize) < targets)
            .ok_or_else(|| format!("a vote names target or class {target}; there are {targets}"))?;
        // Votes on branches are ignored, as onnxruntime does (old onnxmltools wrote them).
        if a.modes[at] == Mode::Leaf {
            votes_of[at].push(Vote {
                target,
                weight: T::from_f64(a.vote_weights[i]),
            });
        }
    }
    // Each branch's (false, true) children by position.
    let mut children = vec![(NONE, NONE); n];
    for (at, pair) in children.iter_mut().enumerate() {
        if a.modes[at] == Mode::Leaf {
            continue;
        }
        let child = |id: i64, which: &str| match position.get(&(a.tree_ids[at], id)) {
            Some(&to) if to != at => Ok(to),
            Some(_) => Err(format!("{} is its own {which} child", name(at))),
            None => Err(format!("the {which} child {id} of {} is not listed", name(at))),
        };
        *pair = (child(a.false_ids[at], "false")?, child(a.true_ids[at], "true")?);
    }
    // A new tree starts wherever the tree id changes, at the first node listed for it.
    let roots: Vec<usize> = (0..n)
        .filter(|&at| at == 0 || a.tree_ids[at] != a.tree_ids[at - 1])
        .collect();
    let limit = node_limit(a.listed);
    let expanded = sizes(&children, &roots, limit).map_err(|e| e.describe(&name, limit))?;

    let mut nodes = Vec::with_capacity(expanded);
    let mut laid_votes = Vec::with_capacity(votes.min(expanded));
    // Where a leaf's votes start once laid out: its copies share them.
    let mut vote_start = vec![NONE; n];
    let mut trees = Vec::with_capacity(roots.len());
    for &root in &roots {
        let start = nodes.len() as u32;
        let mut depth = 0;
        // Depth first: a branch, then its whole false subtree, then its true subtree, whose
        // position the branch records once it is known.
        let mut pending: Vec<(usize, Option<usize>, u32)> = vec![(root, None, 0)];
        while let Some((at, parent, level)) = pending.pop() {
            let here = nodes.len();
            if let Some(parent) = parent {
                let parent: &mut Node<T> = &mut nodes[parent];
                parent.jump = here as u32;
            }
            let missing_true = a.missing_true.get(at).is_some_and(|m| *m == 1);
            if a.modes[at] == Mode::Leaf {
                depth = depth.max(level);
                let leaf_votes = &votes_of[at];
                let first = leaf_votes
                    .first()
                    .ok_or_else(|| format!("leaf {} has no vote", name(at)))?;
                if vote_start[at] == NONE {
                    vote_start[at] = laid_votes.len();
                    laid_votes.extend_from_slice(leaf_votes);
                }
                nodes.push(Node {
                    value: first.weight,
                    feature: 0,
                    jump: vote_start[at] as u32,
                    mode: Mode::Leaf,
                    missing_true,
                    count: u16::try_from(leaf_votes.len())
                        .map_err(|_| format!("leaf {} has more than 65,535 votes", name(at)))?,
                });
                continue;
            }
            let feature = u32::try_from(a.features[at])
                .map_err(|_| format!("{} reads feature {}", name(at), a.features[at]))?;
            nodes.push(Node {
                value: T::from_f64(a.values[at]),
                feature,
                jump: 0,
                mode: a.modes[at],
                missing_true,
                count: 0,
            });
            let (on_false, on_true) = children[at];
            pending.push((on_true, Some(here), level + 1));
            pending.push((on_false, None, level + 1));
        }
        trees.push((start, depth));
    }
    Forest::new(nodes, laid_votes, &trees)
}

/// Why a listing cannot be laid out within its bound.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// A branch (`from`) has an ancestor as its child (`back_to`).
    Cycle { from: usize, back_to: usize },
    /// The subtree at this position alone, or the trees up to this root, exceed the limit.
    TooLarge(usize),
}

impl Refusal {
    fn describe(&self, name: &dyn Fn(usize) -> String, limit: usize) -> String {
        match *self {
            Refusal::Cycle { from, back_to } => format!(
                "{} leads back to its ancestor, {}: the trees have a cycle",
                name(from),
                name(back_to)
            ),
            Refusal::TooLarge(at) => format!(
                "{} expands to more than {limit} nodes once every shared subtree is copied for \
                 each path to it (the limit is {COPIES_PER_NODE} per node the model lists, plus \
                 {EXTRA_NODES})",
                name(at)
            ),
        }
    }
}

/// The number of nodes the trees from `roots` lay out, with every shared subtree copied per path;
/// refuses a cycle and more than `limit` nodes. Linear in the listing: each subtree is sized once.
fn sizes(children: &[(usize, usize)], roots: &[usize], limit: usize) -> Result<usize, Refusal> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; children.len()];
    let mut size = vec![0usize; children.len()];
    let mut total = 0usize;
    for &root in roots {
        let mut path = vec![root];
        state[root] = OPEN;
        while let Some(&at) = path.last() {
            let (on_false, on_true) = children[at];
            if on_false == NONE {
                size[at] = 1;
            } else if let Some(next) = [on_false, on_true].into_iter().find(|c| state[*c] != DONE) {
                if state[next] == OPEN {
                    return Err(Refusal::Cycle {
                        from: at,
                        back_to: next,
                    });
                }
                state[next] = OPEN;
                path.push(next);
                continue;
            } else {
                size[at] = 1 + size[on_false] + size[on_true];
            }
            // Each size is at most `limit` before the sum, so the sum cannot overflow.
            if size[at] > limit {
                return Err(Refusal::TooLarge(at));
            }
            state[at] = DONE;
            path.pop();
        }
        total += size[root];
        if total > limit {
            return Err(Refusal::TooLarge(root));
        }
    }
    Ok(total)
}
