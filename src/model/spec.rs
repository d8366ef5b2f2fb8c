//! What a model takes and gives: every input and output by name, element type and width.

use super::ElementType;

/// One input or output tensor: `[N, width]`, or `[N]` when `rank1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub element: ElementType,
    /// Values per row (1 for `[N]`); `None` for an output whose width the model leaves open.
    pub width: Option<usize>,
    /// The tensor is `[N]` rather than `[N, width]`.
    pub rank1: bool,
}

impl TensorSpec {
    /// The shape as the KServe V2 protocol writes it, -1 for the batch (and any open width).
    pub fn v2_shape(&self) -> Vec<i64> {
        let width = self.width.map_or(-1, |w| w as i64);
        if self.rank1 {
            vec![-1]
        } else {
            vec![-1, width]
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
}

impl ModelSpec {
    /// A model of one `[N, width]` input named `input` and one `[N, 1]` output named `output`,
    /// both of `element` (the shape of a plain regressor, as fakes in tests use).
    pub fn matrix(width: usize, element: ElementType) -> Self {
        let tensor = |name: &str, width| TensorSpec {
            name: name.to_owned(),
            element,
            width: Some(width),
            rank1: false,
        };
        ModelSpec {
            inputs: vec![tensor("input", width)],
            outputs: vec![tensor("output", 1)],
            fixed_rows: None,
        }
    }

    /// The one input of a model that takes a numeric matrix (the classic `{"data": [[...]]}`
    /// case, parsed straight into one buffer).
    pub fn numeric_matrix(&self) -> Option<(usize, ElementType)> {
        match self.inputs.as_slice() {
            [input] if input.element.is_numeric() => Some((input.width?, input.element)),
            _ => None,
        }
    }

    /// Values in one positional row: every input's width, in input order.
    pub fn row_width(&self) -> usize {
        self.inputs.iter().map(|i| i.width.unwrap_or(1)).sum()
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
