//! `?method=embed` (SPEC 10): a text model's hidden states, mean-pooled over the attention mask
//! and L2-normalized, as sentence-transformers pool them.

use crate::model::{Output, PredictError, Values};

/// Masked mean pooling of `[N, T, H]` hidden states, each item L2-normalized.
pub(super) fn pool(
    hidden: &Output,
    mask: &[f64],
    rows: usize,
    longest: usize,
    width: usize,
) -> Result<Output, PredictError> {
    let Values::F32(states) = &hidden.values else {
        return Err(PredictError::engine("the hidden states are not float32"));
    };
    if states.len() != rows * longest * width {
        return Err(PredictError::engine(format!(
            "the hidden states have {} values, not {rows} x {longest} x {width}",
            states.len()
        )));
    }
    let mut pooled = Vec::with_capacity(rows * width);
    for row in 0..rows {
        let mut sum = vec![0f64; width];
        let mut count = 0f64;
        for t in 0..longest {
            let m = mask[row * longest + t];
            count += m;
            let state = &states[(row * longest + t) * width..][..width];
            for (s, &v) in sum.iter_mut().zip(state) {
                *s += m * f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / count.max(1e-9)).collect();
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        pooled.extend(mean.iter().map(|v| (v / norm) as f32));
    }
    Ok(Output {
        per_row: width,
        values: Values::F32(pooled),
        shape: vec![width],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_averages_the_unmasked_states_and_normalizes() {
        // Two items of two tokens, H = 2; the second item's second token is padding.
        let hidden = Output {
            per_row: 4,
            values: Values::F32(vec![3.0, 0.0, 1.0, 4.0, 0.0, 2.0, 9.0, 9.0]),
            shape: vec![2, 2],
        };
        let pooled = pool(&hidden, &[1.0, 1.0, 1.0, 0.0], 2, 2, 2).unwrap();
        let Values::F32(values) = pooled.values else {
            panic!("float32")
        };
        // Item 0: mean (2, 2), normalized (0.7071, 0.7071); item 1: (0, 2) -> (0, 1).
        let expected = [
            std::f32::consts::FRAC_1_SQRT_2,
            std::f32::consts::FRAC_1_SQRT_2,
            0.0,
            1.0,
        ];
        for (v, e) in values.iter().zip(expected) {
            assert!((v - e).abs() < 1e-6, "{values:?}");
        }
    }
}
