//! `across.rs`'s tiles (a convolution of a small image) against tract, and where they run.

use tract_onnx::tract_core::ops::cnn::PaddingSpec;
use tract_onnx::tract_hir::internal::*;

use super::super::across::CHANNELS;
use super::super::transpose::to_channels;
use super::{assert_same, assert_same_over, pointwise, require_kernel, Case, DirectConv};

/// ResNet-50's last stage: a 1x1 convolution of a 7x7 image, with all it absorbs after it.
fn seven_by_seven() -> Case {
    Case {
        out_channels: 120,
        scale_shift: true,
        residual: true,
        relu: true,
        ..pointwise()
    }
}

/// Whether our convolution in `case`'s plan runs on `across.rs`'s tiles.
fn runs_across(case: &Case) -> bool {
    let mut model = case.model().unwrap().into_decluttered().unwrap();
    super::super::substitute(&mut model).unwrap();
    let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>());
    ours.expect("a direct convolution").params.across
}

#[test]
fn answers_as_tract_to_the_bit() {
    require_kernel();
    let case = seven_by_seven();
    assert!(runs_across(&case));
    // 49 positions in 9 tiles of 5 or 6; a block of 64 output channels and one of 56.
    assert_same(&case, "7x7, two blocks", 1);
    // Shares of the blocks over threads: 2 blocks over 3 threads, 3 over 2.
    assert_same_over(&case, "7x7 over 3 threads", 1, 3);
    let three_blocks = Case {
        out_channels: 184,
        ..case.clone()
    };
    assert!(runs_across(&three_blocks));
    assert_same_over(&three_blocks, "7x7, three blocks over 2 threads", 1, 2);
    let odd = Case {
        input: [5, 7],
        out_channels: 60,
        batch: Some(1),
        ..case.clone()
    };
    assert_across(&odd, "35 positions, 60 output channels, an image axis");
    let strided = Case {
        stride: [2, 2],
        input: [13, 13],
        batch: Some(1),
        ..case.clone()
    };
    assert_across(&strided, "strided onto 7x7");
    assert_variants(&case, "1x1");
}

#[test]
fn runs_only_where_the_other_tiles_waste_positions() {
    require_kernel();
    let case = seven_by_seven();
    // 28x28: 816 positions on wide tiles for 784 answers, 120 output channels for 128.
    assert!(!runs_across(&Case {
        input: [28, 28],
        ..case.clone()
    }));
    // 14x14: 240 for 196.
    assert!(runs_across(&Case {
        input: [14, 14],
        ..case.clone()
    }));
    // Too few output channels to fill the lanes: 24 of 64.
    assert!(!runs_across(&Case {
        out_channels: 24,
        ..case.clone()
    }));
    // 12x12: 144 positions for 144 answers, three wide tiles.
    assert!(!runs_across(&Case {
        input: [12, 12],
        ..case.clone()
    }));
    // A 3x3 convolution of a 7x7 image: 64 positions (9 by 7 laid out) for 49 answers.
    let three_by_three = Case {
        kernel: [3, 3],
        padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
        ..case
    };
    assert!(runs_across(&three_by_three));
    // On 56x56: 3,264 positions (58 by 56, in wide tiles) for 3,136 answers.
    assert!(!runs_across(&Case {
        input: [56, 56],
        ..three_by_three.clone()
    }));
    // Too few output channels to fill the lanes: 24 of 64.
    assert!(!runs_across(&Case {
        out_channels: 24,
        ..three_by_three
    }));
}

/// A 3x3 convolution of a 7x7 image (ResNet-50's last stage), with all it absorbs after it.
fn three_by_three() -> Case {
    Case {
        kernel: [3, 3],
        padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
        ..seven_by_seven()
    }
}

