//! The forest laid out for speed: every tree's nodes in one flat array, each tree in depth-first
//! order with the false child right after its parent (so a node stores one jump, and the common
//! path reads memory forwards), a leaf's first vote inline, and one traversal loop specialised
//! per node mode, as onnxruntime does.

use std::collections::HashMap;

use super::score::Score;

/// How a node compares a feature with its threshold (ONNX `nodes_modes`), or that it is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    Leq = 0,
    Lt = 1,
    Gte = 2,
    Gt = 3,
    Eq = 4,
    Neq = 5,
    Leaf = 7,
}

impl Mode {
    pub fn parse(name: &str) -> Option<Mode> {
        Some(match name {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            "LEAF" => Mode::Leaf,
            _ => return None,
        })
    }
}

/// One node. A branch goes to `at + 1` when its test fails and to `jump` when it holds; a leaf
/// holds its votes at `votes[jump..jump + count]` and its first vote's weight in `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node<T> {
    pub value: T,
    /// The feature a branch reads (0 for a leaf, so that reading it is always in bounds).
    pub feature: u32,
    pub jump: u32,
    pub mode: Mode,
    /// A missing value (NaN) takes the true branch.
    pub missing_true: bool,
    /// A leaf's number of votes.
    pub count: u16,
}

/// One (target or class, weight) vote of a leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vote<T> {
    pub target: u32,
    pub weight: T,
}

/// The nodes and votes of an ensemble as ONNX lists them (parallel lists, ids not positions).
#[derive(Debug, Default)]
pub struct Listing<T> {
    pub tree_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub features: Vec<i64>,
    pub modes: Vec<Mode>,
    pub values: Vec<T>,
    pub true_ids: Vec<i64>,
    pub false_ids: Vec<i64>,
    pub missing_true: Vec<i64>,
    /// Votes: (tree id, node id, target or class id, weight).
    pub votes: Vec<(i64, i64, i64, T)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forest<T> {
    pub nodes: Vec<Node<T>>,
    pub votes: Vec<Vote<T>>,
    /// Where each tree starts in `nodes`, in the order onnxruntime sums them.
    pub roots: Vec<u32>,
    /// Each tree's depth: the most branches on a path from its root to a leaf.
    pub depths: Vec<u32>,
    /// The one mode of every branch, when they share one (the specialised loop then runs).
    pub same_mode: Option<Mode>,
    pub has_missing: bool,
    /// The largest feature index a branch reads: rows must be wider than it.
    pub max_feature: usize,
}

impl<T: Score> Forest<T> {
    /// Lays out the listed trees. `targets` bounds the vote ids (classes or regression targets).
    pub fn build(listing: Listing<T>, targets: usize) -> Result<Self, String> {
        let n = listing.node_ids.len();
        let lists = [
            ("nodes_treeids", listing.tree_ids.len()),
            ("nodes_featureids", listing.features.len()),
            ("nodes_modes", listing.modes.len()),
            ("nodes_values", listing.values.len()),
            ("nodes_truenodeids", listing.true_ids.len()),
            ("nodes_falsenodeids", listing.false_ids.len()),
        ];
        if let Some((name, len)) = lists.iter().find(|(_, len)| *len != n) {
            return Err(format!("{name} has {len} entries for {n} nodes"));
        }
        let mut position = HashMap::with_capacity(n);
        for at in 0..n {
            let id = (listing.tree_ids[at], listing.node_ids[at]);
            if position.insert(id, at).is_some() {
                return Err(format!("node {} of tree {} is listed twice", id.1, id.0));
            }
        }
        // A leaf's votes in (tree, node, listing) order, as onnxruntime sorts them.
        let mut order: Vec<usize> = (0..listing.votes.len()).collect();
        order.sort_by_key(|&i| (listing.votes[i].0, listing.votes[i].1, i));
        let mut votes_of: Vec<Vec<Vote<T>>> = vec![Vec::new(); n];
        for i in order {
            let (tree, node, target, weight) = listing.votes[i];
            let at = *position
                .get(&(tree, node))
                .ok_or_else(|| format!("a vote names node {node} of tree {tree}, which is not listed"))?;
            let target = usize::try_from(target)
                .ok()
                .filter(|t| *t < targets)
                .ok_or_else(|| format!("a vote names target or class {target}; there are {targets}"))?;
            // Votes on branches are ignored, as onnxruntime does (old onnxmltools wrote them).
            if listing.modes[at] == Mode::Leaf {
                votes_of[at].push(Vote {
                    target: target as u32,
                    weight,
                });
            }
        }
        let child = |at: usize, id: i64, which: &str| -> Result<usize, String> {
            let tree = listing.tree_ids[at];
            match position.get(&(tree, id)) {
                Some(&to) if to != at => Ok(to),
                Some(_) => Err(format!(
                    "node {} of tree {tree} is its own {which} child",
                    listing.node_ids[at]
                )),
                None => Err(format!(
                    "the {which} child {id} of node {} of tree {tree} is not listed",
                    listing.node_ids[at]
                )),
            }
        };

        let mut forest = Forest {
            nodes: Vec::with_capacity(n),
            votes: Vec::with_capacity(listing.votes.len()),
            roots: Vec::new(),
            depths: Vec::new(),
            same_mode: None,
            has_missing: listing.missing_true.iter().any(|m| *m != 0),
            max_feature: 0,
        };
        // A subtree reached from two branches (the EQ chain of an opset-5 MEMBER node) is laid
        // out once per path; a cycle would grow without end, so the layout is bounded.
        let limit = n.saturating_mul(8).saturating_add(4096);
        let mut modes = std::collections::HashSet::new();
        // A new tree starts wherever the tree id changes, at the first node listed for it.
        for start in 0..n {
            if start > 0 && listing.tree_ids[start] == listing.tree_ids[start - 1] {
                continue;
            }
            forest.roots.push(forest.nodes.len() as u32);
            let mut depth = 0;
            // Depth first: a branch, then its whole false subtree, then its true subtree, whose
            // position the branch records once it is known.
            let mut pending: Vec<(usize, Option<usize>, u32)> = vec![(start, None, 0)];
            while let Some((at, parent, level)) = pending.pop() {
                if forest.nodes.len() >= limit {
                    return Err(format!(
                        "tree {} has a cycle (node {} leads back to itself) or shares too many subtrees",
                        listing.tree_ids[at], listing.node_ids[at]
                    ));
                }
                let here = forest.nodes.len();
                if let Some(parent) = parent {
                    forest.nodes[parent].jump = here as u32;
                }
                let mode = listing.modes[at];
                let missing_true = listing.missing_true.get(at).is_some_and(|m| *m == 1);
                if mode == Mode::Leaf {
                    depth = depth.max(level);
                    let votes = &votes_of[at];
                    let first = votes.first().ok_or_else(|| {
                        format!(
                            "leaf {} of tree {} has no vote",
                            listing.node_ids[at], listing.tree_ids[at]
                        )
                    })?;
                    forest.nodes.push(Node {
                        value: first.weight,
                        feature: 0,
                        jump: forest.votes.len() as u32,
                        mode,
                        missing_true,
                        count: u16::try_from(votes.len()).map_err(|_| "a leaf has more than 65,535 votes")?,
                    });
                    forest.votes.extend_from_slice(votes);
                    continue;
                }
                let feature = usize::try_from(listing.features[at])
                    .map_err(|_| format!("feature {} is negative", listing.features[at]))?;
                forest.max_feature = forest.max_feature.max(feature);
                modes.insert(mode);
                forest.nodes.push(Node {
                    value: listing.values[at],
                    feature: feature as u32,
                    jump: 0,
                    mode,
                    missing_true,
                    count: 0,
                });
                let on_true = child(at, listing.true_ids[at], "true")?;
                let on_false = child(at, listing.false_ids[at], "false")?;
                pending.push((on_true, Some(here), level + 1));
                pending.push((on_false, None, level + 1));
            }
            forest.depths.push(depth);
        }
        if forest.nodes.len() > u32::MAX as usize / 2 {
            return Err("the ensemble has too many nodes".to_owned());
        }
        if modes.len() == 1 {
            forest.same_mode = modes.into_iter().next();
        }
        Ok(forest)
    }

