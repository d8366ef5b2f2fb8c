//! What `/score` answers: the first output (`predict`), a classifier's probabilities
//! (`predict_proba`), or named outputs (`?outputs=`), wrapped as the request's form expects.

use crate::api::ApiError;
use crate::api::ScoreMethod as Method;
use crate::hf::{config::ModelConfig, labels::scores};
use crate::model::{write_output, Envelope, ModelSpec, Output, Predictions, Values};

/// A method named by the query string or AutoML's `GlobalParameters`.
pub fn method(name: &str) -> Result<Method, ApiError> {
    match name {
        "predict" => Ok(Method::Predict),
        "predict_proba" => Ok(Method::PredictProba),
        other => Err(ApiError::BadRequest(format!(
            "unknown method {other:?}; the methods are predict and predict_proba"
        ))),
    }
}

/// The outputs an answer holds, checked against the model before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// One output, its values answered as a list.
    One(usize),
    /// Several outputs, answered as an object keyed by output name.
    Named(Vec<usize>),
}

impl Selection {
    /// `outputs` (`?outputs=a,b` or `*`) wins over `method`.
    pub fn new(spec: &ModelSpec, method: Method, outputs: Option<&str>) -> Result<Self, ApiError> {
        if let Some(list) = outputs {
            if list.trim() == "*" {
                return Ok(Selection::Named((0..spec.outputs.len()).collect()));
            }
            let indices = list
                .split(',')
                .map(|name| {
                    let name = name.trim();
                    spec.outputs.iter().position(|o| o.name == name).ok_or_else(|| {
                        let names: Vec<&str> = spec.outputs.iter().map(|o| o.name.as_str()).collect();
                        ApiError::BadRequest(format!(
                            "unknown output {name:?}; the model's outputs are {}",
                            names.join(", ")
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            return Ok(Selection::Named(indices));
        }
        match method {
            Method::Predict => Ok(Selection::One(0)),
            Method::PredictProba => spec.probabilities().map(Selection::One).ok_or_else(|| {
                ApiError::BadRequest(
                    "predict_proba needs a classifier's probabilities, and this model has none \
                     (its outputs are not a label and a probability tensor); use predict"
                        .to_owned(),
                )
            }),
        }
    }

    /// The answer's JSON, inside the form's envelope.
    pub fn write(
        &self,
        envelope: Envelope,
        predictions: &Predictions,
        spec: &ModelSpec,
    ) -> Result<Vec<u8>, ApiError> {
        let mut out = Vec::new();
        out.extend_from_slice(match envelope {
            Envelope::Bare | Envelope::AutoMlImages => b"".as_slice(),
            Envelope::Results => br#"{"Results":"#,
            Envelope::Predictions => br#"{"predictions":"#,
        });
        match self {
            Selection::One(index) => write_output(&mut out, &predictions.outputs[*index], predictions.rows)?,
            Selection::Named(indices) => {
                out.push(b'{');
                for (n, &index) in indices.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, &spec.outputs[index].name)
                        .expect("a Vec takes any write");
                    out.push(b':');
                    write_output(&mut out, &predictions.outputs[index], predictions.rows)?;
                }
                out.push(b'}');
            }
        }
        if !matches!(envelope, Envelope::Bare | Envelope::AutoMlImages) {
            out.push(b'}');
        }
        Ok(out)
    }
}

/// AutoML's image answer: per image, `{"probs": [...], "labels": [...]}`, every label in
/// `config.json`'s order with its score (the pipelines' rule: softmax, sigmoid, or none).
/// `None` when the output is not one score per label.
pub fn write_automl_images(output: &Output, rows: usize, config: &ModelConfig) -> Option<Vec<u8>> {
    let Values::F32(values) = &output.values else {
        return None;
    };
    let width = config.labels.len();
    if output.per_row != width || values.len() != rows * width {
        return None;
    }
    #[derive(serde::Serialize)]
    struct Item<'a> {
        probs: Vec<f32>,
        labels: &'a [String],
    }
    let items: Vec<Item> = values
        .chunks_exact(width)
        .map(|logits| Item {
            probs: scores(logits, config.problem),
            labels: &config.labels,
        })
        .collect();
    Some(serde_json::to_vec(&items).expect("a Vec takes any write"))
}