#[test]
fn taps_answer_as_tract_to_the_bit() {
    require_kernel();
    let case = three_by_three();
    assert!(runs_across(&case));
    // Tiles of 5 or 6 answers, most of them over a row's end (its 2 extra columns skipped).
    assert_same(&case, "3x3 on 7x7, two blocks", 1);
    assert_same_over(&case, "3x3 on 7x7 over 3 threads", 1, 3);
    // Three images on the server's main plan (the image axis a symbol): each laid out alone.
    // (The tests' residual input has a concrete shape: none here.)
    let images = Case {
        batch: Some(3),
        symbolic_batch: true,
        residual: false,
        ..case.clone()
    };
    assert_across(&images, "3x3 on 7x7, three images, a symbolic batch");
    // Rows of 4 answers: a tile of 5 or 6 spans parts of two or three rows.
    let narrow = Case {
        input: [8, 4],
        batch: Some(1),
        ..case.clone()
    };
    assert_across(&narrow, "3x3 on 8x4");
    // Stride 2: the taps in four phase planes.
    let strided = Case {
        stride: [2, 2],
        input: [14, 14],
        ..case.clone()
    };
    assert_across(&strided, "3x3, stride 2, onto 7x7");
    // Stride 2 down the rows only, and the columns padded wider at the end than at the start.
    let uneven = Case {
        stride: [2, 1],
        input: [14, 7],
        padding: PaddingSpec::Explicit(tvec![1, 0], tvec![1, 2]),
        ..case.clone()
    };
    assert_across(&uneven, "3x3, stride 2x1, uneven padding");
    // Images of 9, 3 and 2 answers: tiles of 4 and 5, of 3, of 2 (past the bound on wasted
    // positions that keeps such convolutions tract's in the server, which these tests lift; a 1x1
    // image is no convolution once tract has decluttered it).
    for input in [[3, 3], [1, 3], [2, 1]] {
        let small = Case {
            input,
            ..case.clone()
        };
        let what = format!("3x3 on {input:?}");
        assert_same(&small, &what, 1);
        let (_, _, model) = small.run_both(1).unwrap();
        let ours = model.nodes.iter().find_map(|n| n.op_as::<DirectConv>());
        assert!(ours.expect("a direct convolution").params.across, "{what}");
    }
    let dilated = Case {
        dilation: [2, 2],
        padding: PaddingSpec::Explicit(tvec![2, 2], tvec![2, 2]),
        input: [9, 9],
        out_channels: 64,
        ..case.clone()
    };
    assert_across(&dilated, "3x3 dilated by 2 on 9x9");
    assert_variants(&case, "3x3");
}

/// Asserts `case` runs on the across tiles and answers as tract's to the bit.
fn assert_across(case: &Case, what: &str) {
    assert!(runs_across(case), "{what}");
    assert_same(case, what, 1);
}

/// `case` with denormal inputs and with a pre-activation, on the across tiles.
fn assert_variants(case: &Case, what: &str) {
    // Denormal inputs: read as zero, as tract's kernels read them. The sums alone reach the
    // output (no bias, shift or residual to hide them).
    let tiny = Case {
        tiny: true,
        scale_shift: false,
        residual: false,
        relu: false,
        ..case.clone()
    };
    assert_across(&tiny, &format!("{what}, denormal inputs"));
    let pre_activation = Case {
        pre_activation: true,
        residual: false,
        ..case.clone()
    };
    assert_across(&pre_activation, &format!("{what} with a pre-activation"));
}

/// Every float distinct, so that a misplaced one shows.
fn position_sums(positions: usize) -> Vec<[f32; CHANNELS]> {
    (0..positions)
        .map(|p| std::array::from_fn(|r| (p * 1000 + r) as f32))
        .collect()
}

#[test]
fn the_sums_are_written_channel_by_channel() {
    require_kernel();
    // Partial squares of positions and of channels, rows longer than their positions.
    for (positions, rows, stride) in [
        (1, 1, 1),
        (16, 16, 16),
        (49, 64, 49),
        (35, 60, 40),
        (196, 64, 196),
        (7, 17, 9),
    ] {
        let sums = position_sums(positions);
        let mut to = vec![-1.0; rows * stride];
        to_channels(&sums, &mut to, stride, rows);
        for r in 0..rows {
            for p in 0..stride {
                let expected = if p < positions { sums[p][r] } else { -1.0 };
                assert_eq!(
                    to[r * stride + p],
                    expected,
                    "{positions} positions, channel {r}, position {p}"
                );
            }
        }
    }
}
