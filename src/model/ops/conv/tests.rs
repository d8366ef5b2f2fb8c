//! The direct convolution against tract's own, to the bit, over the geometries CNNs use and the
//! edges of the layout: strides, dilations, uneven padding, kernels wider than the input, channel
//! counts that do not fill a block, outputs narrower and wider than a tile, a batch axis or none;
//! with the operations it absorbs after it (batch normalisation, residual, ReLU), and the 1x1
//! convolutions tract turns into an `EinSum`.

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::math::{add, max, mul};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::layout::{Geometry, Shape};
use super::{kernel, DirectConv};

#[derive(Clone)]
struct Case {
    batch: Option<usize>,
    channels: usize,
    out_channels: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: PaddingSpec,
    /// A per-channel multiply and add after the convolution (a batch normalisation).
    scale_shift: bool,
    /// A second input added to the output (a residual connection).
    residual: bool,
    relu: bool,
}

fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((state >> 8) as f32 / (1 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

impl Case {
    fn input_shape(&self) -> Vec<usize> {
        let mut shape: Vec<usize> = self.batch.into_iter().collect();
        shape.extend([self.channels, self.input[0], self.input[1]]);
        shape
    }

    fn model(&self) -> TractResult<TypedModel> {
        let format = if self.batch.is_some() {
            DataFormat::NCHW
        } else {
            DataFormat::CHW
        };
        let shape = self.input_shape();
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(&shape))?;
        let [kh, kw] = self.kernel;
        let weights = Tensor::from_shape(
            &[self.out_channels, self.channels, kh, kw],
            &values(self.out_channels * self.channels * kh * kw, 1),
        )?;
        let w = model.add_const("w", weights)?;
        let b = model.add_const("b", tensor1(&values(self.out_channels, 2)))?;
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: format,
                kernel_shape: self.kernel.as_slice().into(),
                padding: self.padding.clone(),
                dilations: Some(self.dilation.as_slice().into()),
                strides: Some(self.stride.as_slice().into()),
                input_channels: self.channels,
                output_channels: self.out_channels,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: 1,
            q_params: None,
        };
        let mut y = model.wire_node("conv", conv, &[x, w, b])?[0];
        // Per-channel constants, shaped to broadcast along the output's channel axis.
        let mut per_channel_shape = vec![1; shape.len()];
        per_channel_shape[shape.len() - 3] = self.out_channels;
        let per_channel = |model: &mut TypedModel, name: &str, seed: u32| {
            let k = Tensor::from_shape(&per_channel_shape, &values(self.out_channels, seed))?;
            model.add_const(name, k)
        };
        if self.scale_shift {
            let scale = per_channel(&mut model, "scale", 4)?;
            y = model.wire_node("mul", mul(), &[y, scale])?[0];
            let shift = per_channel(&mut model, "shift", 5)?;
            y = model.wire_node("add", add(), &[shift, y])?[0];
        }
        if self.residual {
            let fact = model.outlet_fact(y)?.clone();
            let r = model.add_source("r", fact)?;
            y = model.wire_node("residual", add(), &[y, r])?[0];
        }
        if self.relu {
            let zero = Tensor::zero::<f32>(&vec![1; shape.len()])?;
            let zero = model.add_const("zero", zero)?;
            y = model.wire_node("relu", max(), &[y, zero])?[0];
        }
        model.select_output_outlets(&[y])?;
        Ok(model)
    }

    fn inputs(&self, model: &TypedModel) -> TractResult<TVec<TValue>> {
        let shape = self.input_shape();
        let mut inputs = tvec![Tensor::from_shape(&shape, &values(shape.iter().product(), 3))?.into_tvalue()];
        if self.residual {
            let fact = model.input_fact(1)?;
            let shape = fact.shape.as_concrete().context("a concrete residual")?;
            inputs.push(Tensor::from_shape(shape, &values(shape.iter().product(), 6))?.into_tvalue());
        }
        Ok(inputs)
    }

    /// tract's answer, ours (run over a pool of `threads` if more than 1), and our plan's
    /// decluttered model.
    fn run_both(&self, threads: usize) -> TractResult<(Tensor, Tensor, TypedModel)> {
        let reference = self.model()?;
        let inputs = self.inputs(&reference)?;
        let run = |model: TypedModel, threads: usize| -> TractResult<Tensor> {
            let plan = model.into_runnable()?;
            let run = || plan.run(inputs.clone());
            let outputs = if threads > 1 {
                multithread_tract_scope(Executor::multithread(threads), run)?
            } else {
                run()?
            };
            Ok(outputs[0].clone().into_tensor())
        };
        let tracts = run(reference.into_optimized()?, 1)?;
        let mut model = self.model()?.into_decluttered()?;
        super::substitute_within(&mut model, f64::INFINITY)?;
        let model = model.into_compact()?;
        let mut optimised = model.clone();
        optimised.optimize()?;
        Ok((tracts, run(optimised, threads)?, model))
    }
}

