//! What a model takes and gives: every input and output by name, element type and shape, and
//! the rule its batch dimension follows.

use std::fmt;

use super::ElementType;

/// One input or output tensor. `shape` is what a request may send: dim 0 is the batch (`None`
/// when any number of items is taken), `None` elsewhere is a symbolic dimension (a sequence
/// length, an image size); a scalar input has the shape `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub element: ElementType,
    /// Values per item (1 for `[N]`); `None` when a dimension of the item is symbolic.
    pub width: Option<usize>,
    /// The tensor is `[N]` rather than `[N, width]`.
    pub rank1: bool,
    pub shape: Vec<Option<usize>>,
    /// A request may leave this input out (a text model's `text_pair`). Every item of a request
    /// sends it or none does; one left out reaches the predictor as a buffer of no values.
    pub optional: bool,
}

impl TensorSpec {
    /// A `[N, width]` tensor (`[N]` when `rank1`), as tabular models have.
    pub fn matrix(name: &str, element: ElementType, width: usize, rank1: bool) -> Self {
        let shape = if rank1 {
            vec![None]
        } else {
            vec![None, Some(width)]
        };
        TensorSpec {
            name: name.to_owned(),
            element,
            width: Some(width),
            rank1,
            shape,
            optional: false,
        }
    }

    /// This tensor, as an input a request may leave out (`optional`).
    pub fn optional(self) -> Self {
        TensorSpec {
            optional: true,
            ..self
        }
    }

    /// The shape as the KServe V2 protocol writes it, -1 for the batch (and any open dimension).
    pub fn v2_shape(&self) -> Vec<i64> {
        self.shape.iter().map(|d| d.map_or(-1, |d| d as i64)).collect()
    }

    /// A rank-0 input: one value per request, not per item.
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }

    /// The shape of one item: the shape without its batch dimension (a scalar's is `[]`).
    pub fn item_dims(&self) -> &[Option<usize>] {
        self.shape.get(1..).unwrap_or_default()
    }

    /// Whether the tabular parsers read this input: `[N]` or `[N, k]` of a tabular type.
    pub fn is_tabular(&self) -> bool {
        (1..=2).contains(&self.shape.len()) && self.width.is_some() && self.element.is_tabular()
    }

    /// Whether the model takes images: a rank-4 input (`[N, 3, H, W]` or NHWC).
    pub fn is_image(&self) -> bool {
        self.shape.len() == 4
    }

    /// The shape for messages: `[N, 3, 224, 224]`, `?` for a symbolic dimension.
    pub fn shape_text(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .enumerate()
            .map(|(i, d)| match d {
                Some(d) => d.to_string(),
                None if i == 0 => "N".to_owned(),
                None => "?".to_owned(),
            })
            .collect();
        format!("[{}]", dims.join(", "))
    }
}

/// How the model's batch dimension (dim 0 of its inputs) is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRule {
    /// Symbolic (or typed symbolic after a check): one run per request.
    Symbolic,
    /// Fixed at 1 and kept so: one run per item, answered as one batch.
    PerItem,
    /// Fixed at k > 1: a request has exactly k items.
    Fixed(usize),
    /// Every input is a scalar: one run per request of one item.
    Scalars,
}

impl fmt::Display for BatchRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchRule::Symbolic => f.write_str("symbolic batch dimension: one model run per request"),
            BatchRule::PerItem => {
                f.write_str("batch fixed at 1 by the export: one model run per item, answered as one batch")
            }
            BatchRule::Fixed(k) => write!(
                f,
                "batch fixed at {k} by the export: a request has exactly {k} items"
            ),
            BatchRule::Scalars => f.write_str("scalar inputs only: one model run per request"),
        }
    }
}

/// Every input (in the model's order, which a row's values fill) and every output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    /// Some models are exported with a fixed batch size; `None` means any number of rows.
    pub fixed_rows: Option<usize>,
    /// The batch is fixed at 1 and each item runs on its own (so requests cannot be batched).
    pub per_item: bool,
}

impl ModelSpec {
    /// A model of one `[N, width]` input named `input` and one `[N, 1]` output named `output`,
    /// both of `element` (the shape of a plain regressor, as fakes in tests use).
    pub fn matrix(width: usize, element: ElementType) -> Self {
        ModelSpec {
            inputs: vec![TensorSpec::matrix("input", element, width, false)],
            outputs: vec![TensorSpec::matrix("output", element, 1, false)],
            fixed_rows: None,
            per_item: false,
        }
    }

    /// The rule the batch dimension follows.
    pub fn batch_rule(&self) -> BatchRule {
        match (self.fixed_rows, self.per_item) {
            (Some(k), _) => BatchRule::Fixed(k),
            (None, true) => BatchRule::PerItem,
            _ if self.inputs.iter().all(TensorSpec::is_scalar) => BatchRule::Scalars,
            _ => BatchRule::Symbolic,
        }
    }

    /// Whether every input is read by the tabular parsers (rows, records, columns); other
    /// models take nested lists per item (`input/tensors`).
    pub fn is_tabular(&self) -> bool {
        self.inputs.iter().all(TensorSpec::is_tabular)
    }

    /// Whether dim 0 of the inputs and outputs is the batch: false when every input is a scalar
    /// (one run per request of one item, its outputs whole).
    pub fn is_batched(&self) -> bool {
        !self.inputs.iter().all(TensorSpec::is_scalar)
    }

    /// Whether the model takes images (a rank-4 input), whose JSON bodies grow large.
    pub fn takes_images(&self) -> bool {
        self.inputs.iter().any(TensorSpec::is_image)
    }

    /// The one input of a model that takes a numeric matrix (the classic `{"data": [[...]]}`
    /// case, parsed straight into one buffer).
    pub fn numeric_matrix(&self) -> Option<(usize, ElementType)> {
        match self.inputs.as_slice() {
            [input] if input.element.is_numeric() && input.is_tabular() => {
                Some((input.width?, input.element))
            }
            _ => None,
        }
    }

    /// Values in one positional row: every input's width, in input order.
    pub fn row_width(&self) -> usize {
        self.inputs.iter().map(|i| i.width.unwrap_or(1)).sum()
    }

    /// Values in one positional row that leaves the optional inputs out (they come last).
    pub fn required_width(&self) -> usize {
        self.inputs
            .iter()
            .filter(|i| !i.optional)
            .map(|i| i.width.unwrap_or(1))
            .sum()
    }

    /// Whether a request may leave some input out.
    pub fn has_optional_inputs(&self) -> bool {
        self.inputs.iter().any(|i| i.optional)
    }

    /// The index of a classifier's probabilities: the model answers a label `[N]` (int64 or
    /// string) first and a float `[N, C]` after it.
    pub fn probabilities(&self) -> Option<usize> {
        let label = self.outputs.first()?;
        if !matches!(label.element, ElementType::I64 | ElementType::String) {
            return None;
        }
        self.outputs
            .iter()
            .position(|o| matches!(o.element, ElementType::F32 | ElementType::F64) && !o.rank1)
    }

    /// The input names, for messages that list them.
    pub fn input_names(&self) -> String {
        self.inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
