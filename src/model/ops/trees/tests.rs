use super::attributes::Attributes;
use super::ensemble::{Aggregate, Ensemble, Head};
use super::forest::Forest;
use super::layout::lay_out;
use super::mode::Mode;
use super::transform::Transform;

/// One stump per entry of `trees`, tree ids from `first`: `x[feature] <= threshold` goes to the
/// first weight, else the second; votes go to `target`.
fn stumps_from(
    first: i64,
    trees: &[(i64, f64, f64, f64)],
    mode: Mode,
    missing_true: bool,
    target: i64,
    a: &mut Attributes,
) {
    for (t, &(feature, threshold, on_true, on_false)) in trees.iter().enumerate() {
        let t = first + t as i64;
        a.push_branch(t, 0, feature, mode, threshold, 1, 2, i64::from(missing_true));
        a.push_leaf(t, 1, target, on_true);
        a.push_leaf(t, 2, target, on_false);
    }
    a.listed = a.node_ids.len();
}

fn stumps(trees: &[(i64, f64, f64, f64)], mode: Mode, missing_true: bool, target: i64) -> Attributes {
    let mut a = Attributes::empty(Transform::None, 0);
    stumps_from(0, trees, mode, missing_true, target, &mut a);
    a
}

fn build(a: &Attributes, targets: usize) -> Result<Forest<f32>, String> {
    lay_out(a, targets)
}

fn run(e: &Ensemble<f32>, rows: &[f32], width: usize) -> (Vec<f32>, Vec<usize>) {
    let n = rows.len() / width;
    let mut scores = vec![0.0; n * e.width()];
    let mut labels = vec![0; n];
    e.run(rows, width, &mut scores, &mut labels);
    (scores, labels)
}

fn regressor(listing: Attributes, aggregate: Aggregate, base: Vec<f32>) -> Ensemble<f32> {
    Ensemble {
        forest: build(&listing, 1).unwrap(),
        head: Head::Regressor {
            targets: 1,
            aggregate,
        },
        base,
        transform: Transform::None,
    }
}

#[test]
fn sums_averages_and_bounds_the_trees_votes() {
    let trees = [(0, 0.5, 1.0, 2.0), (1, 0.0, 10.0, 20.0)];
    let rows = [0.0, 1.0, 1.0, -1.0];
    let sum = regressor(stumps(&trees, Mode::Leq, false, 0), Aggregate::Sum, vec![100.0]);
    assert_eq!(run(&sum, &rows, 2).0, vec![121.0, 112.0]);
    let average = regressor(stumps(&trees, Mode::Leq, false, 0), Aggregate::Average, vec![]);
    assert_eq!(run(&average, &rows, 2).0, vec![10.5, 6.0]);
    let min = regressor(stumps(&trees, Mode::Leq, false, 0), Aggregate::Min, vec![]);
    assert_eq!(run(&min, &rows, 2).0, vec![1.0, 2.0]);
    let max = regressor(stumps(&trees, Mode::Leq, false, 0), Aggregate::Max, vec![]);
    assert_eq!(run(&max, &rows, 2).0, vec![20.0, 10.0]);
}

#[test]
fn every_mode_and_missing_values_choose_the_branch_as_onnxruntime_does() {
    let nan = f32::NAN;
    let cases = [
        (Mode::Leq, false, [1.0, 0.0, 0.0, nan], [1.0, 1.0, 2.0, 2.0]),
        (Mode::Leq, true, [1.0, 0.0, 0.0, nan], [1.0, 1.0, 2.0, 1.0]),
        (Mode::Lt, false, [0.5, 1.0, 2.0, nan], [1.0, 2.0, 2.0, 2.0]),
        (Mode::Gte, false, [0.5, 1.0, 2.0, nan], [2.0, 1.0, 1.0, 2.0]),
        (Mode::Gt, true, [0.5, 1.0, 2.0, nan], [2.0, 2.0, 1.0, 1.0]),
        (Mode::Eq, false, [0.5, 1.0, 2.0, nan], [2.0, 1.0, 2.0, 2.0]),
        (Mode::Neq, false, [0.5, 1.0, 2.0, nan], [1.0, 2.0, 1.0, 1.0]),
    ];
    for (mode, missing, rows, expected) in cases {
        let e = regressor(
            stumps(&[(0, 1.0, 1.0, 2.0)], mode, missing, 0),
            Aggregate::Sum,
            vec![],
        );
        let rows: Vec<f32> = match mode {
            Mode::Leq => vec![rows[0] - 1.0, rows[1] + 1.0, rows[2] + 2.0, rows[3]],
            _ => rows.to_vec(),
        };
        assert_eq!(run(&e, &rows, 1).0, expected, "{mode:?} missing={missing}");
    }
}

#[test]
fn mixed_modes_run_the_general_loop() {
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    stumps_from(1, &[(0, 1.0, 10.0, 20.0)], Mode::Gt, false, 0, &mut listing);
    let e = regressor(listing, Aggregate::Sum, vec![]);
    assert_eq!(e.forest.same_mode(), None);
    assert_eq!(run(&e, &[0.0, 2.0], 1).0, vec![21.0, 12.0]);
}