fn base() -> Case {
    Case {
        batch: None,
        channels: 3,
        out_channels: 8,
        input: [9, 9],
        kernel: [3, 3],
        stride: [1, 1],
        dilation: [1, 1],
        padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
        scale_shift: false,
        residual: false,
        relu: false,
    }
}

fn plain(tensor: &Tensor) -> &[f32] {
    tensor.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap()
}

/// Asserts our answers are tract's to the bit, that `replaced` convolutions became ours, and
/// that ours absorbed every element-wise operation after them.
fn assert_same(case: &Case, what: &str, replaced: usize) {
    assert_same_over(case, what, replaced, 1)
}

fn assert_same_over(case: &Case, what: &str, replaced: usize, threads: usize) {
    let (tracts, ours, model) = case.run_both(threads).unwrap();
    assert_eq!(tracts.shape(), ours.shape(), "{what}");
    let (want, got) = (plain(&tracts), plain(&ours));
    let differ = want.iter().zip(got).position(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        differ.is_none(),
        "{what}: element {differ:?}: tract {:?}, ours {:?}",
        differ.map(|i| want[i]),
        differ.map(|i| got[i])
    );
    let count = |f: &dyn Fn(&TypedNode) -> bool| model.nodes.iter().filter(|n| f(n)).count();
    assert_eq!(count(&|n| n.op_is::<DirectConv>()), replaced, "{what}: {model}");
    if replaced > 0 {
        assert_eq!(
            count(&|n| n.op_is::<TypedBinOp>()),
            0,
            "{what}: not absorbed: {model}"
        );
        let strides = count(&|n| n.op_is::<Downsample>());
        assert_eq!(strides, 0, "{what}: a stride left to tract: {model}");
    }
}

fn require_avx512() {
    assert!(
        kernel::available(),
        "these tests need AVX-512 (CI's machines have it)"
    );
}

