//! `ai.onnx.ml` SVMRegressor and SVMClassifier (scikit-learn's SVR, SVC, NuSVC, OneClassSVM; linear,
//! poly, rbf and sigmoid kernels), computed as onnxruntime does: one-against-one votes for the
//! label, decision values as scores without `prob_a`/`prob_b`, libsvm's coupled probabilities with
//! them.

mod kernel;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use super::trees::Transform;
use kernel::{multiclass_probability, sigmoid_probability, Kernel};

#[derive(Debug)]
struct Svm {
    kernel: Kernel,
    /// `[vectors, features]`; empty for the linear form (coefficients per class instead).
    support_vectors: Vec<f32>,
    vectors_per_class: Vec<usize>,
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    prob_a: Vec<f32>,
    prob_b: Vec<f32>,
    transform: Transform,
    features: usize,
    /// `None` for a regressor.
    labels: Option<Labels>,
    one_class: bool,
}

fn floats(node: &NodeProto, name: &str) -> TractResult<Vec<f32>> {
    Ok(node.get_attr_opt_vec::<f32>(name)?.unwrap_or_default())
}

fn common(node: &NodeProto) -> TractResult<(Kernel, Transform)> {
    let kernel = node
        .get_attr_opt::<String>("kernel_type")?
        .unwrap_or_else(|| "LINEAR".into());
    let kernel = Kernel::parse(&kernel, &floats(node, "kernel_params")?)
        .ok_or_else(|| format_err!("unknown kernel {kernel}"))?;
    let transform = node
        .get_attr_opt::<String>("post_transform")?
        .unwrap_or_else(|| "NONE".into());
    let transform =
        Transform::parse(&transform).ok_or_else(|| format_err!("unknown post_transform {transform}"))?;
    Ok((kernel, transform))
}

pub fn parse_regressor(
    _: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (kernel, transform) = common(node)?;
    let vectors = node.get_attr_opt::<i64>("n_supports")?.unwrap_or(0).max(0) as usize;
    let support_vectors = floats(node, "support_vectors")?;
    let coefficients = floats(node, "coefficients")?;
    let features = support_vectors
        .len()
        .checked_div(vectors)
        .unwrap_or(coefficients.len());
    let svm = Svm {
        kernel: if vectors > 0 { kernel } else { Kernel::Linear },
        vectors_per_class: if vectors > 0 { vec![vectors] } else { vec![] },
        support_vectors,
        coefficients,
        rho: floats(node, "rho")?,
        prob_a: vec![],
        prob_b: vec![],
        transform,
        features,
        labels: None,
        one_class: node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0,
    };
    svm.check()?;
    Ok((expand(SvmOp(Arc::new(svm))), vec![]))
}

pub fn parse_classifier(
    _: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (kernel, transform) = common(node)?;
    let labels = Labels::read(node, "classlabels_ints")?;
    let vectors_per_class: Vec<usize> = node
        .get_attr_opt_vec::<i64>("vectors_per_class")?
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect();
    let vectors: usize = vectors_per_class.iter().sum();
    let support_vectors = floats(node, "support_vectors")?;
    let coefficients = floats(node, "coefficients")?;
    let features = support_vectors
        .len()
        .checked_div(vectors)
        .unwrap_or(coefficients.len() / labels.len().max(1));
    let svm = Svm {
        kernel: if vectors > 0 { kernel } else { Kernel::Linear },
        support_vectors,
        vectors_per_class: if vectors > 0 { vectors_per_class } else { vec![] },
        coefficients,
        rho: floats(node, "rho")?,
        prob_a: floats(node, "prob_a")?,
        prob_b: floats(node, "prob_b")?,
        transform,
        features,
        labels: Some(labels),
        one_class: false,
    };
    svm.check()?;
    Ok((expand(SvmOp(Arc::new(svm))), vec![]))
}

impl Svm {
    fn classes(&self) -> usize {
        self.labels.as_ref().map_or(1, Labels::len)
    }

    fn vectors(&self) -> usize {
        self.vectors_per_class.iter().sum()
    }

    fn pairs(&self) -> usize {
        self.classes() * self.classes().saturating_sub(1) / 2
    }

    fn has_probabilities(&self) -> bool {
        !self.prob_a.is_empty()
    }

    /// Refuses attribute lists too short for the declared sizes (onnxruntime checks the same).
    fn check(&self) -> TractResult<()> {
        let classes = self.classes();
        let (coefficients, rho) = match (&self.labels, self.vectors()) {
            (None, 0) => (self.features, 1),
            (None, v) => (v, 1),
            (Some(_), 0) => (classes * self.features, 1),
            (Some(_), v) => ((classes - 1) * v, self.pairs()),
        };
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
        if classes < 2 && self.labels.is_some() {
            bail!("an SVMClassifier needs at least two class labels");
        }
        Ok(())
    }

