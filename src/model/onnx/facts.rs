//! What the ONNX graph declares: input/output names, element types and output shapes.

use tract_onnx::prelude::*;

use super::ModelLoadError;
use crate::model::ElementType;

/// The names of the first input and output, as the ONNX graph declares them.
pub(super) fn io_names(model: &InferenceModel) -> TractResult<(String, String)> {
    let input = model.input_outlets()?[0];
    let output = *model
        .output_outlets()?
        .first()
        .ok_or_else(|| anyhow::anyhow!("the model has no output"))?;
    let name = |outlet: OutletId| {
        model
            .outlet_label(outlet)
            .map_or_else(|| model.node(outlet.node).name.clone(), str::to_owned)
    };
    Ok((name(input), name(output)))
}

pub(super) fn element_type(datum: DatumType) -> Option<ElementType> {
    match datum {
        DatumType::F32 => Some(ElementType::F32),
        DatumType::F64 => Some(ElementType::F64),
        DatumType::I32 => Some(ElementType::I32),
        DatumType::I64 => Some(ElementType::I64),
        _ => None,
    }
}

pub(super) fn describe_outputs(model: &TypedModel) -> Result<String, ModelLoadError> {
    let outlets = model
        .output_outlets()
        .map_err(|e| ModelLoadError::Optimise(e.to_string()))?;
    let mut shapes = Vec::with_capacity(outlets.len());
    for index in 0..outlets.len() {
        let fact = model
            .output_fact(index)
            .map_err(|e| ModelLoadError::Optimise(e.to_string()))?;
        if element_type(fact.datum_type).is_none() {
            return Err(ModelLoadError::OutputType {
                index,
                datum: fact.datum_type,
            });
        }
        shapes.push(format!("{fact:?}"));
    }
    Ok(shapes.join(" "))
}
