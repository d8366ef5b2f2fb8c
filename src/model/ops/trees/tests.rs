use super::ensemble::{Aggregate, Ensemble, Head};
use super::forest::{Forest, Listing, Mode};
use super::score::Transform;

/// One stump per entry of `trees`: `x[feature] <= threshold` goes to the first weight, else the
/// second; votes go to `target`.
fn stumps(trees: &[(i64, f32, f32, f32)], mode: Mode, missing_true: bool, target: i64) -> Listing<f32> {
    let mut l = Listing::default();
    for (t, &(feature, threshold, on_true, on_false)) in trees.iter().enumerate() {
        let t = t as i64;
        for (node, m, value) in [(0, mode, threshold), (1, Mode::Leaf, 0.0), (2, Mode::Leaf, 0.0)] {
            l.tree_ids.push(t);
            l.node_ids.push(node);
            l.features.push(feature);
            l.modes.push(m);
            l.values.push(value);
            l.true_ids.push(1);
            l.false_ids.push(2);
            l.missing_true.push(i64::from(missing_true && node == 0));
        }
        l.votes.push((t, 1, target, on_true));
        l.votes.push((t, 2, target, on_false));
    }
    l
}

fn run(e: &Ensemble<f32>, rows: &[f32], width: usize) -> (Vec<f32>, Vec<usize>) {
    let n = rows.len() / width;
    let mut scores = vec![0.0; n * e.width()];
    let mut labels = vec![0; n];
    e.run(rows, width, &mut scores, &mut labels);
    (scores, labels)
}

fn regressor(listing: Listing<f32>, aggregate: Aggregate, base: Vec<f32>) -> Ensemble<f32> {
    Ensemble {
        forest: Forest::build(listing, 1).unwrap(),
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
    let other = stumps(&[(0, 1.0, 10.0, 20.0)], Mode::Gt, false, 0);
    listing.tree_ids.extend(other.tree_ids.iter().map(|t| t + 1));
    listing.node_ids.extend(other.node_ids);
    listing.features.extend(other.features);
    listing.modes.extend(other.modes);
    listing.values.extend(other.values);
    listing.true_ids.extend(other.true_ids);
    listing.false_ids.extend(other.false_ids);
    listing.missing_true.extend(other.missing_true);
    listing
        .votes
        .extend(other.votes.iter().map(|v| (v.0 + 1, v.1, v.2, v.3)));
    let e = regressor(listing, Aggregate::Sum, vec![]);
    assert_eq!(e.forest.same_mode, None);
    assert_eq!(run(&e, &[0.0, 2.0], 1).0, vec![21.0, 12.0]);
}

#[test]
fn binary_forest_answers_the_complement_and_boosting_the_mirror() {
    let classifier = |listing, base: Vec<f32>, transform| Ensemble {
        forest: Forest::build(listing, 2).unwrap(),
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
    assert!(Forest::build(listing, 1)
        .unwrap_err()
        .contains("its own true child"));
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    listing.votes.pop();
    assert!(Forest::build(listing, 1).unwrap_err().contains("has no vote"));
    let listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 3);
    assert!(Forest::build(listing, 2)
        .unwrap_err()
        .contains("target or class 3"));
}

#[test]
fn a_cycle_is_refused_and_a_shared_subtree_is_laid_out_per_path() {
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    // Node 1 becomes a branch whose true child is the root: a cycle.
    listing.modes[1] = Mode::Leq;
    listing.true_ids[1] = 0;
    listing.false_ids[1] = 2;
    assert!(Forest::build(listing, 1).unwrap_err().contains("cycle"));
    let mut listing = stumps(&[(0, 1.0, 1.0, 2.0)], Mode::Leq, false, 0);
    listing.true_ids[0] = 2;
    let forest = Forest::build(listing, 1).unwrap();
    assert_eq!(forest.nodes.len(), 3, "the root and leaf 2 twice");
}

#[test]
fn rows_walked_side_by_side_answer_as_rows_walked_alone() {
    // Two-level trees of mixed depth (a stump and a deeper chain), with missing values.
    let mut listing = stumps(&[(0, 0.5, 1.0, 2.0), (1, -0.5, 10.0, 20.0)], Mode::Leq, true, 0);
    listing.modes[4] = Mode::Leq; // tree 1's true leaf becomes a branch on feature 2
    listing.features[4] = 2;
    listing.values[4] = 0.0;
    listing.true_ids[4] = 3;
    listing.false_ids[4] = 4;
    for (node, weight) in [(3, 100.0), (4, 200.0)] {
        listing.tree_ids.push(1);
        listing.node_ids.push(node);
        listing.features.push(0);
        listing.modes.push(Mode::Leaf);
        listing.values.push(0.0);
        listing.true_ids.push(0);
        listing.false_ids.push(0);
        listing.missing_true.push(0);
        listing.votes.push((1, node, 0, weight));
    }
    listing.votes.retain(|v| !(v.0 == 1 && v.1 == 1));
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