#[test]
fn answers_as_tract_to_the_bit() {
    require_avx512();
    let explicit =
        |b: [usize; 2], a: [usize; 2]| PaddingSpec::Explicit(b.as_slice().into(), a.as_slice().into());
    let cases = [
        ("3x3, padding 1", base()),
        ("with its ReLU", Case { relu: true, ..base() }),
        (
            "ResNet's 3x3 at 14x14",
            Case {
                channels: 16,
                out_channels: 32,
                input: [14, 14],
                relu: true,
                ..base()
            },
        ),
        (
            "wider than two tiles",
            Case {
                input: [5, 70],
                ..base()
            },
        ),
        (
            "channels that do not fill a block",
            Case {
                out_channels: 13,
                ..base()
            },
        ),
        (
            "fewer channels than a block",
            Case {
                out_channels: 3,
                ..base()
            },
        ),
        (
            "a batch axis",
            Case {
                batch: Some(3),
                ..base()
            },
        ),
        (
            "stride 2",
            Case {
                stride: [2, 2],
                input: [14, 14],
                ..base()
            },
        ),
        (
            "stride 2 by 1, 7x7, padding 3",
            Case {
                kernel: [7, 7],
                stride: [2, 1],
                input: [20, 23],
                padding: explicit([3, 3], [3, 3]),
                ..base()
            },
        ),
        (
            "dilation 2",
            Case {
                dilation: [2, 2],
                padding: explicit([2, 2], [2, 2]),
                ..base()
            },
        ),
        (
            "dilation 2 with stride 2",
            Case {
                dilation: [2, 2],
                stride: [2, 2],
                input: [13, 11],
                ..base()
            },
        ),
        (
            "uneven padding",
            Case {
                padding: explicit([0, 2], [2, 1]),
                ..base()
            },
        ),
        (
            "no padding",
            Case {
                padding: PaddingSpec::Valid,
                ..base()
            },
        ),
        (
            "same upper, stride 3",
            Case {
                padding: PaddingSpec::SameUpper,
                stride: [3, 3],
                input: [10, 8],
                ..base()
            },
        ),
        (
            "an input without pixels (its answers from the padding alone)",
            Case {
                input: [0, 3],
                padding: explicit([2, 2], [2, 2]),
                ..base()
            },
        ),
        (
            "no output at all",
            Case {
                kernel: [5, 5],
                input: [3, 3],
                padding: PaddingSpec::Valid,
                ..base()
            },
        ),
        (
            "a kernel larger than the input",
            Case {
                kernel: [5, 5],
                input: [2, 3],
                padding: explicit([2, 2], [2, 2]),
                ..base()
            },
        ),
        (
            "1x3 on a single row",
            Case {
                kernel: [1, 3],
                input: [1, 40],
                padding: explicit([0, 1], [0, 1]),
                ..base()
            },
        ),
        (
            "an input larger than a group of tiles",
            Case {
                channels: 16,
                input: [90, 90],
                relu: true,
                ..base()
            },
        ),
    ];
    for (what, case) in cases {
        assert_same(&case, what, 1);
    }
}

#[test]
fn absorbs_a_batch_normalisation_a_residual_and_a_relu() {
    require_avx512();
    let all = Case {
        scale_shift: true,
        residual: true,
        relu: true,
        out_channels: 12,
        ..base()
    };
    assert_same(&all, "3x3 with all three", 1);
    assert_same(
        &Case {
            batch: Some(2),
            ..all.clone()
        },
        "with a batch axis",
        1,
    );
    assert_same(
        &Case {
            residual: false,
            ..all.clone()
        },
        "3x3 without the residual",
        1,
    );
}

#[test]
fn runs_the_einsum_of_a_1x1_convolution() {
    require_avx512();
    let pointwise = Case {
        kernel: [1, 1],
        padding: PaddingSpec::Valid,
        channels: 20,
        out_channels: 24,
        input: [7, 7],
        ..base()
    };
    let all = Case {
        scale_shift: true,
        residual: true,
        relu: true,
        ..pointwise.clone()
    };
    assert_same(&pointwise, "1x1", 1);
    assert_same(
        &Case {
            input: [8, 8],
            ..pointwise.clone()
        },
        "1x1 on whole narrow tiles",
        1,
    );
    assert_same(
        &Case {
            input: [7, 13],
            ..pointwise.clone()
        },
        "1x1 on wide tiles",
        1,
    );
    assert_same(
        &Case {
            input: [5, 5],
            ..pointwise.clone()
        },
        "1x1 on less than a tile",
        0,
    );
    assert_same(&all, "1x1 with a batch normalisation, a residual and a ReLU", 1);
    // tract folds a 3x3 convolution's batch normalisation into its weights; a 1x1's bias and
    // batch normalisation stay steps of ours, in the graph's order.
    let mut model = all.model().unwrap().into_decluttered().unwrap();
    super::substitute(&mut model).unwrap();
    let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>()).unwrap();
    let steps: Vec<&str> = ours.params.steps.iter().map(super::Step::name).collect();
    assert_eq!(steps, ["add", "mul", "add", "add input", "relu"]);
    assert_same(
        &Case {
            batch: Some(1),
            ..all.clone()
        },
        "1x1 with an image axis of 1",
        1,
    );
    assert_same(
        &Case {
            stride: [2, 2],
            input: [14, 14],
            ..all.clone()
        },
        "strided 1x1",
        1,
    );
    let strided = Case {
        stride: [2, 3],
        input: [15, 20],
        batch: Some(1),
        ..all.clone()
    };
    assert_same(&strided, "strided 1x1 with an image axis", 1);
    // A batch of several images is left to tract: ours reads one image's channels as a matrix.
    assert_same(
        &Case {
            batch: Some(2),
            ..all
        },
        "1x1 on 2 images",
        0,
    );
}

