//! What an SVM computes for one row: its kernel values, one-against-one decisions and votes,
//! and the scores onnxruntime writes from them.

use super::super::labels::Labels;
use super::super::trees::{probit, Transform};
use super::kernel::{multiclass_probability, sigmoid_probability};
use super::Svm;
use tract_onnx::tract_hir::internal::*;

impl Svm {
    pub(super) fn classes(&self) -> usize {
        self.labels.as_ref().map_or(1, Labels::len)
    }

    /// The support vectors (`check` made sure their count fits a `usize`).
    pub(super) fn vectors(&self) -> usize {
        self.vectors_per_class.iter().sum()
    }

    pub(super) fn pairs(&self) -> usize {
        self.classes() * self.classes().saturating_sub(1) / 2
    }

    pub(super) fn has_probabilities(&self) -> bool {
        !self.prob_a.is_empty()
    }

    /// Refuses attribute lists too short for the declared sizes (onnxruntime checks the same).
    /// Counts drive the loops of every row: each is checked against the list it indexes.
    pub(super) fn check(&self) -> TractResult<()> {
        let classes = self.classes();
        // First: the sizes below take `classes - 1`.
        if classes < 2 && self.labels.is_some() {
            bail!("an SVMClassifier needs at least two class labels");
        }
        let vectors = self
            .vectors_per_class
            .iter()
            .try_fold(0usize, |sum, v| sum.checked_add(*v))
            .context("the SVM's vectors_per_class add up past any size")?;
        let too_many = || format_err!("the SVM declares more coefficients than any model holds");
        let (coefficients, rho) = match (&self.labels, vectors) {
            (None, 0) => (self.features, 1),
            (None, v) => (v, 1),
            (Some(_), 0) => (classes.checked_mul(self.features).ok_or_else(too_many)?, 1),
            (Some(_), v) => ((classes - 1).checked_mul(v).ok_or_else(too_many)?, self.pairs()),
        };
        if vectors > 0 && vectors.checked_mul(self.features) != Some(self.support_vectors.len()) {
            bail!(
                "the SVM declares {vectors} support vectors of {} features; support_vectors holds {} values",
                self.features,
                self.support_vectors.len()
            );
        }
        if self.features == 0 || self.coefficients.len() < coefficients || self.rho.len() < rho {
            bail!(
                "the SVM's coefficients ({}) or rho ({}) are fewer than its sizes need ({coefficients}, {rho})",
                self.coefficients.len(),
                self.rho.len()
            );
        }
        if self.labels.is_some() && self.vectors() > 0 && self.vectors_per_class.len() != classes {
            bail!(
                "vectors_per_class lists {} classes, the labels {classes}",
                self.vectors_per_class.len()
            );
        }
        if self.has_probabilities() && (self.prob_a.len() < self.pairs() || self.prob_b.len() < self.pairs())
        {
            bail!("prob_a and prob_b need one value per pair of classes");
        }
        Ok(())
    }

    /// Scores per row: the regressor's value, or the classifier's probabilities or decision values.
    pub(super) fn width(&self) -> usize {
        match (&self.labels, self.vectors(), self.has_probabilities()) {
            (None, ..) => 1,
            (Some(_), v, false) if v > 0 && self.classes() > 2 => self.pairs(),
            (Some(_), v, false) if v > 0 => 2,
            _ => self.classes(),
        }
    }

    pub(super) fn regress(&self, row: &[f32]) -> f32 {
        let value = if self.vectors() > 0 {
            let mut sum = self.rho[0];
            for (v, c) in self
                .support_vectors
                .chunks_exact(self.features)
                .zip(&self.coefficients)
            {
                sum += self.kernel.apply(row, v, 0.0) * c;
            }
            sum
        } else {
            self.kernel.apply(row, &self.coefficients, self.rho[0])
        };
        match (self.one_class, value > 0.0) {
            (false, _) => value,
            (true, true) => 1.0,
            (true, false) => -1.0,
        }
    }

