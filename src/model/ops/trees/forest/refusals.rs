//! `Forest::new` refusing each layout the unchecked walk would misread, and `walk` refusing rows
//! narrower than the features the trees read. Each error is matched by its words, so that a test
//! fails when its own check is gone even if a later one happens to catch the layout.

use super::*;

/// A branch on `feature` whose true child is at `jump` (its false child is the next node).
fn branch(feature: u32, jump: u32) -> Node<f32> {
    Node {
        value: 0.5,
        feature,
        jump,
        mode: Mode::Leq,
        missing_true: false,
        count: 0,
    }
}

/// A leaf whose `count` votes start at `votes[first]`.
fn leaf(first: u32, count: u16) -> Node<f32> {
    Node {
        value: 1.0,
        feature: 0,
        jump: first,
        mode: Mode::Leaf,
        missing_true: false,
        count,
    }
}

/// `count` votes for target 0.
fn votes(count: usize) -> Vec<Vote<f32>> {
    vec![
        Vote {
            target: 0,
            weight: 1.0
        };
        count
    ]
}

fn refusal(nodes: Vec<Node<f32>>, votes: Vec<Vote<f32>>, trees: &[(u32, u32)]) -> String {
    Forest::new(nodes, votes, trees).expect_err("the layout is refused")
}

#[test]
fn a_branch_jumping_past_the_last_node_is_refused() {
    let nodes = vec![branch(0, 3), leaf(0, 1), leaf(0, 1)];
    let error = refusal(nodes, votes(1), &[(0, 1)]);
    assert_eq!(error, "node 0 of the layout has children outside it");
}

#[test]
fn a_branch_jumping_back_is_refused() {
    // Node 1's true child is node 0, whose false child is node 1: a walk that never ends.
    let nodes = vec![branch(0, 2), branch(0, 0), leaf(0, 1)];
    let error = refusal(nodes, votes(1), &[(0, 2)]);
    assert_eq!(error, "node 1 of the layout jumps back to node 0");
}

#[test]
fn a_branch_jumping_to_itself_is_refused() {
    let nodes = vec![branch(0, 0), leaf(0, 1), leaf(0, 1)];
    let error = refusal(nodes, votes(1), &[(0, 1)]);
    assert_eq!(error, "node 0 of the layout jumps back to node 0");
}

#[test]
fn a_root_outside_the_layout_is_refused() {
    let error = refusal(vec![leaf(0, 1)], votes(1), &[(0, 0), (1, 0)]);
    assert_eq!(error, "a tree's root 1 is outside the layout");
}

#[test]
fn a_leaf_whose_votes_run_past_the_list_is_refused() {
    // Votes 1 and 2 of a list of 2.
    let nodes = vec![branch(0, 2), leaf(0, 1), leaf(1, 2)];
    let error = refusal(nodes, votes(2), &[(0, 1)]);
    assert_eq!(error, "node 2 of the layout has votes outside it");
}

#[test]
fn a_tree_depth_other_than_its_deepest_leafs_is_refused() {
    // Node 0 -> 1 -> leaf 2 is two branches deep; 0 -> leaf 4 and 1 -> leaf 3 are shallower.
    let nodes = vec![branch(0, 4), branch(0, 3), leaf(0, 1), leaf(0, 1), leaf(0, 1)];
    for given in [1, 3] {
        let error = refusal(nodes.clone(), votes(1), &[(0, given)]);
        assert_eq!(error, format!("the tree at 0 is 2 branches deep, not {given}"));
    }
    assert!(Forest::new(nodes, votes(1), &[(0, 2)]).is_ok());
}

#[test]
#[should_panic(expected = "rows of 3 features for trees that read feature 3")]
fn walking_rows_narrower_than_the_largest_feature_panics() {
    let forest =
        Forest::new(vec![branch(3, 2), leaf(0, 1), leaf(0, 1)], votes(1), &[(0, 1)]).expect("a valid layout");
    // Eight rows: the side-by-side walk, whose reads are unchecked, is the one at stake.
    forest.walk(&[0.0; 3 * LANES], 3, |_, _| {});
}
