//! `config.json`: the labels of a classifier's outputs (`id2label`) and how its scores are read
//! (`problem_type`), as the `transformers` pipelines use them.

use std::path::Path;

use serde::Deserialize;

use super::{read_optional, FileError};

/// The most labels a model may name: ImageNet-21k has 21,843.
const MAX_LABELS: usize = 1 << 20;

/// How a classifier's logits become scores (`problem_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    /// Softmax over the labels (the default with two labels or more).
    SingleLabel,
    /// A sigmoid per label (`multi_label_classification`, and any model with a single label).
    MultiLabel,
    /// Logits answered as they are (`regression`).
    Regression,
}

/// What `config.json` says about the model's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// Label names in output order: `id2label["0"]`, `id2label["1"]`, ...
    pub labels: Vec<String>,
    pub problem: ProblemType,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    id2label: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    problem_type: Option<String>,
}

impl ModelConfig {
    /// `dir/config.json`; `None` when the file is absent or names no labels.
    pub fn read(dir: &Path) -> Result<Option<ModelConfig>, FileError> {
        let file = dir.join("config.json");
        let Some(text) = read_optional(&file)? else {
            return Ok(None);
        };
        Self::parse(&file, &text)
    }

    fn parse(file: &Path, text: &str) -> Result<Option<ModelConfig>, FileError> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| {
            FileError::new(
                file,
                "(file)",
                format!("is not a JSON object of the expected fields: {e}"),
            )
        })?;
        let Some(id2label) = raw.id2label.filter(|map| !map.is_empty()) else {
            return Ok(None);
        };
        let labels = labels_in_order(file, id2label)?;
        let problem = match raw.problem_type.as_deref() {
            Some("regression") => ProblemType::Regression,
            Some("multi_label_classification") => ProblemType::MultiLabel,
            // The pipelines' rule: a single label is a sigmoid, more a softmax.
            Some("single_label_classification") | None if labels.len() == 1 => ProblemType::MultiLabel,
            Some("single_label_classification") | None => ProblemType::SingleLabel,
            Some(other) => {
                return Err(FileError::new(
                    file,
                    "problem_type",
                    format!(
                        "is {other:?}; expected \"single_label_classification\", \
                         \"multi_label_classification\" or \"regression\""
                    ),
                ))
            }
        };
        Ok(Some(ModelConfig { labels, problem }))
    }
}

/// `id2label`'s names by index: keys must be exactly "0" to "n-1" (in any order), names strings.
fn labels_in_order(
    file: &Path,
    id2label: serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<String>, FileError> {
    let count = id2label.len();
    if count > MAX_LABELS {
        return Err(FileError::new(
            file,
            "id2label",
            format!("has {count} labels, more than {MAX_LABELS}"),
        ));
    }
    let mut labels = vec![None; count];
    for (key, name) in id2label {
        let field = || format!("id2label[{key:?}]");
        let index = key
            .parse::<usize>()
            .ok()
            .filter(|&index| index < count)
            .ok_or_else(|| {
                FileError::new(file, field(), format!("is not an index from 0 to {}", count - 1))
            })?;
        let serde_json::Value::String(name) = name else {
            return Err(FileError::new(file, field(), "is not a string"));
        };
        if labels[index].replace(name).is_some() {
            return Err(FileError::new(file, field(), "names an index twice"));
        }
    }
    // `count` distinct indices below `count` fill every place.
    Ok(labels
        .into_iter()
        .map(|name| name.expect("every index named once"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<ModelConfig>, String> {
        ModelConfig::parse(Path::new("m/config.json"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn labels_come_in_index_order_with_the_pipelines_problem_rule() {
        let config = parse(r#"{"id2label": {"1": "dog", "0": "cat"}, "architectures": ["X"]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(config.labels, ["cat", "dog"]);
        assert_eq!(config.problem, ProblemType::SingleLabel);
        let one = parse(r#"{"id2label": {"0": "toxic"}}"#).unwrap().unwrap();
        assert_eq!(one.problem, ProblemType::MultiLabel);
        let multi =
            parse(r#"{"id2label": {"0": "a", "1": "b"}, "problem_type": "multi_label_classification"}"#);
        assert_eq!(multi.unwrap().unwrap().problem, ProblemType::MultiLabel);
        let regression = parse(r#"{"id2label": {"0": "LABEL_0"}, "problem_type": "regression"}"#);
        assert_eq!(regression.unwrap().unwrap().problem, ProblemType::Regression);
    }

    #[test]
    fn no_labels_means_no_label_answers() {
        assert_eq!(parse(r#"{"hidden_size": 8}"#).unwrap(), None);
        assert_eq!(parse(r#"{"id2label": {}}"#).unwrap(), None);
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let gap = parse(r#"{"id2label": {"0": "a", "2": "b"}}"#).unwrap_err();
        assert_eq!(
            gap,
            r#"m/config.json: id2label["2"]: is not an index from 0 to 1"#
        );
        let number = parse(r#"{"id2label": {"0": 7}}"#).unwrap_err();
        assert_eq!(number, r#"m/config.json: id2label["0"]: is not a string"#);
        let problem = parse(r#"{"id2label": {"0": "a"}, "problem_type": "ranking"}"#).unwrap_err();
        assert!(
            problem.starts_with("m/config.json: problem_type: is \"ranking\""),
            "{problem}"
        );
        let broken = parse("{").unwrap_err();
        assert!(
            broken.starts_with("m/config.json: (file): is not a JSON object"),
            "{broken}"
        );
    }
}