    /// Writes one row's scores; returns its label index.
    pub(super) fn classify(&self, row: &[f32], out: &mut [f32], kernels: &mut Vec<f32>) -> usize {
        let classes = self.classes();
        if self.vectors() == 0 {
            // The linear form: one score per class, the label of the highest.
            for (k, score) in out.iter_mut().enumerate() {
                let weights = &self.coefficients[k * self.features..(k + 1) * self.features];
                *score = self.kernel.apply(row, weights, self.rho[0]);
            }
            let best = argmax(out);
            let label = if classes == 2 {
                let all_positive = self.coefficients.iter().all(|c| *c >= 0.0);
                let top = out[best];
                if (all_positive && top >= 0.5) || (!all_positive && top > 0.0) {
                    1
                } else {
                    best
                }
            } else {
                best
            };
            self.transform.apply(out);
            return label;
        }
        kernels.clear();
        kernels.extend(
            self.support_vectors
                .chunks_exact(self.features)
                .map(|v| self.kernel.apply(row, v, 0.0)),
        );
        let vectors = self.vectors();
        let starts: Vec<usize> = self
            .vectors_per_class
            .iter()
            .scan(0, |at, n| {
                let start = *at;
                *at += n;
                Some(start)
            })
            .collect();
        let mut votes = vec![0usize; classes];
        let mut decisions = Vec::with_capacity(self.pairs());
        for i in 0..classes - 1 {
            for j in i + 1..classes {
                let mut sum = 0f64;
                let (si, ni) = (starts[i], self.vectors_per_class[i]);
                let (sj, nj) = (starts[j], self.vectors_per_class[j]);
                for m in 0..ni {
                    sum += f64::from(self.coefficients[vectors * (j - 1) + si + m] * kernels[si + m]);
                }
                for m in 0..nj {
                    sum += f64::from(self.coefficients[vectors * i + sj + m] * kernels[sj + m]);
                }
                sum += f64::from(self.rho[decisions.len()]);
                decisions.push(sum as f32);
                votes[if sum > 0.0 { i } else { j }] += 1;
            }
        }
        // The class with the most votes, the first of equals.
        let mut label = 0;
        for (k, v) in votes.iter().enumerate() {
            if *v > votes[label] {
                label = k;
            }
        }
        if self.has_probabilities() {
            let mut pairwise = vec![0f32; classes * classes];
            let mut index = 0;
            for i in 0..classes - 1 {
                for j in i + 1..classes {
                    let p = sigmoid_probability(decisions[index], self.prob_a[index], self.prob_b[index])
                        .clamp(1.0e-7, 1.0 - 1.0e-7);
                    pairwise[i * classes + j] = p;
                    pairwise[j * classes + i] = 1.0 - p;
                    index += 1;
                }
            }
            multiclass_probability(classes, &pairwise, out);
            self.transform.apply(out);
        } else if classes > 2 {
            out.copy_from_slice(&decisions);
            self.transform.apply(out);
        } else {
            // One decision value: [-s, s] without a transform, else onnxruntime's [1 - s, s].
            let s = decisions[0];
            match self.transform {
                Transform::None => (out[0], out[1]) = (-s, s),
                Transform::Probit => (out[0], out[1]) = (probit(s), 0.0),
                _ => (out[0], out[1]) = (1.0 - s, s),
            }
        }
        label
    }
}

fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::super::kernel::Kernel;
    use super::*;

    #[test]
    fn a_classifier_without_labels_is_refused_before_its_sizes_are_computed() {
        // One support vector and no labels: the coefficient count would take `0 - 1` classes.
        let svm = Svm {
            kernel: Kernel::Rbf { gamma: 1.0 },
            support_vectors: vec![0.0],
            vectors_per_class: vec![1],
            coefficients: vec![1.0],
            rho: vec![0.0],
            prob_a: vec![],
            prob_b: vec![],
            transform: Transform::None,
            features: 1,
            labels: Some(Labels::Ints(vec![])),
            one_class: false,
        };
        let error = svm.check().unwrap_err().to_string();
        assert!(error.contains("needs at least two class labels"), "{error}");
    }
}
