//! `ai.onnx.ml` LinearClassifier (LogisticRegression, LinearSVC, SGDClassifier), replacing tract's,
//! which cannot answer string labels: scores `x · coefficientsᵀ + intercepts` in float32, the label
//! of the highest score (or of the sign of a single score), then onnxruntime's post transform.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use super::trees::Transform;

#[derive(Debug, Clone)]
pub struct LinearClassifier(Arc<Linear>);

#[derive(Debug)]
struct Linear {
    /// `[classes, features]`, row-major.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    labels: Labels,
    transform: Transform,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let intercepts: Vec<f32> = node.get_attr_opt_vec("intercepts")?.unwrap_or_default();
    let labels = Labels::read(node, "classlabels_ints")?;
    let transform = node
        .get_attr_opt::<String>("post_transform")?
        .unwrap_or_else(|| "NONE".into());
    let transform =
        Transform::parse(&transform).ok_or_else(|| format_err!("unknown post_transform {transform}"))?;
    if intercepts.is_empty() || !coefficients.len().is_multiple_of(intercepts.len()) {
        bail!(
            "LinearClassifier has {} coefficients for {} intercepts",
            coefficients.len(),
            intercepts.len()
        );
    }
    if intercepts.len() == 1 && labels.len() != 2 || intercepts.len() > 1 && labels.len() != intercepts.len()
    {
        bail!(
            "LinearClassifier has {} class labels for {} scores",
            labels.len(),
            intercepts.len()
        );
    }
    let linear = Linear {
        coefficients,
        intercepts,
        labels,
        transform,
    };
    Ok((expand(LinearClassifier(Arc::new(linear))), vec![]))
}

impl Linear {
    fn classes(&self) -> usize {
        self.intercepts.len()
    }

    fn features(&self) -> usize {
        self.coefficients.len() / self.classes()
    }

    /// One score with two labels: the second column is derived from the first.
    fn adds_second_class(&self) -> bool {
        self.classes() == 1 && self.labels.len() == 2
    }

    fn width(&self) -> usize {
        if self.adds_second_class() {
            2
        } else {
            self.classes()
        }
    }

    /// Label index (into the labels, or 0/1 for a single score without two labels) and scores.
    fn classify(&self, row: &[f32], out: &mut [f32]) -> usize {
        let features = self.features();
        for (k, score) in out.iter_mut().take(self.classes()).enumerate() {
            let weights = &self.coefficients[k * features..(k + 1) * features];
            *score = self.intercepts[k] + row.iter().zip(weights).map(|(x, w)| x * w).sum::<f32>();
        }
        let label = if self.classes() == 1 {
            usize::from(out[0] > 0.0)
        } else {
            let mut best = 0;
            for k in 1..self.classes() {
                if out[k] > out[best] {
                    best = k;
                }
            }
            best
        };
        if self.adds_second_class() {
            // onnxruntime writes [1 - s, s] (or PROBIT of s alone), whatever the transform.
            let s = out[0];
            if self.transform == Transform::Probit {
                self.transform.apply(&mut out[..1]);
            } else {
                out[0] = 1.0 - s;
                out[1] = s;
            }
        } else if self.classes() > 1 || self.transform == Transform::Probit {
            self.transform.apply(out);
        }
        label
    }
}

impl Expansion for LinearClassifier {
    fn name(&self) -> StaticName {
        "LinearClassifier".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        let labels = Some(self.0.labels.datum_type());
        super::labels::output_rules(s, inputs, outputs, labels, self.0.width(), false)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let x = super::to_f32(model, format!("{prefix}.to_f32"), inputs[0])?;
        model.wire_node(prefix, Classify(self.0.clone()), &[x])
    }
}

/// The typed op.
#[derive(Debug, Clone)]
struct Classify(Arc<Linear>);

super::op_by_identity!(Classify, 0, "LinearClassifier");

impl EvalOp for Classify {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let linear = &self.0;
        let (rows, features) = (input.shape()[0], input.shape().get(1).copied().unwrap_or(1));
        if features != linear.features() {
            bail!(
                "LinearClassifier has {} features per class, rows have {features}",
                linear.features()
            );
        }
        let values = super::row_major::<f32>(&input)?;
        let width = linear.width();
        let mut scores = vec![0f32; rows * width];
        let mut labels = Vec::with_capacity(rows);
        for (row, out) in values
            .chunks_exact(features.max(1))
            .zip(scores.chunks_exact_mut(width))
        {
            labels.push(linear.classify(row, out));
        }
        let scores = Tensor::from(tract_ndarray::Array2::from_shape_vec((rows, width), scores)?.into_dyn());
        Ok(tvec!(
            linear.labels.tensor(&labels)?.into_tvalue(),
            scores.into_tvalue()
        ))
    }
}

impl TypedOp for Classify {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let rows = inputs[0].shape[0].clone();
        Ok(tvec!(
            self.0.labels.datum_type().fact([rows.clone()]),
            f32::fact([rows, self.0.width().to_dim()])
        ))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(coefficients: Vec<f32>, intercepts: Vec<f32>, labels: Labels, transform: Transform) -> Linear {
        Linear {
            coefficients,
            intercepts,
            labels,
            transform,
        }
    }

    #[test]
    fn the_highest_score_wins_and_softmax_sums_to_one() {
        let l = linear(
            vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0],
            vec![0.0, 0.0, 0.5],
            Labels::Strings(vec!["a".into(), "b".into(), "c".into()]),
            Transform::Softmax,
        );
        let mut out = [0.0; 3];
        assert_eq!(l.classify(&[2.0, 1.0], &mut out), 0);
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(l.classify(&[-2.0, -1.0], &mut out), 2);
    }

    #[test]
    fn one_score_with_two_labels_answers_its_complement() {
        let l = linear(
            vec![1.0],
            vec![-0.25],
            Labels::Ints(vec![3, 7]),
            Transform::Logistic,
        );
        let mut out = [0.0; 2];
        assert_eq!(l.classify(&[1.0], &mut out), 1);
        assert_eq!(out, [0.25, 0.75]);
        assert_eq!(l.classify(&[0.0], &mut out), 0);
    }
}
