//! The forest laid out for speed, and its traversal: every tree's nodes in one flat array, each
//! tree in depth-first order with the false child right after its parent (so a node stores one
//! jump, and the common path reads memory forwards), a leaf's first vote inline, and one
//! traversal loop specialised per node mode, as onnxruntime does. The traversal reads without
//! bounds checks; `Forest::new` checks, once, every fact that makes those reads sound, and the
//! fields are private so that nothing changes them afterwards.

use std::collections::HashSet;

use super::float::Float;
use super::mode::{Compare, Fixed, Mixed, Mode};

/// Rows that walk a tree side by side.
const LANES: usize = 8;

/// One node. A branch goes to `at + 1` when its test fails and to `jump` when it holds; a leaf
/// holds its votes at `votes[jump..jump + count]` and its first vote's weight in `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node<T> {
    pub value: T,
    /// The feature a branch reads (0 for a leaf, which reads it too: the walk has no branch).
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

/// Checked by `new`: every root is a node; a branch's children (`at + 1` and `jump`) are nodes
/// after it (`jump > at`); a leaf's votes are in `votes`; each tree's depth is its deepest leaf's;
/// every node's feature is at most `max_feature`.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest<T> {
    nodes: Vec<Node<T>>,
    votes: Vec<Vote<T>>,
    /// Where each tree starts in `nodes`, in the order onnxruntime sums them.
    roots: Vec<u32>,
    /// Each tree's depth: the most branches on a path from its root to a leaf.
    depths: Vec<u32>,
    /// The one mode of every branch, when they share one (the specialised loop then runs).
    same_mode: Option<Mode>,
    has_missing: bool,
    /// The largest feature index a node reads: rows must be wider than it.
    max_feature: usize,
}

impl<T: Float> Forest<T> {
    /// A forest of `trees` (root, depth) over `nodes`, once the traversal's invariant holds.
    pub fn new(nodes: Vec<Node<T>>, votes: Vec<Vote<T>>, trees: &[(u32, u32)]) -> Result<Self, String> {
        if u32::try_from(nodes.len()).is_err() || u32::try_from(votes.len()).is_err() {
            return Err("the ensemble has too many nodes".to_owned());
        }
        let mut modes = HashSet::new();
        for (at, node) in nodes.iter().enumerate() {
            let jump = node.jump as usize;
            if node.mode == Mode::Leaf {
                // Checked: `jump + count` wraps past `usize::MAX` on a 32-bit target.
                let end = jump.checked_add(usize::from(node.count));
                if end.is_none_or(|end| end > votes.len()) {
                    return Err(format!("node {at} of the layout has votes outside it"));
                }
                continue;
            }
            modes.insert(node.mode);
            // Both children after their parent: every step of a walk moves forwards, so the
            // checked walk ends and each node's depth follows from its children's (`depths`).
            if jump <= at {
                return Err(format!("node {at} of the layout jumps back to node {jump}"));
            }
            // The false child `at + 1` is at most `jump`: both are in the layout.
            if jump >= nodes.len() {
                return Err(format!("node {at} of the layout has children outside it"));
            }
        }
        if let Some((root, _)) = trees.iter().find(|(root, _)| *root as usize >= nodes.len()) {
            return Err(format!("a tree's root {root} is outside the layout"));
        }
        // A walk takes as many steps as its tree is deep: fewer would stop rows at a branch.
        let depths = depths(&nodes);
        for &(root, given) in trees {
            let depth = depths[root as usize];
            if given != depth {
                return Err(format!(
                    "the tree at {root} is {depth} branches deep, not {given}"
                ));
            }
        }
        let max_feature = nodes.iter().map(|n| n.feature as usize).max().unwrap_or(0);
        Ok(Forest {
            has_missing: nodes.iter().any(|n| n.missing_true),
            same_mode: if modes.len() == 1 {
                modes.into_iter().next()
            } else {
                None
            },
            roots: trees.iter().map(|t| t.0).collect(),
            depths: trees.iter().map(|t| t.1).collect(),
            nodes,
            votes,
            max_feature,
        })
    }

    /// The number of trees.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// The largest feature index the trees read: rows must be wider than it.
    pub fn max_feature(&self) -> usize {
        self.max_feature
    }

    /// The mode every branch shares, if they share one.
    #[cfg(test)]
    pub fn same_mode(&self) -> Option<Mode> {
        self.same_mode
    }

    #[cfg(test)]
    pub fn nodes(&self) -> &[Node<T>] {
        &self.nodes
    }

    /// A leaf's votes.
    pub fn votes(&self, leaf: &Node<T>) -> &[Vote<T>] {
        let first = leaf.jump as usize;
        &self.votes[first..first + usize::from(leaf.count)]
    }

