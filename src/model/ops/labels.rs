//! A classifier's class labels: int64 or strings, as ONNX's `classlabels_*` attributes list them.

use tract_onnx::tract_hir::internal::*;

/// Class labels of a classifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Labels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Labels {
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
