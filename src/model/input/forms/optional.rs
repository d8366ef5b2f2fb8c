//! Inputs a request may leave out (`TensorSpec::optional`, a text model's `text_pair`): the
//! errors of a request whose items do not all send them or none does.

use crate::model::{input::InputError, ModelSpec};

/// A row of neither the model's width nor its width without the optional inputs.
pub(super) fn wrong_width(row: usize, found: usize, spec: &ModelSpec) -> InputError {
    if !spec.has_optional_inputs() {
        return InputError::WrongWidth {
            row,
            found,
            expected: spec.row_width(),
        };
    }
    let names = |all: bool| -> Vec<&str> {
        spec.inputs
            .iter()
            .filter(|i| all || !i.optional)
            .map(|i| i.name.as_str())
            .collect()
    };
    InputError::WrongWidthOf {
        row,
        found,
        expected: format!(
            "{} ({}) or {} ({})",
            spec.required_width(),
            names(false).join(", "),
            spec.row_width(),
            names(true).join(", ")
        ),
    }
}

/// An item (`{path}[{index}]`) of `found` values where the first item had `first`: one sends the
/// optional inputs, the other does not.
pub(super) fn mixed_forms(
    path: &str,
    index: usize,
    found: usize,
    first: usize,
    spec: &ModelSpec,
) -> InputError {
    InputError::OptionalMixed {
        item: format!("{path}[{index}]"),
        detail: format!(
            "has {found} value{}, {path}[0] has {first}",
            if found == 1 { "" } else { "s" }
        ),
        inputs: optional_names(spec),
    }
}

pub(super) fn optional_names(spec: &ModelSpec) -> String {
    let names: Vec<String> = spec
        .inputs
        .iter()
        .filter(|i| i.optional)
        .map(|i| format!("{:?}", i.name))
        .collect();
    names.join(", ")
}
