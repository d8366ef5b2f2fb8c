//! `maxpool.rs` against tract's max pool, to the bit: the pools CNNs use and the edges of the
//! layout, on inputs with NaNs, signed zeros, infinities, the lowest float and denormals.

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;

use super::super::maxpool::{substitute, DirectMaxPool};
use super::{assert_same_bits, require_kernel, values};

struct Pool {
    /// The image axis and its size, or none.
    batch: Option<usize>,
    channels: usize,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: PaddingSpec,
    /// Inputs of zeros of both signs and negatives only, so that most maxima are a zero.
    signed_zeros: bool,
}

/// ResNet's: 3x3, stride 2, padding 1.
fn resnets() -> Pool {
    Pool {
        batch: Some(1),
        channels: 5,
        input: [21, 38],
        kernel: [3, 3],
        stride: [2, 2],
        dilation: [1, 1],
        padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
        signed_zeros: false,
    }
}

impl Pool {
    fn model(&self) -> TractResult<TypedModel> {
        let mut shape: Vec<usize> = self.batch.into_iter().collect();
        shape.extend([self.channels, self.input[0], self.input[1]]);
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(&shape))?;
        let pool_spec = PoolSpec {
            data_format: if self.batch.is_some() {
                DataFormat::NCHW
            } else {
                DataFormat::CHW
            },
            kernel_shape: self.kernel.as_slice().into(),
            padding: self.padding.clone(),
            dilations: Some(self.dilation.as_slice().into()),
            strides: Some(self.stride.as_slice().into()),
            input_channels: self.channels,
            output_channels: self.channels,
        };
        let pool = MaxPool {
            pool_spec,
            with_index_outputs: None,
        };
        let y = model.wire_node("pool", pool, &[x])?[0];
        model.select_output_outlets(&[y])?;
        Ok(model)
    }

    /// Random values with the floats a maximum can get wrong every few places.
    fn input(&self) -> Tensor {
        let len = self.batch.unwrap_or(1) * self.channels * self.input[0] * self.input[1];
        let specials = [
            f32::NAN,
            -0.0,
            0.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::MIN,
            1e-40,
            -1e-40,
        ];
        let mut floats = values(len, 11);
        for (index, float) in floats.iter_mut().enumerate() {
            if self.signed_zeros {
                *float = [-0.0, 0.0, -1.0, 0.0, -0.0][index % 5];
            } else if index % 3 == 0 {
                *float = specials[(index / 3) % specials.len()];
            }
        }
        let mut shape: Vec<usize> = self.batch.into_iter().collect();
        shape.extend([self.channels, self.input[0], self.input[1]]);
        Tensor::from_shape(&shape, &floats).unwrap()
    }

    /// tract's answers and ours over `threads` threads, and whether ours ran.
    fn run_both(&self, threads: usize) -> TractResult<(Tensor, Tensor, bool)> {
        let input = self.input();
        let run = |model: TypedModel| -> TractResult<Tensor> {
            let plan = model.into_runnable()?;
            let run = || plan.run(tvec!(input.clone().into_tvalue()));
            let outputs = if threads > 1 {
                multithread_tract_scope(Executor::multithread(threads), run)?
            } else {
                run()?
            };
            Ok(outputs[0].clone().into_tensor())
        };
        let tracts = run(self.model()?.into_optimized()?)?;
        let mut model = self.model()?.into_decluttered()?;
        substitute(&mut model)?;
        let ours_ran = model.nodes.iter().any(|n| n.op_is::<DirectMaxPool>());
        Ok((tracts, run(model.into_optimized()?)?, ours_ran))
    }
}

fn assert_same(pool: &Pool, what: &str, threads: usize) {
    let (tracts, ours, ours_ran) = pool.run_both(threads).unwrap();
    assert!(ours_ran, "{what}: left to tract");
    assert_same_bits(&tracts, &ours, what);
}

#[test]
fn answers_as_tract_to_the_bit() {
    require_kernel();
    assert_same(&resnets(), "3x3, stride 2, padding 1", 1);
    assert_same(
        &Pool {
            batch: Some(3),
            ..resnets()
        },
        "three images over 2 threads",
        2,
    );
    let one = |pool: Pool, what: &str| assert_same(&pool, what, 1);
    one(
        Pool {
            signed_zeros: true,
            ..resnets()
        },
        "zeros of both signs: the first of a window stays",
    );
    one(
        Pool {
            batch: None,
            stride: [1, 1],
            ..resnets()
        },
        "stride 1, no image axis",
    );
    one(
        Pool {
            kernel: [2, 3],
            stride: [1, 2],
            padding: PaddingSpec::Valid,
            ..resnets()
        },
        "2x3, strides 1 and 2, no padding",
    );
    one(
        Pool {
            kernel: [1, 3],
            stride: [3, 4],
            padding: PaddingSpec::Valid,
            ..resnets()
        },
        "strides past the kernel: some phase planes unread, a stride of 4",
    );
    one(
        Pool {
            padding: PaddingSpec::ExplicitOnnxPool(tvec![0, 1], tvec![1, 0], true),
            input: [20, 37],
            ..resnets()
        },
        "uneven padding, the last windows past the input (ceil mode)",
    );
    one(
        Pool {
            padding: PaddingSpec::SameUpper,
            kernel: [13, 13],
            stride: [1, 1],
            ..resnets()
        },
        "YOLO's 13x13, padded to the same size",
    );
    one(
        Pool {
            kernel: [16, 16],
            stride: [5, 1_000_000_000],
            padding: PaddingSpec::Explicit(tvec![15, 3], tvec![15, 3]),
            ..resnets()
        },
        "the widest kernel, strides past it and past the image",
    );
    one(
        Pool {
            kernel: [5, 5],
            input: [3, 4],
            padding: PaddingSpec::Explicit(tvec![2, 2], tvec![2, 2]),
            stride: [1, 1],
            ..resnets()
        },
        "a kernel wider than its image",
    );
}

#[test]
fn leaves_to_tract_what_it_does_not_run() {
    require_kernel();
    let left = |pool: Pool, what: &str| {
        let (_, _, ours_ran) = pool.run_both(1).unwrap();
        assert!(!ours_ran, "{what}");
    };
    left(
        Pool {
            kernel: [2, 2],
            ..resnets()
        },
        "a 2x2 pool",
    );
    left(
        Pool {
            dilation: [2, 2],
            ..resnets()
        },
        "a dilated pool",
    );
    left(
        Pool {
            kernel: [17, 3],
            padding: PaddingSpec::Valid,
            ..resnets()
        },
        "a kernel past 16",
    );
}
