//! What `/score` answers: the first output (`predict`; labels with scores when the model has
//! `config.json` labels for it), a classifier's probabilities (`predict_proba`), a text model's
//! embeddings (`embed`), or named outputs (`?outputs=`), wrapped as the request's form expects.

use crate::api::ApiError;
use crate::api::ScoreMethod as Method;
use crate::hf::text::EMBEDDING_OUTPUT;
use crate::hf::{config::ModelConfig, labels::scores};
use crate::model::{
    write_labels, write_output, Answered, ElementType, Envelope, ModelSpec, Output, Predictions, Predictor,
    Values,
};

/// A method named by the query string or AutoML's `GlobalParameters`.
pub fn method(name: &str) -> Result<Method, ApiError> {
    match name {
        "predict" => Ok(Method::Predict),
        "predict_proba" => Ok(Method::PredictProba),
        "embed" => Ok(Method::Embed),
        other => Err(ApiError::BadRequest(format!(
            "unknown method {other:?}; the methods are predict, predict_proba and embed"
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
    /// The first output as labels (`config.json`'s `id2label`): the best per item, or the
    /// `top_k` best as a list.
    Labels { top_k: Option<usize> },
}

impl Selection {
    /// `outputs` (`?outputs=a,b` or `*`) wins over `method`; `top_k` (`?top_k=`) asks for a
    /// list of labels.
    pub fn new(
        model: &dyn Predictor,
        method: Method,
        outputs: Option<&str>,
        top_k: Option<usize>,
    ) -> Result<Self, ApiError> {
        let spec = model.spec();
        let labelled = model.labels().filter(|config| {
            spec.outputs.first().is_some_and(|o| {
                matches!(o.element, ElementType::F32 | ElementType::F64 | ElementType::F16)
                    && o.width == Some(config.labels.len())
                    && !o.rank1
            })
        });
        if top_k.is_some() && (labelled.is_none() || outputs.is_some() || method != Method::Predict) {
            return Err(ApiError::BadRequest(
                "top_k asks for labels, and this answer has none: it needs a model with config.json's id2label \
                 for its first output, method predict and no ?outputs="
                    .to_owned(),
            ));
        }
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
            Method::Predict if labelled.is_some() => Ok(Selection::Labels { top_k }),
            Method::Predict => Ok(Selection::One(0)),
            Method::Embed => spec
                .outputs
                .iter()
                .position(|o| o.name == EMBEDDING_OUTPUT)
                .map(Selection::One)
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "embed needs a text model (tokenizer.json) that answers hidden states \
                         (last_hidden_state [N, T, H]), and this model is not one; use predict"
                            .to_owned(),
                    )
                }),
            Method::PredictProba => spec.probabilities().map(Selection::One).ok_or_else(|| {
                ApiError::BadRequest(
                    "predict_proba needs a classifier's probabilities, and this model has none \
                     (its outputs are not a label and a probability tensor); use predict"
                        .to_owned(),
                )
            }),
        }
    }

    /// What the answer holds, for data collection: `predict_proba`'s one output is a
    /// classifier's probabilities.
    pub fn answered(&self, method: Method) -> Answered {
        match (self, method) {
            (Selection::One(index), Method::PredictProba) => Answered::Probabilities(*index),
            (Selection::One(index), _) => Answered::Outputs(vec![*index]),
            (Selection::Named(indices), _) => Answered::Outputs(indices.clone()),
            // The scores the labels were read from (the first output).
            (Selection::Labels { .. }, _) => Answered::Outputs(vec![0]),
        }
    }

    /// The answer's JSON, inside the form's envelope.
    pub fn write(
        &self,
        envelope: Envelope,
        predictions: &Predictions,
        model: &dyn Predictor,
    ) -> Result<Vec<u8>, ApiError> {
        let spec: &ModelSpec = model.spec();
        let mut out = Vec::new();
        out.extend_from_slice(match envelope {
            Envelope::Bare | Envelope::AutoMlImages => b"".as_slice(),
            Envelope::Results => br#"{"Results":"#,
            Envelope::Predictions => br#"{"predictions":"#,
        });
        match self {
            Selection::One(index) => write_output(&mut out, &predictions.outputs[*index], predictions.rows)?,
            Selection::Labels { top_k } => {
                let config = model
                    .labels()
                    .expect("a selection of labels is made for a model with labels");
                write_labels(
                    &mut out,
                    &predictions.outputs[0],
                    predictions.rows,
                    config,
                    *top_k,
                )?;
            }
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

/// The `columns` of a split-form body (`input_data` or `dataframe_split`), which name a matrix
/// model's features, for data collection. Only asked for collected requests: the body is read
/// again, and only when it holds the key at all.
pub fn split_columns(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(borrow)]
        input_data: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        dataframe_split: Option<&'a serde_json::value::RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Split {
        columns: Vec<String>,
    }
    const KEY: &[u8] = b"\"columns\"";
    if !body.windows(KEY.len()).any(|window| window == KEY) {
        return None;
    }
    let top: Top<'_> = serde_json::from_slice(body).ok()?;
    let split = top.input_data.or(top.dataframe_split)?;
    let split: Split = serde_json::from_str(split.get()).ok()?;
    Some(split.columns)
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_columns_are_read_from_either_split_form_and_nothing_else() {
        let body = br#"{"input_data": {"columns": ["a", "b"], "index": [0], "data": [[1, 2]]}}"#;
        assert_eq!(
            super::split_columns(body),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        let body = br#"{"dataframe_split": {"columns": ["x"], "data": [[1]]}}"#;
        assert_eq!(super::split_columns(body), Some(vec!["x".to_owned()]));
        assert_eq!(super::split_columns(br#"{"data": [[1, 2]]}"#), None);
        assert_eq!(
            super::split_columns(br#"{"input_data": [[1, 2]], "columns": 1}"#),
            None
        );
    }
}
