//! What the ONNX graph declares: input and output names, element types and shapes.

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::ModelLoadError;
use crate::model::{ElementType, TensorSpec};

pub(super) fn element_type(datum: DatumType) -> Option<ElementType> {
    match datum {
        DatumType::F32 => Some(ElementType::F32),
        DatumType::F64 => Some(ElementType::F64),
        DatumType::I32 => Some(ElementType::I32),
        DatumType::I64 => Some(ElementType::I64),
        DatumType::Bool => Some(ElementType::Bool),
        DatumType::String => Some(ElementType::String),
        _ => None,
    }
}

/// The name of an input or output, as the ONNX graph declares it.
fn name<F: Fact + Clone + 'static, O>(model: &Graph<F, O>, outlet: OutletId) -> String
where
    O: std::fmt::Debug + std::fmt::Display + AsRef<dyn Op> + AsMut<dyn Op> + Clone + 'static,
{
    model
        .outlet_label(outlet)
        .map_or_else(|| model.node(outlet.node).name.clone(), str::to_owned)
}

/// Input `index` as the model declares it: its spec, its declared batch size (if fixed), and
/// the fact to set, with `rows` for an unknown batch dimension.
pub(super) fn declared_input(
    model: &InferenceModel,
    index: usize,
    rows: &Symbol,
    parse: &dyn Fn(TractError) -> ModelLoadError,
) -> Result<(TensorSpec, Option<usize>, InferenceFact), ModelLoadError> {
    let outlet = model.input_outlets().map_err(parse)?[index];
    let name = name(model, outlet);
    let declared = model.input_fact(index).map_err(parse)?.clone();
    let datum = declared.datum_type.concretize().unwrap_or(DatumType::F32);
    let element = element_type(datum).ok_or_else(|| ModelLoadError::InputType {
        name: name.clone(),
        datum,
    })?;
    let dims: Vec<Option<usize>> = declared
        .shape
        .dims()
        .map(|d| {
            d.concretize()
                .and_then(|d| d.as_i64())
                .and_then(|d| usize::try_from(d).ok())
        })
        .collect();
    let shape = declared.format_dt_shape();
    if declared.shape.is_open() || !(1..=2).contains(&dims.len()) {
        return Err(ModelLoadError::InputRank { name, shape });
    }
    let rank1 = dims.len() == 1;
    let width = if rank1 {
        1
    } else {
        dims[1].ok_or_else(|| ModelLoadError::OpenWidth {
            name: name.clone(),
            shape,
        })?
    };
    let batch = dims[0].map_or_else(|| rows.to_dim(), |fixed| fixed.to_dim());
    let fact = if rank1 {
        InferenceFact::dt_shape(datum, tvec![batch])
    } else {
        InferenceFact::dt_shape(datum, tvec![batch, width.to_dim()])
    };
    let spec = TensorSpec {
        name,
        element,
        width: Some(width),
        rank1,
    };
    Ok((spec, dims[0], fact))
}

/// Every output after optimisation; an element type the server cannot answer is refused.
pub(super) fn output_specs(model: &TypedModel) -> Result<Vec<TensorSpec>, ModelLoadError> {
    let outlets = model
        .output_outlets()
        .map_err(|e| ModelLoadError::Optimise(e.to_string()))?;
    let mut specs = Vec::with_capacity(outlets.len());
    for (index, outlet) in outlets.iter().enumerate() {
        let fact = model
            .output_fact(index)
            .map_err(|e| ModelLoadError::Optimise(e.to_string()))?;
        let name = name(model, *outlet);
        let element = element_type(fact.datum_type).ok_or_else(|| ModelLoadError::OutputType {
            name: name.clone(),
            datum: fact.datum_type,
        })?;
        let rank1 = fact.rank() == 1;
        let width = if rank1 {
            Some(1)
        } else {
            fact.shape
                .get(1)
                .and_then(|d| d.as_i64())
                .and_then(|d| usize::try_from(d).ok())
        };
        specs.push(TensorSpec {
            name,
            element,
            width,
            rank1,
        });
    }
    Ok(specs)
}

/// Input and output shapes as tract sees them after optimisation, e.g. `N,10,F64`.
pub(super) fn describe(model: &TypedModel) -> TractResult<(String, String)> {
    let facts = |count: usize, fact: &dyn Fn(usize) -> TractResult<String>| {
        (0..count)
            .map(fact)
            .collect::<TractResult<Vec<_>>>()
            .map(|v| v.join(" "))
    };
    let inputs = facts(model.input_outlets()?.len(), &|i| {
        Ok(format!("{:?}", model.input_fact(i)?))
    })?;
    let outputs = facts(model.output_outlets()?.len(), &|i| {
        Ok(format!("{:?}", model.output_fact(i)?))
    })?;
    Ok((inputs, outputs))
}

/// tract reads ONNX's Cast to int64 as a cast to its symbolic dimension type (for shape
/// arithmetic); an output of that type (a classifier's label cast to int64) is cast back.
pub(super) fn tdim_outputs_as_i64(model: &mut TypedModel) -> TractResult<()> {
    let outputs = model.output_outlets()?.to_vec();
    let mut changed = false;
    let mut wired = Vec::with_capacity(outputs.len());
    for outlet in outputs {
        if model.outlet_fact(outlet)?.datum_type != DatumType::TDim {
            wired.push(outlet);
            continue;
        }
        let label = model.outlet_label(outlet).map(str::to_owned);
        let name = format!("{}.as_i64", model.node(outlet.node).name);
        let cast = model.wire_node(
            name,
            tract_onnx::tract_core::ops::cast::cast(DatumType::I64),
            &[outlet],
        )?[0];
        if let Some(label) = label {
            model.set_outlet_label(cast, label)?;
        }
        wired.push(cast);
        changed = true;
    }
    if changed {
        model.select_output_outlets(&wired)?;
    }
    Ok(())
}
