//! The unchecked side-by-side walk against a checked walk of the listing it was laid out from.

use proptest::prelude::*;

use super::super::attributes::Attributes;
use super::super::layout::lay_out;
use super::super::transform::Transform;
use super::*;

const MODES: [Mode; 6] = [Mode::Leq, Mode::Lt, Mode::Gte, Mode::Gt, Mode::Eq, Mode::Neq];

/// One split: which leaf becomes a branch, its feature, mode, threshold and missing tracking.
type Split = (usize, usize, usize, i8, bool);

/// A branch: feature, mode, threshold, missing tracking, true child id, false child id.
type Branch = (usize, Mode, f64, bool, i64, i64);

/// Grows tree `tree` from a single leaf, one split at a time, and lists it (root first, then by
/// id). Every leaf votes its own id plus `1000 * tree`, so a vote names the leaf reached.
fn list_tree(tree: i64, splits: &[Split], width: usize, mode: Option<usize>, a: &mut Attributes) {
    // Per id: a branch, or `None` for a leaf.
    let mut branches: Vec<Option<Branch>> = vec![None];
    let mut leaves = vec![0i64];
    for &(pick, feature, m, threshold, missing) in splits {
        let leaf = leaves.swap_remove(pick % leaves.len());
        let (on_true, on_false) = (branches.len() as i64, branches.len() as i64 + 1);
        let mode = MODES[mode.unwrap_or(m) % MODES.len()];
        branches[leaf as usize] = Some((
            feature % width,
            mode,
            f64::from(threshold % 3),
            missing,
            on_true,
            on_false,
        ));
        branches.extend([None, None]);
        leaves.extend([on_true, on_false]);
    }
    for (id, branch) in branches.iter().enumerate() {
        let id = id as i64;
        match *branch {
            Some((feature, mode, threshold, missing, on_true, on_false)) => a.push_branch(
                tree,
                id,
                feature as i64,
                mode,
                threshold,
                on_true,
                on_false,
                i64::from(missing),
            ),
            None => a.push_leaf(tree, id, 0, (1000 * tree + id) as f64),
        }
    }
}

/// The vote of the leaf `row` reaches in `tree`, walking the listing by ids with checked reads.
fn listed_leaf(a: &Attributes, tree: i64, row: &[f32]) -> f32 {
    let at = |id: i64| {
        (0..a.node_ids.len())
            .find(|&k| a.tree_ids[k] == tree && a.node_ids[k] == id)
            .unwrap()
    };
    let mut k = at(0);
    while a.modes[k] != Mode::Leaf {
        let x = row[a.features[k] as usize];
        let holds = (x.is_nan() && a.missing_true[k] == 1) || a.modes[k].holds(x, a.values[k] as f32);
        k = at(if holds { a.true_ids[k] } else { a.false_ids[k] });
    }
    let vote = (0..a.vote_ids.len()).find(|&v| a.vote_trees[v] == tree && a.vote_nodes[v] == a.node_ids[k]);
    a.vote_weights[vote.unwrap()] as f32
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![(-3i8..3).prop_map(f32::from), Just(f32::NAN)]
}

proptest! {
    #[test]
    fn the_unchecked_walk_reaches_the_leaf_a_checked_walk_of_the_listing_reaches(
        trees in prop::collection::vec(prop::collection::vec(any::<Split>(), 0..12), 1..5),
        one_mode in prop::option::of(0usize..6),
        width in 1usize..4,
        values in prop::collection::vec(value(), 0..120),
    ) {
        let mut a = Attributes::empty(Transform::None, 0);
        for (tree, splits) in trees.iter().enumerate() {
            list_tree(tree as i64, splits, width, one_mode, &mut a);
        }
        a.listed = a.node_ids.len();
        let forest: Forest<f32> = lay_out(&a, 1).unwrap();
        // Whole rows only: 0 to 40 of them, side by side in eights and the rest alone.
        let rows = &values[..values.len() - values.len() % width];
        let count = rows.len() / width;
        let mut reached = vec![Vec::new(); trees.len()];
        let mut visits = 0;
        // Trees in the outer loop: each tree's rows come together.
        forest.walk(rows, width, |r, leaf| {
            reached[visits / count].push((r, leaf.value));
            visits += 1;
        });
        for (tree, leaves) in reached.iter().enumerate() {
            let mut leaves = leaves.clone();
            leaves.sort_by_key(|(r, _)| *r);
            let expected: Vec<(usize, f32)> = rows
                .chunks(width)
                .enumerate()
                .map(|(r, row)| (r, listed_leaf(&a, tree as i64, row)))
                .collect();
            prop_assert_eq!(leaves, expected);
        }
    }
}
