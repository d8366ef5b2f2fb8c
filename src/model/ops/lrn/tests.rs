//! LRN against the ONNX formula written out element by element (in f64), on shapes of rank 2 to 4,
//! even and odd windows and windows wider than the channels; and through the ONNX parser, as
//! start-up loads a model. onnxruntime's answers on a whole network are a fixture test
//! (`tests/fixtures/tensors/lrn_cnn`).

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::*;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::format_err;

use super::Lrn;
use tract_onnx::prelude::f16;

/// Deterministic values in [-2, 2): a linear congruential sequence.
fn values(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
        })
        .collect()
}

/// The ONNX definition, one element at a time.
fn reference(lrn: &Lrn, shape: &[usize], x: &[f64]) -> Vec<f64> {
    let channels = shape[1];
    let plane: usize = shape[2..].iter().product();
    let (alpha, beta, bias) = (lrn.alpha as f64, lrn.beta as f64, lrn.bias as f64);
    let mut y = vec![0.0; x.len()];
    for (i, y) in y.iter_mut().enumerate() {
        let (image, c, at) = (i / (channels * plane), i / plane % channels, i % plane);
        let lowest = c.saturating_sub((lrn.size - 1) / 2);
        let highest = (c + (lrn.size - 1).div_ceil(2)).min(channels - 1);
        let sum: f64 = (lowest..=highest)
            .map(|other| x[(image * channels + other) * plane + at].powi(2))
            .sum();
        *y = x[i] / (bias + alpha / lrn.size as f64 * sum).powf(beta);
    }
    y
}

fn lrn(size: usize, alpha: f32, beta: f32, bias: f32) -> Lrn {
    Lrn {
        alpha,
        beta,
        bias,
        size,
    }
}

const CASES: [(&[usize], usize); 8] = [
    (&[1, 7, 3, 4], 5),
    (&[2, 6, 5, 3], 4),
    (&[1, 5, 2, 2], 1),
    (&[1, 3, 4, 4], 9),
    (&[3, 4, 6], 3),
    (&[2, 9], 2),
    (&[1, 1, 3, 3], 5),
    (&[2, 5, 1, 1], 6),
];

#[test]
fn float32_answers_as_the_formula() {
    for (case, &(shape, size)) in CASES.iter().enumerate() {
        for op in [
            lrn(size, 1e-4, 0.75, 1.0),
            lrn(size, 0.5, 0.6, 2.0),
            lrn(size, 2.0, 1.3, 0.5),
        ] {
            let x = values(shape.iter().product(), case as u64);
            let input: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let got = op
                .eval_t::<f32>(&Tensor::from_shape(shape, &input).unwrap())
                .unwrap();
            assert_eq!(got.shape(), shape);
            let want = reference(&op, shape, &input.iter().map(|&v| v as f64).collect::<Vec<_>>());
            for (i, (&got, want)) in crate::model::ops::row_major::<f32>(&got)
                .unwrap()
                .iter()
                .zip(want)
                .enumerate()
            {
                let tolerance = 2e-6 * want.abs().max(1e-3);
                assert!(
                    (got as f64 - want).abs() <= tolerance,
                    "{shape:?} size {size} {op:?}: y[{i}] = {got}, want {want}"
                );
            }
        }
    }
}

#[test]
fn float64_answers_as_the_formula() {
    for (case, &(shape, size)) in CASES.iter().enumerate() {
        let op = lrn(size, 0.5, 0.75, 1.0);
        let x = values(shape.iter().product(), case as u64 + 100);
        let got = op.eval_t::<f64>(&Tensor::from_shape(shape, &x).unwrap()).unwrap();
        let want = reference(&op, shape, &x);
        for (i, (&got, want)) in crate::model::ops::row_major::<f64>(&got)
            .unwrap()
            .iter()
            .zip(want)
            .enumerate()
        {
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1e-3),
                "{shape:?} size {size}: y[{i}] = {got}, want {want}"
            );
        }
    }
}

