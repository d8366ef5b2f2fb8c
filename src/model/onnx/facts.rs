//! What the ONNX graph declares: input and output names, element types and shapes, and how many
//! values its weights hold.

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::ModelLoadError;
use crate::model::{ElementType, TensorSpec};

pub(super) fn element_type(datum: DatumType) -> Option<ElementType> {
    match datum {
        DatumType::F32 => Some(ElementType::F32),
        DatumType::F64 => Some(ElementType::F64),
        DatumType::F16 => Some(ElementType::F16),
        DatumType::I8 => Some(ElementType::I8),
        DatumType::U8 => Some(ElementType::U8),
        DatumType::I16 => Some(ElementType::I16),
        DatumType::I32 => Some(ElementType::I32),
        DatumType::I64 => Some(ElementType::I64),
        DatumType::Bool => Some(ElementType::Bool),
        DatumType::String => Some(ElementType::String),
        _ => None,
    }
}

/// The most values one item of an input or output may hold, as the model declares its fixed
/// dimensions (symbolic ones counted at 1): buffers of one item (the warm-up's, a request's
/// rows) are sized from them, so a model file cannot make the server allocate without bound.
/// 2^26 values: a 3 x 2048 x 2048 image is 12.6 million, 2 GiB of float32 is 2^29.
pub(crate) const MAX_ITEM_ELEMENTS: usize = 1 << 26;

/// The values one item of `shape` holds (dim 0 left out, symbolic dimensions counted at 1),
/// refused past `MAX_ITEM_ELEMENTS`: `tensor` names it in the message.
pub(super) fn item_elements(shape: &[Option<usize>], tensor: String) -> Result<usize, ModelLoadError> {
    let items = shape.get(1..).unwrap_or_default();
    let elements = items
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(d.unwrap_or(1)));
    match elements {
        Some(elements) if elements <= MAX_ITEM_ELEMENTS => Ok(elements),
        _ => Err(ModelLoadError::ItemTooLarge {
            tensor,
            shape: shape_text(shape),
            elements: elements.map_or_else(|| "more than 2^64".to_owned(), |e| e.to_string()),
            limit: MAX_ITEM_ELEMENTS,
        }),
    }
}

fn shape_text(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or_else(|| "?".to_owned(), |d| d.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

/// Values per item when every dimension of the item is fixed (checked by `item_elements`).
fn width(shape: &[Option<usize>]) -> Option<usize> {
    shape
        .get(1..)
        .unwrap_or_default()
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul((*d)?))
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

/// One input as the model declares it.
pub(super) struct Declared {
    /// Its spec, with dim 0 as declared (`None` when symbolic or unknown).
    pub spec: TensorSpec,
    pub datum: DatumType,
    /// Every dimension to type it with: fixed ones as declared, others as symbols (the
    /// export's own names, or a new symbol for an unnamed one). Dim 0 is replaced by the rule.
    pub dims: TVec<TDim>,
}

impl Declared {
    /// The fact to set, with `batch` as dim 0 (a scalar input has none).
    pub fn fact(&self, batch: &TDim) -> InferenceFact {
        let mut dims = self.dims.clone();
        if let Some(first) = dims.first_mut() {
            *first = batch.clone();
        }
        InferenceFact::dt_shape(self.datum, dims)
    }

    /// Dim 0 when the export fixes it.
    pub fn fixed_batch(&self) -> Option<usize> {
        self.spec.shape.first().copied().flatten()
    }
}

/// Input `index` as the model declares it: any rank, every dimension fixed or symbolic.
pub(super) fn declared_input(
    model: &InferenceModel,
    index: usize,
    parse: &dyn Fn(TractError) -> ModelLoadError,
) -> Result<Declared, ModelLoadError> {
    let outlet = model.input_outlets().map_err(parse)?[index];
    let name = name(model, outlet);
    let declared = model.input_fact(index).map_err(parse)?.clone();
    let datum = declared.datum_type.concretize().unwrap_or(DatumType::F32);
    let element = element_type(datum).ok_or_else(|| ModelLoadError::InputType {
        name: name.clone(),
        datum,
    })?;
    if declared.shape.is_open() {
        let shape = declared.format_dt_shape();
        return Err(ModelLoadError::InputRank { name, shape });
    }
    let mut shape = Vec::new();
    let mut dims = TVec::new();
    for (axis, dim) in declared.shape.dims().enumerate() {
        let known = dim.concretize();
        let fixed = known
            .as_ref()
            .and_then(TDim::as_i64)
            .and_then(|d| usize::try_from(d).ok());
        shape.push(fixed);
        dims.push(match (fixed, known) {
            (Some(fixed), _) => fixed.to_dim(),
            (None, Some(symbolic)) => symbolic,
            (None, None) => model.sym(&format!("{name}_{axis}")).to_dim(),
        });
    }
    item_elements(&shape, format!("input {name:?}"))?;
    let width = width(&shape);
    let spec = TensorSpec {
        name,
        element,
        width,
        rank1: shape.len() == 1,
        shape,
        optional: false,
    };
    Ok(Declared { spec, datum, dims })
}

/// Every output after optimisation; an element type the server cannot answer is refused.
/// `batched`: dim 0 is the batch (any number of items), written `None`.
pub(super) fn output_specs(model: &TypedModel, batched: bool) -> Result<Vec<TensorSpec>, ModelLoadError> {
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
        let mut shape: Vec<Option<usize>> = fact
            .shape
            .iter()
            .map(|d| d.as_i64().and_then(|d| usize::try_from(d).ok()))
            .collect();
        if batched {
            if let Some(first) = shape.first_mut() {
                *first = None;
            }
        }
        item_elements(&shape, format!("output {name:?}"))?;
        let rank1 = shape.len() == 1;
        let width = if rank1 { Some(1) } else { width(&shape) };
        specs.push(TensorSpec {
            name,
            element,
            width,
            rank1,
            shape,
            optional: false,
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

/// How many values the graph's initializers (its weights) hold, as their shapes say.
pub(super) fn initializer_values(proto: &ModelProto) -> usize {
    let Some(graph) = &proto.graph else { return 0 };
    graph
        .initializer
        .iter()
        .map(|tensor| {
            tensor
                .dims
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
                .unwrap_or(usize::MAX)
        })
        .fold(0, usize::saturating_add)
}