#[test]
fn binary_forest_answers_the_complement_and_boosting_the_mirror() {
    let classifier = |listing, base: Vec<f32>, transform| Ensemble {
        forest: build(&listing, 2).unwrap(),
        head: Head::Classifier {
            classes: 2,
            binary: true,
            all_positive: base.is_empty(),
        },
        base,
        transform,
    };
    // Positive weights (a forest): label 1 past 0.5, probabilities [1 - s, s].
    let forest = classifier(
        stumps(&[(0, 0.0, 0.25, 0.75)], Mode::Leq, false, 0),
        vec![],
        Transform::None,
    );
    assert_eq!(
        run(&forest, &[-1.0, 1.0], 1),
        (vec![0.75, 0.25, 0.25, 0.75], vec![0, 1])
    );
    // Mixed weights with a base value (boosting): label 1 past 0, [σ(-s), σ(s)].
    let boosting = classifier(
        stumps(&[(0, 0.0, -2.0, 1.0)], Mode::Leq, false, 0),
        vec![0.5],
        Transform::Logistic,
    );
    let (scores, labels) = run(&boosting, &[-1.0, 1.0], 1);
    assert_eq!(labels, vec![0, 1]);
    let sigma = |x: f32| 1.0 / (1.0 + (-x).exp());
    for (got, want) in scores
        .iter()
        .zip([sigma(1.5), sigma(-1.5), sigma(-1.5), sigma(1.5)])
    {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}

#[test]
fn refuses_what_is_not_a_tree() {
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    listing.true_ids[0] = 0;
    assert!(build(&listing, 1).unwrap_err().contains("its own true child"));
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    listing.vote_trees.pop();
    listing.vote_nodes.pop();
    listing.vote_ids.pop();
    listing.vote_weights.pop();
    assert!(build(&listing, 1).unwrap_err().contains("has no vote"));
    let listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 3);
    assert!(build(&listing, 2).unwrap_err().contains("target or class 3"));
}

#[test]
fn a_cycle_is_refused_naming_its_nodes() {
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    // Node 1 becomes a branch whose true child is the root: a cycle.
    listing.modes[1] = Mode::Leq;
    listing.true_ids[1] = 0;
    listing.false_ids[1] = 2;
    let error = build(&listing, 1).unwrap_err();
    assert!(
        error.contains("node 1 of tree 0 leads back to its ancestor, node 0 of tree 0"),
        "{error}"
    );
}

#[test]
fn a_shared_subtree_is_laid_out_once_per_path() {
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    listing.true_ids[0] = 2;
    let forest = build(&listing, 1).unwrap();
    assert_eq!(forest.nodes().len(), 3, "the root and leaf 2 twice");
}

/// A chain of `depth` branches whose two children are both the next one: 2^depth paths.
fn doubling_chain(depth: i64) -> Attributes {
    let mut a = Attributes::empty(Transform::None, 0);
    for node in 0..depth {
        a.push_branch(0, node, 0, Mode::Leq, 0.0, node + 1, node + 1, 0);
    }
    a.push_leaf(0, depth, 0, 1.0);
    a.listed = a.node_ids.len();
    a
}

#[test]
fn shared_subtrees_that_expand_past_the_limit_are_refused_naming_the_node_and_the_limit() {
    // 64 listed nodes may lay out 64 * 8 + 4096 = 4608; depth 12 needs 8191, depth 11 4095.
    // 13 listed nodes may lay out 13 * 8 + 4096 = 4200; the chain of 12 needs 2^13 - 1 = 8191.
    let error = build(&doubling_chain(12), 1).unwrap_err();
    assert!(
        error.contains("node 0 of tree 0 expands to more than 4200 nodes"),
        "{error}"
    );
    // 12 listed nodes may lay out 4192; the chain of 11 needs 4095.
    assert_eq!(build(&doubling_chain(11), 1).unwrap().nodes().len(), 4095);
    // 2^201 paths: refused at the first node whose copies pass 201 * 8 + 4096 = 5704 (8191 nodes
    // under node 188), without copying any.
    let error = build(&doubling_chain(200), 1).unwrap_err();
    assert!(
        error.contains("node 188 of tree 0 expands to more than 5704 nodes"),
        "{error}"
    );
}

#[test]
fn rows_walked_side_by_side_answer_as_rows_walked_alone() {
    // Two-level trees of mixed depth (a stump and a deeper chain), with missing values.
    let mut listing = stumps(&[(0, 0.5, 1.0, 2.0)], Mode::Leq, true, 0);
    // Tree 1: its true child is a branch on feature 2 (node 3) over two leaves.
    listing.push_branch(1, 0, 1, Mode::Leq, -0.5, 3, 2, 1);
    listing.push_leaf(1, 2, 0, 20.0);
    listing.push_branch(1, 3, 2, Mode::Leq, 0.0, 4, 5, 0);
    listing.push_leaf(1, 4, 0, 100.0);
    listing.push_leaf(1, 5, 0, 200.0);
    listing.listed = listing.node_ids.len();
    let e = regressor(listing, Aggregate::Sum, vec![]);
    let rows: Vec<f32> = (0..63)
        .map(|i| {
            if i % 7 == 3 {
                f32::NAN
            } else {
                ((i * 37) % 11) as f32 / 5.0 - 1.0
            }
        })
        .collect();
    let together = run(&e, &rows, 3).0;
    let alone: Vec<f32> = rows.chunks(3).flat_map(|row| run(&e, row, 3).0).collect();
    assert_eq!(together, alone);
    assert!(together.iter().any(|v| *v > 100.0) && together.iter().any(|v| *v < 100.0));
}
