//! Request shapes against a tensor input: the rows and item shape a V2 shape gives, the values
//! they hold, and the shape as an error message shows it.

use super::bad;
use crate::api::ApiError;
use crate::model::TensorSpec;

/// The values `count` items (one when `None`, a scalar) of shape `item` hold; `None` past `usize`.
pub(super) fn values_needed(count: Option<usize>, item: &[usize]) -> Option<usize> {
    item.iter().try_fold(count.unwrap_or(1), |n, &d| n.checked_mul(d))
}

/// The rows and item shape of a request shape that fits a tensor input: its rank, every fixed
/// dimension as the model has it, every symbolic one at least 1. A scalar input takes `[]` or
/// `[1]`, and no rows.
pub(super) fn tensor_shape(
    shape: &[i64],
    input: &TensorSpec,
) -> Result<(Option<usize>, Vec<usize>), ApiError> {
    let misfit = || {
        bad(format!(
            "input {:?} shape {} does not fit the model's {:?}",
            input.name,
            shape_text(shape),
            input.v2_shape()
        ))
    };
    if input.is_scalar() {
        return match shape {
            [] | [1] => Ok((None, Vec::new())),
            _ => Err(misfit()),
        };
    }
    if shape.len() != input.shape.len() || shape.first().is_some_and(|&rows| rows < 1) {
        return Err(misfit());
    }
    let mut dims = Vec::with_capacity(shape.len());
    for (axis, (&given, &model)) in shape.iter().zip(&input.shape).enumerate() {
        let given = usize::try_from(given).map_err(|_| misfit())?;
        match model {
            Some(model) if model != given => return Err(misfit()),
            None if given == 0 => {
                return Err(bad(format!(
                "input {:?} shape {shape:?}: dimension {axis} is 0; the model's {:?} takes at least 1 there",
                input.name,
                input.v2_shape()
            )))
            }
            _ => {}
        }
        dims.push(given);
    }
    Ok((Some(dims[0]), dims.split_off(1)))
}

/// A request's shape as a message shows it: a shape of any rank the client chose does not fit
/// the model's, so only its first dimensions are shown.
fn shape_text(shape: &[i64]) -> String {
    const SHOWN: usize = 16;
    match shape.get(..SHOWN) {
        Some(start) if shape.len() > SHOWN => format!("{start:?}... ({} dimensions)", shape.len()),
        _ => format!("{shape:?}"),
    }
}

/// The rows of a request shape that fits `input`: `[n, width]`, or `[n]` for a rank-1 or
/// single-column input.
pub(super) fn rows_of(shape: &[i64], input: &TensorSpec) -> Result<Option<usize>, ApiError> {
    let width = input.width.unwrap_or(1);
    let rows = |n: i64| usize::try_from(n).ok().filter(|&n| n > 0);
    match shape {
        [n, w] if usize::try_from(*w) == Ok(width) => rows(*n),
        [n] if width == 1 => rows(*n),
        _ => None,
    }
    .map(Some)
    .ok_or_else(|| {
        bad(format!(
            "input {:?} shape {} does not fit the model's {:?}",
            input.name,
            shape_text(shape),
            input.v2_shape()
        ))
    })
}
