//! `ai.onnx.ml` SVMRegressor and SVMClassifier (scikit-learn's SVR, SVC, NuSVC, OneClassSVM; linear,
//! poly, rbf and sigmoid kernels), computed as onnxruntime does: one-against-one votes for the
//! label, decision values as scores without `prob_a`/`prob_b`, libsvm's coupled probabilities with
//! them.

mod kernel;
mod predict;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use super::trees::Transform;
use kernel::Kernel;

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
    let vectors = vectors_per_class
        .iter()
        .try_fold(0usize, |sum, v| sum.checked_add(*v))
        .context("the SVM's vectors_per_class add up past any size")?;
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
    fn support_vector_counts_that_overflow_are_refused() {
        let svm = super::Svm {
            kernel: Kernel::Rbf { gamma: 1.0 },
            support_vectors: vec![0.0; 2],
            vectors_per_class: vec![usize::MAX, 2],
            coefficients: vec![1.0; 2],
            rho: vec![0.0],
            prob_a: vec![],
            prob_b: vec![],
            transform: super::Transform::None,
            features: 1,
            labels: Some(super::Labels::Ints(vec![0, 1])),
            one_class: false,
        };
        let error = svm.check().unwrap_err().to_string();
        assert!(
            error.contains("vectors_per_class add up past any size"),
            "{error}"
        );
    }

    #[test]
    fn support_vectors_that_do_not_fill_the_declared_counts_are_refused() {
        let svm = super::Svm {
            kernel: Kernel::Rbf { gamma: 1.0 },
            support_vectors: vec![0.0; 5],
            vectors_per_class: vec![1, 1],
            coefficients: vec![1.0; 2],
            rho: vec![0.0],
            prob_a: vec![],
            prob_b: vec![],
            transform: super::Transform::None,
            features: 2,
            labels: Some(super::Labels::Ints(vec![0, 1])),
            one_class: false,
        };
        let error = svm.check().unwrap_err().to_string();
        assert!(error.contains("support_vectors holds 5 values"), "{error}");
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
