//! The direct convolution against tract's own, to the bit, over the geometries CNNs use and the
//! edges of the layout: strides, dilations, uneven padding, kernels wider than the input, channel
//! counts that do not fill a block, outputs narrower and wider than a tile, a batch axis or none.

use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::math::max;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::layout::{Geometry, Shape};
use super::{kernel, DirectConv};

struct Case {
    batch: Option<usize>,
    channels: usize,
    out_channels: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: PaddingSpec,
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
    fn model(&self) -> TractResult<TypedModel> {
        let format = if self.batch.is_some() {
            DataFormat::NCHW
        } else {
            DataFormat::CHW
        };
        let mut shape: TVec<usize> = self.batch.into_iter().collect();
        shape.extend([self.channels, self.input[0], self.input[1]]);
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
        if self.relu {
            let zero = Tensor::zero::<f32>(&vec![1; shape.len()])?;
            let zero = model.add_const("zero", zero)?;
            y = model.wire_node("relu", max(), &[y, zero])?[0];
        }
        model.select_output_outlets(&[y])?;
        Ok(model)
    }

    fn input(&self) -> TractResult<Tensor> {
        let mut shape: Vec<usize> = self.batch.into_iter().collect();
        shape.extend([self.channels, self.input[0], self.input[1]]);
        Tensor::from_shape(&shape, &values(shape.iter().product(), 3))
    }

    /// tract's answer and ours, and whether ours absorbed the ReLU.
    fn run_both(&self) -> TractResult<(Tensor, Tensor, bool)> {
        let run = |model: TypedModel| -> TractResult<Tensor> {
            let plan = model.into_optimized()?.into_runnable()?;
            Ok(plan
                .run(tvec!(self.input()?.into_tvalue()))?
                .remove(0)
                .into_tensor())
        };
        let tracts = run(self.model()?)?;
        let mut model = self.model()?;
        super::substitute(&mut model)?;
        let model = model.into_compact()?;
        let ours: Vec<&DirectConv> = model
            .nodes
            .iter()
            .filter_map(|n| n.op_as::<DirectConv>())
            .collect();
        ensure!(ours.len() == 1, "the convolution was not replaced: {model}");
        let absorbed = ours[0].params.relu && !model.nodes.iter().any(|n| n.name == "relu");
        Ok((tracts, run(model)?, absorbed))
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
        relu: false,
    }
}

fn plain(tensor: &Tensor) -> &[f32] {
    tensor.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap()
}

fn assert_same(case: Case, what: &str) {
    let (tracts, ours, absorbed) = case.run_both().unwrap();
    assert_eq!(tracts.shape(), ours.shape(), "{what}");
    let (want, got) = (plain(&tracts), plain(&ours));
    let differ = want.iter().zip(got).position(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        differ.is_none(),
        "{what}: element {differ:?}: tract {:?}, ours {:?}",
        differ.map(|i| want[i]),
        differ.map(|i| got[i])
    );
    assert_eq!(absorbed, case.relu, "{what}: the ReLU");
}

#[test]
fn answers_as_tract_to_the_bit() {
    if !kernel::available() {
        panic!("these tests need AVX-512 (CI's machines have it)");
    }
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
        (
            "a strided 1x1",
            Case {
                kernel: [1, 1],
                stride: [2, 2],
                padding: PaddingSpec::Valid,
                input: [8, 8],
                ..base()
            },
        ),
    ];
    for (what, case) in cases {
        assert_same(case, what);
    }
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
