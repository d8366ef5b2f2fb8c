//! Logits to labelled scores, as the `transformers` classification pipelines answer: softmax for a
//! single-label classifier, a sigmoid per label for a multi-label one (or a single label), the
//! logits themselves for regression; the best first.

use super::config::ProblemType;

/// One label and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore<'a> {
    pub label: &'a str,
    pub score: f32,
}

/// The scores of one item's `logits` (one per label, in label order).
pub fn scores(logits: &[f32], problem: ProblemType) -> Vec<f32> {
    match problem {
        ProblemType::Regression => logits.to_vec(),
        ProblemType::MultiLabel => logits.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect(),
        ProblemType::SingleLabel => {
            // Shifted by the largest logit, as numpy's softmax in the pipelines: no overflow.
            let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = logits.iter().map(|&x| (x - top).exp()).collect();
            let sum: f32 = exps.iter().sum();
            exps.into_iter().map(|e| e / sum).collect()
        }
    }
}

/// The `k` best labels of one item's `scores`, best first (ties keep label order, as a stable
/// sort in the pipelines does). `k` past the label count gives every label.
pub fn top_k<'a>(labels: &'a [String], scores: &[f32], k: usize) -> Vec<LabelScore<'a>> {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
        .into_iter()
        .take(k)
        .map(|index| LabelScore {
            label: &labels[index],
            score: scores[index],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn each_problem_type_scores_as_the_pipelines_do() {
        // scipy.special.softmax([1, 2, 3]) and expit([0, 2]).
        close(
            &scores(&[1.0, 2.0, 3.0], ProblemType::SingleLabel),
            &[0.09003057, 0.24472847, 0.66524096],
        );
        close(&scores(&[0.0, 2.0], ProblemType::MultiLabel), &[0.5, 0.880797]);
        close(&scores(&[-1.5, 4.0], ProblemType::Regression), &[-1.5, 4.0]);
        // Large logits stay finite.
        close(&scores(&[1000.0, 1000.0], ProblemType::SingleLabel), &[0.5, 0.5]);
    }

    #[test]
    fn top_k_is_best_first_and_bounded_by_the_labels() {
        let labels: Vec<String> = ["cat", "dog", "fox"].map(String::from).to_vec();
        let best = top_k(&labels, &[0.2, 0.5, 0.3], 2);
        assert_eq!(best.iter().map(|l| l.label).collect::<Vec<_>>(), ["dog", "fox"]);
        assert_eq!(top_k(&labels, &[0.2, 0.5, 0.3], 10).len(), 3);
        let tie = top_k(&labels, &[0.4, 0.4, 0.2], 1);
        assert_eq!(tie[0].label, "cat");
    }
}