    /// One level down for `row` from the node at `at`; a leaf stays where it is. Without a
    /// branch, so that several rows can walk one tree side by side.
    #[inline(always)]
    pub fn step<M: Test, const MISSING: bool>(&self, at: usize, row: &[T]) -> usize {
        debug_assert!(at < self.nodes.len() && self.max_feature < row.len());
        // SAFETY: `at` starts at a root and moves only to a branch's children, which `build`
        // places inside `nodes` (the false child right after it, the true one at `jump`), or
        // stays on a leaf; a branch reads at most `max_feature` and a leaf feature 0, and
        // `Ensemble::run` checks that rows are wider than `max_feature`. This loop is the
        // engine's hottest; the bounds checks cost about a tenth of it.
        let node = unsafe { self.nodes.get_unchecked(at) };
        let x = unsafe { *row.get_unchecked(node.feature as usize) };
        let holds = M::holds(node.mode, x, node.value) | (MISSING & node.missing_true & x.is_nan());
        // Integer masks rather than `if`: the compiler keeps them branch-free (with `if` it emits
        // jumps on the float comparison, which the data makes unpredictable).
        let on_true = usize::from(holds).wrapping_neg();
        let is_branch = usize::from(node.mode != Mode::Leaf).wrapping_neg();
        let beyond_false = (node.jump as usize).wrapping_sub(at + 1);
        let down = 1usize.wrapping_add(beyond_false & on_true);
        at.wrapping_add(down & is_branch)
    }

    /// The leaf that `row` reaches from the root at `at`.
    #[inline(always)]
    pub fn leaf<M: Test, const MISSING: bool>(&self, mut at: usize, row: &[T]) -> &Node<T> {
        loop {
            let node = &self.nodes[at];
            if node.mode == Mode::Leaf {
                return node;
            }
            let x = row[node.feature as usize];
            // Bitwise, not short-circuit: no branch to mispredict, the choice below becomes a
            // conditional move.
            let holds = M::holds(node.mode, x, node.value) | (MISSING & node.missing_true & x.is_nan());
            at = if holds { node.jump as usize } else { at + 1 };
        }
    }
}

/// A node test, chosen at compile time so that a forest of one mode runs a loop without a match.
pub trait Test {
    fn holds<T: Score>(mode: Mode, x: T, threshold: T) -> bool;
}

macro_rules! tests {
    ($($name:ident: $x:ident, $t:ident => $holds:expr;)*) => {$(
        pub struct $name;
        impl Test for $name {
            #[inline(always)]
            fn holds<T: Score>(_: Mode, $x: T, $t: T) -> bool {
                $holds
            }
        }
    )*};
}

tests! {
    Leq: x, t => x <= t;
    Lt: x, t => x < t;
    Gte: x, t => x >= t;
    Gt: x, t => x > t;
    Equal: x, t => x == t;
    NotEqual: x, t => x != t;
}

/// Any mode, read from the node.
pub struct Mixed;

impl Test for Mixed {
    #[inline(always)]
    fn holds<T: Score>(mode: Mode, x: T, t: T) -> bool {
        match mode {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
            Mode::Leaf => false,
        }
    }
}
