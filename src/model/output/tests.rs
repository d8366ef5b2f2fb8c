//! Unit tests of the predictions writer: flat and nested rows, labels, float forms, non-finite values.

use super::*;

fn predictions(per_row: usize, values: Values) -> Predictions {
    Predictions {
        rows: 2,
        outputs: vec![Output {
            per_row,
            values,
            shape: Vec::new(),
        }],
    }
}

#[test]
fn rank_three_outputs_are_nested_per_row() {
    let mut p = predictions(6, Values::I32((0..12).collect()));
    p.outputs[0].shape = vec![3, 2];
    assert_eq!(
        write_predictions(&p).unwrap(),
        b"[[[0,1],[2,3],[4,5]],[[6,7],[8,9],[10,11]]]"
    );
}

#[test]
fn an_output_of_no_values_per_row_answers_an_empty_list_per_row() {
    let mut p = predictions(0, Values::F32(Vec::new()));
    p.outputs[0].shape = vec![0];
    assert_eq!(write_predictions(&p).unwrap(), b"[[],[]]");
    p.outputs[0].shape = vec![2, 0];
    assert_eq!(write_predictions(&p).unwrap(), b"[[[],[]],[[],[]]]");
}

#[test]
fn half_precision_values_are_written_as_float32() {
    use tract_onnx::prelude::f16;
    let p = predictions(1, Values::F16(vec![f16::from_f32(0.5), f16::from_f32(-3.0)]));
    assert_eq!(write_predictions(&p).unwrap(), b"[0.5,-3.0]");
}

#[test]
fn string_labels_are_json_strings() {
    let p = predictions(1, Values::String(vec!["a \"b\"".into(), "c".into()]));
    assert_eq!(write_predictions(&p).unwrap(), br#"["a \"b\"","c"]"#);
}

#[test]
fn one_value_per_row_is_a_flat_array() {
    let p = predictions(1, Values::F64(vec![11055.977245525679, 4503.079536107787]));
    assert_eq!(
        write_predictions(&p).unwrap(),
        b"[11055.977245525679,4503.079536107787]"
    );
}

#[test]
fn several_values_per_row_are_nested_arrays() {
    let p = predictions(2, Values::I64(vec![1, 2, 3, 4]));
    assert_eq!(write_predictions(&p).unwrap(), b"[[1,2],[3,4]]");
}

#[test]
fn float32_values_use_their_shortest_form() {
    let p = predictions(1, Values::F32(vec![0.1, 2.5]));
    assert_eq!(write_predictions(&p).unwrap(), b"[0.1,2.5]");
}

#[test]
fn labels_answer_the_best_per_item_or_the_top_k_as_lists() {
    use crate::hf::config::ProblemType;
    let config = ModelConfig {
        labels: vec!["cat".into(), "dog \"x\"".into()],
        problem: ProblemType::Regression,
    };
    let p = predictions(2, Values::F32(vec![0.5, 1.5, 2.0, -1.0]));
    let mut out = Vec::new();
    write_labels(&mut out, &p.outputs[0], 2, &config, None).unwrap();
    assert_eq!(
        out,
        br#"[{"label":"dog \"x\"","score":1.5},{"label":"cat","score":2.0}]"#
    );
    out.clear();
    write_labels(&mut out, &p.outputs[0], 2, &config, Some(2)).unwrap();
    assert_eq!(
        out,
        br#"[[{"label":"dog \"x\"","score":1.5},{"label":"cat","score":0.5}],[{"label":"cat","score":2.0},{"label":"dog \"x\"","score":-1.0}]]"#
    );
}

#[test]
fn non_finite_values_are_an_error_naming_the_row() {
    let p = predictions(1, Values::F64(vec![1.0, f64::NAN]));
    assert_eq!(write_predictions(&p).unwrap_err().row, 1);
}

#[test]
fn floats_are_written_as_ryu_wrote_them_but_for_the_exponents_plus() {
    // zmij replaced ryu for speed: the same shortest digits, in the same places, except that
    // a positive exponent gets a `+` (`1e+16`, as serde_json writes it too). Random bit
    // patterns cover every exponent, and the edges are listed.
    fn same(ours: &str, theirs: &str) {
        assert_eq!(ours.replacen("e+", "e", 1), theirs);
    }
    let mut rng = fastrand::Rng::with_seed(9);
    let edges = [
        0.0,
        -0.0,
        1.0,
        0.1,
        1e16,
        1e-7,
        123456789012345680.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
    ];
    let random: Vec<f64> = (0..200_000).map(|_| f64::from_bits(rng.u64(..))).collect();
    for value in edges.into_iter().chain(random).filter(|v| v.is_finite()) {
        same(
            zmij::Buffer::new().format_finite(value),
            ryu::Buffer::new().format_finite(value),
        );
        let narrow = f32::from_bits(rng.u32(..));
        if narrow.is_finite() {
            same(
                zmij::Buffer::new().format_finite(narrow),
                ryu::Buffer::new().format_finite(narrow),
            );
        }
    }
    assert_eq!(zmij::Buffer::new().format_finite(1e16), "1e+16");
}