    /// Calls `visit(row, leaf)` for every tree (outer loop) and row of the block (inner loop),
    /// with the traversal loop specialised for the forest's node mode and missing values.
    ///
    /// # Panics
    /// When rows are not wider than `max_feature()`: callers refuse such input first.
    pub fn walk<F: FnMut(usize, &Node<T>)>(&self, block: &[T], row_width: usize, visit: F) {
        // The guard of the unchecked reads below: every feature a node reads is in the row.
        assert!(
            row_width > self.max_feature,
            "rows of {row_width} features for trees that read feature {}",
            self.max_feature
        );
        const LEQ: u8 = Mode::Leq as u8;
        const LT: u8 = Mode::Lt as u8;
        match (self.same_mode, self.has_missing) {
            (Some(Mode::Leq), false) => self.each::<Fixed<LEQ>, false, F>(block, row_width, visit),
            (Some(Mode::Leq), true) => self.each::<Fixed<LEQ>, true, F>(block, row_width, visit),
            (Some(Mode::Lt), false) => self.each::<Fixed<LT>, false, F>(block, row_width, visit),
            (Some(Mode::Lt), true) => self.each::<Fixed<LT>, true, F>(block, row_width, visit),
            (Some(Mode::Gte), _) => self.each::<Fixed<{ Mode::Gte as u8 }>, true, F>(block, row_width, visit),
            (Some(Mode::Gt), _) => self.each::<Fixed<{ Mode::Gt as u8 }>, true, F>(block, row_width, visit),
            (Some(Mode::Eq), _) => self.each::<Fixed<{ Mode::Eq as u8 }>, true, F>(block, row_width, visit),
            (Some(Mode::Neq), _) => self.each::<Fixed<{ Mode::Neq as u8 }>, true, F>(block, row_width, visit),
            _ => self.each::<Mixed, true, F>(block, row_width, visit),
        }
    }

    /// `walk` for one comparison. `row_width > max_feature`, as `walk` asserts.
    fn each<M: Compare, const MISSING: bool, F: FnMut(usize, &Node<T>)>(
        &self,
        block: &[T],
        row_width: usize,
        mut visit: F,
    ) {
        let rows = block.len() / row_width;
        let side_by_side = rows - rows % LANES;
        for (&root, &depth) in self.roots.iter().zip(&self.depths) {
            // LANES rows walk the tree together, one level at a time for its whole depth (a row
            // at a leaf stays there): no branch depends on the data, and the rows' loads overlap.
            // Faster than walking each row alone, whose exit branch is unpredictable (BENCHMARKS.md,
            // "Measured choices in the code").
            for first in (0..side_by_side).step_by(LANES) {
                let lanes: [&[T]; LANES] =
                    std::array::from_fn(|k| &block[(first + k) * row_width..(first + k + 1) * row_width]);
                let mut at = [root as usize; LANES];
                for _ in 0..depth {
                    for k in 0..LANES {
                        // SAFETY: `at[k]` starts at a root and `step` only moves it to a node
                        // `new` checked (a branch's child, or the leaf itself); each lane is
                        // `row_width` long, wider than `max_feature`, as `walk` asserts.
                        at[k] = unsafe { self.step::<M, MISSING>(at[k], lanes[k]) };
                    }
                }
                for (k, leaf) in at.iter().enumerate() {
                    visit(first + k, &self.nodes[*leaf]);
                }
            }
            for r in side_by_side..rows {
                let row = &block[r * row_width..(r + 1) * row_width];
                visit(r, self.leaf::<M, MISSING>(root as usize, row));
            }
        }
    }

    /// One level down for `row` from the node at `at`; a leaf stays where it is. Without a
    /// branch, so that several rows can walk one tree side by side. This loop is the engine's
    /// hottest, hence no bounds checks (their cost: BENCHMARKS.md, "Measured choices in the code").
    ///
    /// # Safety
    /// `at` is a node (`at < nodes.len()`) and `row` is longer than `max_feature`. The node it
    /// returns is then a node too (`new` checked every branch's children).
    #[inline(always)]
    unsafe fn step<M: Compare, const MISSING: bool>(&self, at: usize, row: &[T]) -> usize {
        debug_assert!(at < self.nodes.len() && self.max_feature < row.len());
        // SAFETY: the caller passes a node's position.
        let node = unsafe { self.nodes.get_unchecked(at) };
        // SAFETY: every node's feature is at most `max_feature` (`new` computed it over all of
        // them), and the caller passes a row longer than that.
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

    /// The leaf that `row` reaches from the root at `at`, with checked reads. The loop ends: each
    /// step moves forwards (`new` checked that a branch's children come after it).
    #[inline(always)]
    fn leaf<M: Compare, const MISSING: bool>(&self, mut at: usize, row: &[T]) -> &Node<T> {
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

/// Each node's depth: the most branches on a path from it to a leaf. From the last node back, so
/// that a branch's children (after it, as `Forest::new` checked) are known before it.
fn depths<T>(nodes: &[Node<T>]) -> Vec<u32> {
    let mut depths = vec![0u32; nodes.len()];
    for (at, node) in nodes.iter().enumerate().rev() {
        if node.mode != Mode::Leaf {
            // At most `nodes.len() - 1`, which fits a `u32` (`new` checked): no overflow.
            depths[at] = 1 + depths[at + 1].max(depths[node.jump as usize]);
        }
    }
    depths
}

#[cfg(test)]
mod refusals;
#[cfg(test)]
mod tests;
