//! `ai.onnx.ml` LinearClassifier (LogisticRegression, LinearSVC, SGDClassifier), replacing tract's,
//! which cannot answer string labels: scores `x · coefficientsᵀ + intercepts` in float32, the label
//! of the highest score (or of the sign of a single score), then onnxruntime's post transform.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::labels::Labels;
use super::trees::{logistic, probit, Transform};

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
            // onnxruntime 1.32 writes [1 - σ(s), σ(s)] for LOGISTIC, PROBIT of s alone (`eval`
            // moves it where onnxruntime puts it) and [1 - s, s] for every other transform.
            let s = out[0];
            (out[0], out[1]) = match self.transform {
                Transform::Logistic => (logistic(-s), logistic(s)),
                Transform::Probit => (probit(s), 0.0),
                _ => (1.0 - s, s),
            };
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
        if linear.adds_second_class() && linear.transform == Transform::Probit {
            // onnxruntime writes one PROBIT value per row, row after row, at the start of the
            // [rows, 2] output, and zeros after them.
            let probits: Vec<f32> = scores.chunks_exact(2).map(|row| row[0]).collect();
            scores.fill(0.0);
            scores[..rows].copy_from_slice(&probits);
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

    /// Each one-score model of tests/models/make_linear.py against onnxruntime's answers.
    #[test]
    fn one_score_with_two_labels_answers_as_onnxruntime() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/linear_classifier");
        let answers: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{folder}/answers.json")).unwrap())
                .unwrap();
        let answers = answers.as_object().unwrap();
        assert_eq!(answers.len(), 6, "every post_transform, and string labels");
        for (name, answer) in answers {
            let x: Vec<Vec<f32>> = serde_json::from_value(answer["x"].clone()).unwrap();
            let expected: Vec<Vec<f32>> = serde_json::from_value(answer["scores"].clone()).unwrap();
            let plan = super::super::onnx()
                .model_for_path(format!("{folder}/{name}.onnx"))
                .and_then(|m| m.with_input_fact(0, f32::fact([x.len(), 2]).into()))
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .unwrap();
            let input = tract_ndarray::Array2::from_shape_vec((x.len(), 2), x.concat()).unwrap();
            let outputs = plan.run(tvec!(Tensor::from(input).into_tvalue())).unwrap();
            let labels: Vec<String> = match outputs[0].datum_type() {
                DatumType::String => outputs[0]
                    .to_plain_array_view::<String>()
                    .unwrap()
                    .iter()
                    .cloned()
                    .collect(),
                _ => outputs[0]
                    .to_plain_array_view::<i64>()
                    .unwrap()
                    .iter()
                    .map(i64::to_string)
                    .collect(),
            };
            let want: Vec<String> = answer["label"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.to_string().replace('"', ""))
                .collect();
            assert_eq!(labels, want, "{name} labels");
            let scores = outputs[1].to_plain_array_view::<f32>().unwrap();
            // Within 1e-5, relative (absolute near zero), as the zoo's tests compare.
            for (got, want) in scores.iter().zip(expected.concat()) {
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{name}: {got} vs onnxruntime's {want}\n{scores}"
                );
            }
        }
    }
}