    /// Scores per row: the regressor's value, or the classifier's probabilities or decision values.
    fn width(&self) -> usize {
        match (&self.labels, self.vectors(), self.has_probabilities()) {
            (None, ..) => 1,
            (Some(_), v, false) if v > 0 && self.classes() > 2 => self.pairs(),
            (Some(_), v, false) if v > 0 => 2,
            _ => self.classes(),
        }
    }

    fn regress(&self, row: &[f32]) -> f32 {
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
    fn classify(&self, row: &[f32], out: &mut [f32], kernels: &mut Vec<f32>) -> usize {
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
                Transform::Probit => (out[0], out[1]) = (super::trees::probit(s), 0.0),
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

#[derive(Debug, Clone)]
pub struct SvmOp(Arc<Svm>);

impl Expansion for SvmOp {
    fn name(&self) -> StaticName {
        "SVM".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(if self.0.labels.is_some() { 2 } else { 1 })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        let labels = self.0.labels.as_ref().map(Labels::datum_type);
        super::labels::output_rules(s, inputs, outputs, labels, self.0.width(), false)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = super::to_f32(model, format!("{prefix}.to_f32"), inputs[0])?;
        model.wire_node(prefix, Predict(self.0.clone()), &[x])
    }
}

/// The typed op.
#[derive(Debug, Clone)]
struct Predict(Arc<Svm>);

super::op_by_identity!(Predict, 0, "SVM");

impl EvalOp for Predict {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let svm = &self.0;
        let rows = input.shape()[0];
        let features = input.shape().get(1).copied().unwrap_or(1);
        if features != svm.features {
            bail!("the SVM reads {} features, rows have {features}", svm.features);
        }
        let values = super::row_major::<f32>(&input)?;
        let width = svm.width();
        let mut scores = vec![0f32; rows * width];
        let mut labels = Vec::with_capacity(rows);
        let mut kernels = Vec::new();
        for (row, out) in values.chunks_exact(features).zip(scores.chunks_exact_mut(width)) {
            match svm.labels {
                None => out[0] = svm.regress(row),
                Some(_) => labels.push(svm.classify(row, out, &mut kernels)),
            }
        }
        let scores = Tensor::from(tract_ndarray::Array2::from_shape_vec((rows, width), scores)?.into_dyn());
        Ok(match &svm.labels {
            None => tvec!(scores.into_tvalue()),
            Some(l) => tvec!(l.tensor(&labels)?.into_tvalue(), scores.into_tvalue()),
        })
    }
}

impl TypedOp for Predict {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let rows = inputs[0].shape[0].clone();
        let scores = f32::fact([rows.clone(), self.0.width().to_dim()]);
        Ok(match &self.0.labels {
            None => tvec!(scores),
            Some(l) => tvec!(l.datum_type().fact([rows]), scores),
        })
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::kernel::*;

    #[test]
    fn coupled_probabilities_sum_to_one_and_follow_the_pairs() {
        // Class 0 beats 1 and 2 clearly; 1 and 2 are even.
        let r = [0.0, 0.9, 0.9, 0.1, 0.0, 0.5, 0.1, 0.5, 0.0];
        let mut p = [0.0; 3];
        multiclass_probability(3, &r, &mut p);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
        // The iteration stops within libsvm's tolerance (0.005 / classes).
        assert!(p[0] > 0.7 && (p[1] - p[2]).abs() < 2e-3, "{p:?}");
    }

    #[test]
    fn kernels_match_their_formulas() {
        let (x, v) = ([1.0, 2.0], [0.5, -1.0]);
        assert_eq!(Kernel::Linear.apply(&x, &v, 1.0), -0.5);
        let rbf = Kernel::Rbf { gamma: 0.5 };
        assert!((rbf.apply(&x, &v, 0.0) - (-0.5f32 * 9.25).exp()).abs() < 1e-7);
        let poly = Kernel::Poly {
            gamma: 2.0,
            coef0: 1.0,
            degree: 3.0,
        };
        assert_eq!(poly.apply(&x, &v, 0.0), -8.0);
        let sigmoid = Kernel::Sigmoid {
            gamma: 1.0,
            coef0: 0.0,
        };
        assert!((sigmoid.apply(&x, &v, 0.0) - (-1.5f32).tanh()).abs() < 1e-7);
    }
}
