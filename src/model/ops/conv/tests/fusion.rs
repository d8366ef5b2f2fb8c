//! The operations absorbed after a convolution, the 1x1 convolutions tract turns into an
//! `EinSum`, the split over threads, and what is left to tract.

use tract_onnx::tract_core::ops::cnn::PaddingSpec;

use super::super as conv;
use super::{assert_same, assert_same_over, base, pointwise, require_kernel, Case, DirectConv};
use tract_onnx::tract_hir::internal::*;

#[test]
fn absorbs_a_batch_normalisation_a_residual_and_a_relu() {
    require_kernel();
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
    require_kernel();
    let pointwise = pointwise();
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
    conv::substitute(&mut model).unwrap();
    let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>()).unwrap();
    let steps: Vec<&str> = ours.params.steps.iter().map(conv::Step::name).collect();
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

/// The steps our convolution took from before it in `case`'s model.
fn prologue_of(case: &Case) -> Vec<&'static str> {
    let mut model = case.model().unwrap().into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>()).unwrap();
    ours.params.prologue.iter().map(conv::Step::name).collect()
}

#[test]
fn absorbs_a_pre_activation_read_by_it_alone() {
    require_kernel();
    let pointwise = Case {
        pre_activation: true,
        scale_shift: true,
        relu: true,
        ..pointwise()
    };
    assert_same(&pointwise, "1x1 after a pre-activation", 1);
    assert_eq!(prologue_of(&pointwise), ["mul", "add", "relu"]);
    assert_same(
        &Case {
            batch: Some(1),
            input: [14, 14],
            ..pointwise.clone()
        },
        "1x1 with an image axis, after a pre-activation",
        1,
    );
    assert_same_over(&pointwise, "1x1 after a pre-activation over 3 threads", 1, 3);
    let padded = Case {
        pre_activation: true,
        channels: 5,
        ..base()
    };
    // The padding is of the prepared input: zeros, not the steps' value of zero.
    assert_same(&padded, "3x3 after a pre-activation", 1);
    assert_same_over(&padded, "3x3 after a pre-activation over 2 threads", 1, 2);
    assert_same(
        &Case {
            batch: Some(2),
            ..padded.clone()
        },
        "3x3 of 2 images after a pre-activation",
        1,
    );
    assert_same(
        &Case {
            tiny: true,
            ..padded.clone()
        },
        "denormal inputs made normal by the pre-activation",
        1,
    );
    let with_an_image_axis = Case {
        batch: Some(1),
        ..padded.clone()
    };
    for case in [padded, with_an_image_axis] {
        assert_eq!(prologue_of(&case), ["mul", "add", "relu"]);
    }
}

/// A pre-activation whose result something else reads too stays tract's (ours would compute it
/// again); the convolution is still ours.
#[test]
fn leaves_to_tract_a_pre_activation_read_elsewhere() {
    require_kernel();
    let case = Case {
        pre_activation: true,
        ..base()
    };
    let mut model = case.model().unwrap();
    let relu = model.node_by_name("in_relu").unwrap().id;
    let conv = model.node_by_name("conv").unwrap().id;
    let (relu, conv) = (OutletId::new(relu, 0), OutletId::new(conv, 0));
    model.select_output_outlets(&[conv, relu]).unwrap();
    let mut model = model.into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>()).unwrap();
    assert!(ours.params.prologue.is_empty(), "{model}");
}

#[test]
fn splits_its_channels_over_the_intra_op_pool() {
    require_kernel();
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
    // The residual read in the tiles (a 1x1 convolution's): a share's last block with 5 rows.
    assert_same_over(
        &Case {
            out_channels: 13,
            ..pointwise
        },
        "1x1 with a partial block over 2 threads",
        1,
        2,
    );
}

#[test]
fn leaves_to_tract_a_convolution_computing_twice_its_answers() {
    require_kernel();
    // A fully connected layer written as a 7x7 convolution of a 7x7 input: 32 positions for one.
    let dense = Case {
        kernel: [7, 7],
        input: [7, 7],
        padding: PaddingSpec::Valid,
        ..base()
    };
    let mut model = dense.model().unwrap().into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    assert!(!model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
    // The same on a plan whose image axis is a symbol: the bound reads the image size alone.
    let symbolic = Case {
        batch: Some(1),
        symbolic_batch: true,
        ..dense
    };
    let mut model = symbolic.model().unwrap().into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    assert!(!model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
    // Padding wider than the kernel reaches.
    let padded = Case {
        padding: PaddingSpec::Explicit([1, 3][..].into(), [1, 1][..].into()),
        ..base()
    };
    let mut model = padded.model().unwrap().into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    assert!(!model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
    // ResNet-50's 3x3 convolutions of a 7x7 input: 64 positions for 49, replaced.
    let resnet = Case {
        channels: 8,
        input: [7, 7],
        ..base()
    };
    let mut model = resnet.model().unwrap().into_decluttered().unwrap();
    conv::substitute(&mut model).unwrap();
    assert!(model.nodes.iter().any(|n| n.op_is::<DirectConv>()), "{model}");
}