#[test]
fn float16_is_computed_in_float32_so_large_values_do_not_overflow() {
    let shape = [1, 6, 2, 2];
    let op = lrn(5, 1e-4, 0.75, 1.0);
    // Up to 1,000: squares overflow float16 (largest finite 65,504) past 256.
    let x: Vec<f64> = values(24, 9).iter().map(|v| (v * 500.0).round()).collect();
    let input: Vec<f16> = x.iter().map(|&v| f16::from_f64(v)).collect();
    let got = op.eval_any(&Tensor::from_shape(&shape, &input).unwrap()).unwrap();
    let want = reference(&op, &shape, &x);
    for (i, (&got, want)) in crate::model::ops::row_major::<f16>(&got)
        .unwrap()
        .iter()
        .zip(want)
        .enumerate()
    {
        let got = got.to_f64();
        assert!(
            got.is_finite() && (got - want).abs() <= 1e-3 * want.abs().max(1.0),
            "y[{i}] = {got}, want {want}"
        );
    }
}

#[test]
fn an_empty_tensor_answers_empty() {
    for shape in [&[0, 4, 2, 2][..], &[1, 0, 3], &[2, 3, 0]] {
        let got = lrn(3, 1e-4, 0.75, 1.0)
            .eval_t::<f32>(&Tensor::zero::<f32>(shape).unwrap())
            .unwrap();
        assert_eq!(got.shape(), shape);
    }
}

/// One LRN node over `[N, 4, 3, 3]` float input, given `size` and, when `given` is true, alpha
/// 0.3 and beta 0.9 (never bias).
fn model(size: i64, given: bool) -> ModelProto {
    let attribute = |name: &str, r#type: AttributeType, f: f32, i: i64| AttributeProto {
        name: name.into(),
        r#type: r#type as i32,
        f,
        i,
        ..Default::default()
    };
    let node = NodeProto {
        op_type: "LRN".into(),
        name: "norm1".into(),
        input: vec!["x".into()],
        output: vec!["y".into()],
        attribute: [
            vec![attribute("size", AttributeType::Int, 0.0, size)],
            if given {
                vec![
                    attribute("alpha", AttributeType::Float, 0.3, 0),
                    attribute("beta", AttributeType::Float, 0.9, 0),
                ]
            } else {
                vec![]
            },
        ]
        .concat(),
        ..Default::default()
    };
    crate::model::test_proto::model(vec![node], vec![], 4)
}

fn load_and_run(proto: &ModelProto, x: &[f32]) -> TractResult<Vec<f32>> {
    let mut model = crate::model::ops::onnx().parse(proto, None)?.model;
    model.set_input_fact(0, f32::fact([2, 4, 3, 3]).into())?;
    let model = model.into_optimized()?;
    if !model.nodes.iter().any(|node| node.op_is::<Lrn>()) {
        return Err(format_err!("the plan does not run our LRN: {model}"));
    }
    let plan = model.into_runnable()?;
    let outputs = plan.run(tvec!(Tensor::from_shape(&[2, 4, 3, 3], x)?.into_tvalue()))?;
    Ok(crate::model::ops::row_major::<f32>(&outputs[0])?.into_owned())
}

#[test]
fn a_loaded_graph_runs_ours_with_the_defaults_it_was_not_given() {
    let x: Vec<f32> = values(72, 7).iter().map(|&v| v as f32).collect();
    // bias is never given (1); alpha and beta are given (0.3, 0.9) or not (1e-4, 0.75).
    for (given, op) in [(true, lrn(3, 0.3, 0.9, 1.0)), (false, lrn(3, 1e-4, 0.75, 1.0))] {
        let got = load_and_run(&model(3, given), &x).unwrap();
        let want = reference(
            &op,
            &[2, 4, 3, 3],
            &x.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        );
        for (got, want) in got.iter().zip(want) {
            assert!(
                (*got as f64 - want).abs() <= 2e-6 * want.abs().max(1e-3),
                "{got} against {want}"
            );
        }
    }
}

#[test]
fn a_window_of_no_channels_is_refused_at_load_naming_the_node() {
    for size in [0, -3] {
        let error = format!(
            "{:#}",
            load_and_run(&model(size, true), &[0.0; 72]).expect_err("refused")
        );
        assert!(
            error.contains("LRN norm1: size") && error.contains("at least 1"),
            "{error}"
        );
    }
}
