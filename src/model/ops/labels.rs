//! A classifier's class labels: int64 or strings, as ONNX's `classlabels_*` attributes list them.

use tract_onnx::tract_hir::internal::*;

/// Class labels of a classifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Labels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Labels {
    /// `classlabels_strings`, else the int64 labels under `ints` (`classlabels_ints` or
    /// `classlabels_int64s`, as each operator names them).
    pub fn read(node: &tract_onnx::pb::NodeProto, ints: &str) -> TractResult<Labels> {
        Ok(match node.get_attr_opt_vec::<String>("classlabels_strings")? {
            Some(strings) if !strings.is_empty() => Labels::Strings(strings),
            _ => Labels::Ints(node.get_attr_opt_vec::<i64>(ints)?.unwrap_or_default()),
        })
    }

    pub fn len(&self) -> usize {
        match self {
            Labels::Ints(v) => v.len(),
            Labels::Strings(v) => v.len(),
        }
    }

    pub fn datum_type(&self) -> DatumType {
        match self {
            Labels::Ints(_) => DatumType::I64,
            Labels::Strings(_) => DatumType::String,
        }
    }

    /// The labels at `positions`, as a `[rows]` tensor.
    pub fn tensor(&self, positions: &[usize]) -> TractResult<Tensor> {
        Ok(match self {
            Labels::Ints(l) => tract_ndarray::Array1::from_iter(positions.iter().map(|c| l[*c]))
                .into_dyn()
                .into(),
            Labels::Strings(l) => tract_ndarray::Array1::from_iter(positions.iter().map(|c| l[*c].clone()))
                .into_dyn()
                .into(),
        })
    }
}

/// The class labels a model's probabilities are in the order of, as text: a ZipMap's (which the
/// probabilities pass through), else the one classifier operator's. `None` when the graph does
/// not say (labels in a constant tensor, several classifiers without a ZipMap). Read before the
/// ZipMap is unwrapped, which clears its attributes.
pub fn class_labels(proto: &tract_onnx::pb::ModelProto) -> Option<Vec<String>> {
    let nodes = &proto.graph.as_ref()?.node;
    let labels = |node: &tract_onnx::pb::NodeProto, ints: &str| match Labels::read(node, ints).ok()? {
        Labels::Ints(ints) if ints.is_empty() => None,
        Labels::Ints(ints) => Some(ints.iter().map(i64::to_string).collect()),
        Labels::Strings(strings) => Some(strings),
    };
    if let Some(zipmap) = nodes.iter().find(|n| n.op_type == "ZipMap") {
        return labels(zipmap, "classlabels_int64s");
    }
    let mut classifiers = nodes.iter().filter_map(|node| match node.op_type.as_str() {
        "TreeEnsembleClassifier" => Some((node, "classlabels_int64s")),
        "LinearClassifier" | "SVMClassifier" => Some((node, "classlabels_ints")),
        _ => None,
    });
    match (classifiers.next(), classifiers.next()) {
        (Some((node, ints)), None) => labels(node, ints),
        _ => None,
    }
}

/// The rules of a model's outputs: `[rows]` labels (a classifier's, when `labels` gives their
/// type) and `[rows, width]` scores, float32 or of the input's type.
pub fn output_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    labels: Option<DatumType>,
    width: usize,
    scores_like_input: bool,
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    let scores = match labels {
        None => {
            check_output_arity(outputs, 1)?;
            &outputs[0]
        }
        Some(datum) => {
            check_output_arity(outputs, 2)?;
            s.equals(&outputs[0].datum_type, datum)?;
            s.equals(&outputs[0].rank, 1)?;
            s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
            &outputs[1]
        }
    };
    if scores_like_input {
        s.equals(&scores.datum_type, &inputs[0].datum_type)?;
    } else {
        s.equals(&scores.datum_type, f32::datum_type())?;
    }
    s.equals(&scores.rank, 2)?;
    s.equals(&scores.shape[0], &inputs[0].shape[0])?;
    s.equals(&scores.shape[1], width.to_dim())?;
    Ok(())
}
