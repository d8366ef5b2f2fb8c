//! The direct convolution against tract's own, to the bit, over the geometries CNNs use and the
//! edges of the layout: strides, dilations, uneven padding, kernels wider than the input, channel
//! counts that do not fill a block, outputs narrower and wider than a tile, a batch axis or none;
//! with the operations it absorbs after it (batch normalisation, residual, ReLU), and the 1x1
//! convolutions tract turns into an `EinSum`. Here: the test cases, built as tract models and run
//! both ways.

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::math::{add, max, mul};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::{instructions, kernel, DirectConv};

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
    /// A per-channel multiply, add and ReLU before the convolution, read by it alone (DenseNet's
    /// pre-activation).
    pre_activation: bool,
    /// Inputs in the denormal range and no bias: tract's kernels read them as zero.
    tiny: bool,
    /// The image axis typed as a symbol (the server's main plan), with `batch` images run.
    symbolic_batch: bool,
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
        let fact = if self.symbolic_batch {
            let mut dims: TVec<TDim> = shape.iter().map(|&d| d.to_dim()).collect();
            dims[0] = model.symbols.sym("N").to_dim();
            f32::fact(dims)
        } else {
            f32::fact(&shape)
        };
        let mut x = model.add_source("x", fact)?;
        if self.pre_activation {
            let mut input_channel_shape = vec![1; shape.len()];
            input_channel_shape[shape.len() - 3] = self.channels;
            // With `tiny` inputs, a scale that makes them normal and no shift: the prologue's
            // answers then depend on whether it reads denormals as zero (tract's element-wise
            // operations do not).
            let (magnitude, shifted) = if self.tiny { (1e30, 0.0) } else { (1.0, 1.0) };
            let mut per_input_channel = |name: &str, seed: u32, times: f32| {
                let k: Vec<f32> = values(self.channels, seed).iter().map(|v| v * times).collect();
                model.add_const(name, Tensor::from_shape(&input_channel_shape, &k)?)
            };
            let scale = per_input_channel("in_scale", 7, magnitude)?;
            let shift = per_input_channel("in_shift", 8, shifted)?;
            let zero = model.add_const("in_zero", Tensor::zero::<f32>(&vec![1; shape.len()])?)?;
            x = model.wire_node("in_mul", mul(), &[x, scale])?[0];
            x = model.wire_node("in_add", add(), &[shift, x])?[0];
            x = model.wire_node("in_relu", max(), &[x, zero])?[0];
        }
        let [kh, kw] = self.kernel;
        let weights = Tensor::from_shape(
            &[self.out_channels, self.channels, kh, kw],
            &values(self.out_channels * self.channels * kh * kw, 1),
        )?;
        let w = model.add_const("w", weights)?;
        let bias = if self.tiny {
            vec![0.0; self.out_channels]
        } else {
            values(self.out_channels, 2)
        };
        let b = model.add_const("b", tensor1(&bias))?;
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
        let scale = if self.tiny { 1e-39 } else { 1.0 };
        let pixels: Vec<f32> = values(shape.iter().product(), 3)
            .iter()
            .map(|v| v * scale)
            .collect();
        let mut inputs = tvec![Tensor::from_shape(&shape, &pixels)?.into_tvalue()];
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
        pre_activation: false,
        tiny: false,
        symbolic_batch: false,
    }
}

/// A 1x1 convolution of a 7x7 image, which tract makes an `EinSum`.
fn pointwise() -> Case {
    Case {
        kernel: [1, 1],
        padding: PaddingSpec::Valid,
        channels: 20,
        out_channels: 24,
        input: [7, 7],
        ..base()
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
    assert_same_bits(&tracts, &ours, what);
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

/// `ours` is `tracts`: the same shape, and every float the same bits.
fn assert_same_bits(tracts: &Tensor, ours: &Tensor, what: &str) {
    assert_eq!(tracts.shape(), ours.shape(), "{what}");
    let (want, got) = (plain(tracts), plain(ours));
    let differ = want.iter().zip(got).position(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        differ.is_none(),
        "{what}: element {differ:?}: tract {:?}, ours {:?}",
        differ.map(|i| want[i]),
        differ.map(|i| got[i])
    );
}

/// These tests run the kernels `instructions::isa` names: in unit tests, those
/// `AML_SCORER_DIRECT_KERNELS` names, else the widest the machine has (see `instructions::auto`).
fn require_kernel() {
    let chosen = instructions::isa();
    assert!(
        chosen.is_some(),
        "these tests need AVX-512, or AVX2 with FMA (every x86-64 host CI runs on has one)"
    );
    // The second run of `scripts/test.sh` must not pass on the widest kernels.
    if std::env::var("AML_SCORER_DIRECT_KERNELS").as_deref() == Ok("avx2") {
        assert_eq!(
            chosen,
            Some(instructions::Isa::Avx2),
            "AML_SCORER_DIRECT_KERNELS=avx2"
        );
    }
}

mod across;
mod fusion;
mod geometry;
mod maxpool;
