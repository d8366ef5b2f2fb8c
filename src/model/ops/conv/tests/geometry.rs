//! Our answers against tract's over the geometries of the layout, and the layout itself.

use tract_onnx::tract_core::ops::cnn::PaddingSpec;

use super::super::layout::{Geometry, Shape};
use super::{assert_same, base, kernel, require_kernel, Case};

#[test]
fn answers_as_tract_to_the_bit() {
    require_kernel();
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
            "denormal inputs, read as zero as tract reads them",
            Case { tiny: true, ..base() },
        ),
        (
            "a symbolic image axis, 2 images",
            Case {
                batch: Some(2),
                symbolic_batch: true,
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
fn the_wide_tile_where_it_wastes_no_more() {
    let width = |positions, taps| super::super::layout::tile_width(positions, taps);
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
    // The kernels' strided copy, on the instructions under test.
    require_kernel();
    // 3x3, stride 2, padding 1: two phase planes per axis. Rows of 6 and of 45 pixels (the
    // strided copy in vectors of 16 and a partial one), padded with zeros or a max pool's value.
    for ([in_h, in_w], padding) in [([5, 6], 0.0), ([4, 45], f32::MIN)] {
        let output = [(in_h - 1) / 2 + 1, (in_w - 1) / 2 + 1];
        let geometry = Geometry::new(&Shape {
            channels: 1,
            kernel: [3, 3],
            stride: [2, 2],
            dilation: [1, 1],
            pad_before: [1, 1],
            input: [in_h, in_w],
            output,
        });
        let image: Vec<f32> = (1..=in_h * in_w).map(|v| v as f32).collect();
        let mut laid_out = Vec::new();
        geometry.lay_out_planes(&image, &mut laid_out, padding);
        assert_eq!(laid_out.len(), geometry.channel_stride(), "the planes, no more");
        let padded = |y: usize, x: usize| -> f32 {
            match (y.checked_sub(1), x.checked_sub(1)) {
                (Some(y), Some(x)) if y < in_h && x < in_w => image[y * in_w + x],
                _ => padding,
            }
        };
        for (oy, ox) in (0..output[0]).flat_map(|oy| (0..output[1]).map(move |ox| (oy, ox))) {
            let q = oy * geometry.plane_w + ox;
            for (t, &offset) in geometry.offsets.iter().enumerate() {
                let (ky, kx) = (t / 3, t % 3);
                let want = padded(oy * 2 + ky, ox * 2 + kx);
                assert_eq!(
                    laid_out[q + offset],
                    want,
                    "{in_w} wide: output ({oy}, {ox}) tap ({ky}, {kx})"
                );
            }
        }
        assert_eq!(geometry.phases.len(), 4);
    }
}
