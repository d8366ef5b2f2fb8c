//! Our buffers as tract tensors and back, without copies.

use tract_onnx::prelude::*;

use super::super::{PredictError, Values};

/// A tensor of `shape` over `values`, without a copy.
pub(super) fn into_tensor(values: Values, shape: &[usize]) -> Result<Tensor, PredictError> {
    fn shaped<T: Datum>(values: Vec<T>, shape: &[usize]) -> Result<Tensor, PredictError> {
        let array = tract_ndarray::ArrayD::from_shape_vec(shape, values).map_err(PredictError::engine)?;
        Ok(Tensor::from(array))
    }
    match values {
        Values::F32(v) => shaped(v, shape),
        Values::F64(v) => shaped(v, shape),
        Values::F16(v) => shaped(v, shape),
        Values::I8(v) => shaped(v, shape),
        Values::U8(v) => shaped(v, shape),
        Values::I16(v) => shaped(v, shape),
        Values::I32(v) => shaped(v, shape),
        Values::I64(v) => shaped(v, shape),
        Values::Bool(v) => shaped(v, shape),
        Values::String(v) => shaped(v, shape),
    }
}

/// The tensor's values, row-major, without a copy when tract hands over its buffer.
pub(super) fn from_tensor(tensor: Tensor) -> Result<Values, PredictError> {
    fn plain<T: Datum>(tensor: Tensor) -> Result<Vec<T>, PredictError> {
        let array = tensor.into_plain_array::<T>().map_err(PredictError::engine)?;
        Ok(array.into_raw_vec_and_offset().0)
    }
    Ok(match tensor.datum_type() {
        DatumType::F32 => Values::F32(plain(tensor)?),
        DatumType::F64 => Values::F64(plain(tensor)?),
        DatumType::F16 => Values::F16(plain(tensor)?),
        DatumType::I8 => Values::I8(plain(tensor)?),
        DatumType::U8 => Values::U8(plain(tensor)?),
        DatumType::I16 => Values::I16(plain(tensor)?),
        DatumType::I32 => Values::I32(plain(tensor)?),
        DatumType::I64 => Values::I64(plain(tensor)?),
        DatumType::Bool => Values::Bool(plain(tensor)?),
        DatumType::String => Values::String(plain(tensor)?),
        other => return Err(PredictError::engine(format!("unsupported output type {other:?}"))),
    })
}