#[test]
fn splits_its_channels_over_the_intra_op_pool() {
    require_avx512();
    // 4 blocks over 3 threads (shares of 2, 2 and 0 blocks), 3 blocks over 2 threads (2 and 1).
    let all = Case {
        scale_shift: true,
        residual: true,
        relu: true,
        out_channels: 30,
        ..base()
    };
    assert_same_over(&all, "3x3 over 3 threads", 1, 3);
    let pointwise = Case {
        kernel: [1, 1],
        padding: PaddingSpec::Valid,
        out_channels: 24,
        ..all
    };
    assert_same_over(&pointwise, "1x1 over 2 threads", 1, 2);
}

#[test]
fn leaves_to_tract_a_convolution_computing_twice_its_answers() {
    require_avx512();
    // A fully connected layer written as a 7x7 convolution of a 7x7 input: 32 positions for one.
    let dense = Case {
        kernel: [7, 7],
        input: [7, 7],
        padding: PaddingSpec::Valid,
        ..base()
    };
    let mut model = dense.model().unwrap().into_decluttered().unwrap();
    super::substitute(&mut model).unwrap();
    assert!(!model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
    // ResNet-50's 3x3 convolutions of a 7x7 input: 64 positions for 49, replaced.
    let resnet = Case {
        channels: 8,
        input: [7, 7],
        ..base()
    };
    let mut model = resnet.model().unwrap().into_decluttered().unwrap();
    super::substitute(&mut model).unwrap();
    assert!(model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
}

#[test]
fn the_wide_tile_where_it_wastes_no_more() {
    let width = |positions, taps| super::layout::tile_width(positions, taps);
    assert_eq!(width(96, 9), kernel::WIDE);
    assert_eq!(
        width(63, 9),
        kernel::NARROW,
        "ResNet-50's 7x7 outputs: 96 positions against 64"
    );
    assert_eq!(
        width(224, 9),
        kernel::NARROW,
        "240 against 224, more than the 3x3 gain"
    );
    assert_eq!(
        width(196, 1),
        kernel::WIDE,
        "240 against 224, less than the 1x1 gain"
    );
}

#[test]
fn every_tap_reads_the_padded_pixel_it_stands_for() {
    // 3x3, stride 2, padding 1 on a 5x6 input: output 3x3, two phase planes per axis.
    let geometry = Geometry::new(&Shape {
        channels: 1,
        kernel: [3, 3],
        stride: [2, 2],
        dilation: [1, 1],
        pad_before: [1, 1],
        input: [5, 6],
        output: [3, 3],
    });
    let image: Vec<f32> = (1..=30).map(|v| v as f32).collect();
    let mut laid_out = Vec::new();
    geometry.lay_out(&image, &mut laid_out);
    let padded = |y: isize, x: isize| -> f32 {
        let (y, x) = (y - 1, x - 1);
        if (0..5).contains(&y) && (0..6).contains(&x) {
            image[(y * 6 + x) as usize]
        } else {
            0.0
        }
    };
    for (oy, ox) in (0..3).flat_map(|oy| (0..3).map(move |ox| (oy, ox))) {
        let q = oy * geometry.plane_w + ox;
        for (t, &offset) in geometry.offsets.iter().enumerate() {
            let (ky, kx) = (t / 3, t % 3);
            let want = padded((oy * 2 + ky) as isize, (ox * 2 + kx) as isize);
            assert_eq!(laid_out[q + offset], want, "output ({oy}, {ox}) tap ({ky}, {kx})");
        }
    }
    assert_eq!(geometry.phases.len(), 4);
}
