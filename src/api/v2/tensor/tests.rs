use super::*;
use crate::model::ElementType;

fn one_input(data: TensorData<'_>) -> Result<Batch, ApiError> {
    let spec = ModelSpec::matrix(2, ElementType::F32);
    let shape = [1, 2];
    to_batch(
        vec![RequestTensor {
            name: "input",
            datatype: "FP32",
            shape: &shape,
            data,
        }],
        &spec,
    )
}

#[test]
fn a_shape_of_any_rank_is_shown_by_its_first_dimensions() {
    let spec = ModelSpec::matrix(2, ElementType::F32);
    let shape = vec![1; 100_000];
    let error = to_batch(
        vec![RequestTensor {
            name: "input",
            datatype: "FP32",
            shape: &shape,
            data: TensorData::Raw(&[]),
        }],
        &spec,
    )
    .unwrap_err()
    .to_string();
    assert!(error.len() < 200, "{error}");
    assert!(error.contains("... (100000 dimensions)"), "{error}");
}

#[test]
fn every_transport_form_gives_the_same_batch() {
    let json = "[1.5, 2]";
    let raw: Vec<u8> = [1.5f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let expected = Values::F32(vec![1.5, 2.0]);
    for data in [
        TensorData::Json(json),
        TensorData::Raw(&raw),
        TensorData::Typed(expected.clone()),
    ] {
        assert_eq!(one_input(data).unwrap().inputs, std::slice::from_ref(&expected));
    }
    let short = one_input(TensorData::Raw(&raw[..4])).unwrap_err().to_string();
    assert!(
        short.contains("input \"input\" of shape [1, 2]: the tensor holds 4 bytes"),
        "{short}"
    );
    let few = one_input(TensorData::Typed(Values::F32(vec![1.0])))
        .unwrap_err()
        .to_string();
    assert!(few.contains("needs 2 values, data has 1"), "{few}");
}

#[test]
fn an_output_answers_its_real_shape() {
    let spec = TensorSpec::matrix("y", ElementType::F32, 3, false);
    let output = Output {
        per_row: 3,
        values: Values::F32(vec![0.0; 3]),
        shape: vec![3],
    };
    // Every input a scalar: the tensor is the whole `[3]`, no batch.
    assert_eq!(output_tensor(&spec, &output, 1, false).unwrap().shape, [3]);
    assert_eq!(output_tensor(&spec, &output, 1, true).unwrap().shape, [1, 3]);
    let empty = Output {
        per_row: 0,
        values: Values::F32(Vec::new()),
        shape: vec![0],
    };
    assert_eq!(output_tensor(&spec, &empty, 2, true).unwrap().shape, [2, 0]);
}

#[test]
fn json_data_is_read_into_the_input_type_and_its_errors_name_the_leaf_count_first() {
    let error = |text| one_input(TensorData::Json(text)).unwrap_err().to_string();
    assert_eq!(
        one_input(TensorData::Json("[[0.1], [-7]]")).unwrap().inputs,
        [Values::F32(vec![0.1, -7.0])]
    );
    let text = error(r#"[1, "a"]"#);
    assert!(
        text.contains(r#"input "input": data[1] holds a non-number ("a")"#),
        "{text}"
    );
    let wide = error("[1, 3e39]");
    assert!(
        wide.contains("data[1] = ") && wide.contains("does not fit"),
        "{wide}"
    );
    let many = error(r#"[1, "a", 3]"#);
    assert!(many.contains("needs 2 values, data has 3"), "{many}");
    let huge = error("[1, 1e999]");
    assert!(
        huge.contains("input \"input\": data[1]: number out of range: 1e999"),
        "{huge}"
    );
}

/// A long `data` read in two halves at once (a request alone on a pool) reads as one walk does,
/// wherever the cut falls: the same values, count, refusal or message.
#[test]
fn long_data_read_in_two_halves_at_once_reads_as_one_walk() {
    use tract_linalg::multithread::{multithread_tract_scope, Executor};
    let numbers: Vec<String> = (0..120_000)
        .map(|i| {
            format!(
                "{}",
                (i as f64 * 0.7548776662466927).sin() * 10f64.powi(i % 7 - 3)
            )
        })
        .collect();
    let flat = format!("[{}]", numbers.join(", "));
    let rows: Vec<String> = numbers
        .chunks(300)
        .map(|row| format!("[{}]", row.join(",")))
        .collect();
    let nested = format!("[[{}]]", rows.join(",\n"));
    let with = |from: &str, to: &str, text: &str| {
        let at = text.len() / 2 + text.len() / 5 * usize::from(to.contains('+'));
        let at = at + text[at..].find(from).unwrap();
        format!("{}{to}{}", &text[..at], &text[at + from.len()..])
    };
    // The same at the first `from` past `percent` of the text.
    let at_percent = |percent: usize, from: &str, to: &str, text: &str| {
        let at = text.len() * percent / 100;
        let at = at + text[at..].find(from).unwrap();
        format!("{}{to}{}", &text[..at], &text[at + from.len()..])
    };
    let cases = [
        (flat.clone(), 120_000),
        // Refusals in both halves (the first half's is the one reported), and one in the second
        // half after its first values.
        (
            at_percent(25, ",", ", 3e39,", &at_percent(75, ",", ", 4e39,", &flat)),
            120_002,
        ),
        (at_percent(75, ",", ", 3e39,", &flat), 120_001),
        (flat.clone(), 1000),
        (nested.clone(), 120_000),
        // A value float32 cannot hold in the second half, then past the values needed.
        (with(",", ", 3e39,", &flat), 120_001),
        (with(",", ", 3e39,", &flat), 1000),
        // Not JSON in either half, or at the cut.
        (with(",", ",,", &flat), 120_000),
        (with(",", ", +1,", &flat), 120_000),
        (with("]", "]]", &nested), 120_000),
        (format!("{flat} 1"), 120_000),
        (flat[..flat.len() - 1].to_owned(), 120_000),
        // A string anywhere: no cut.
        (with(",", r#", "a","#, &flat), 120_001),
    ];
    let input = &ModelSpec::matrix(1, ElementType::F32).inputs[0];
    for (text, needed) in cases {
        assert!(text.len() >= 1 << 20, "long enough to be cut");
        // The halves are read as such whenever both are JSON on their own.
        let halves = crate::api::v2::leaves::Halves::of(&text);
        let split_read = halves.and_then(|halves| json::in_halves(&halves, needed, &json::number::<f32>));
        let one_walk = serde_json::from_str::<serde_json::Value>(&text).is_ok() && !text.contains('"');
        assert_eq!(split_read.is_some(), one_walk, "{needed}");
        let alone = json::convert(&text, input, needed);
        // The values matter only without a refusal: `tensor.rs` drops them with one, and the
        // halves then keep what each walked before it.
        if let (Some(split_read), Ok(alone)) = (&split_read, &alone) {
            if alone.refused.is_none() {
                assert_eq!(split_read.values, alone.values, "{needed}");
            }
            assert_eq!(
                (split_read.count, &split_read.refused),
                (alone.count, &alone.refused),
                "{needed}"
            );
        }
        let split = multithread_tract_scope(Executor::multithread(2), || {
            assert!(
                crate::model::threads::both_at_once(),
                "the halves run at once here"
            );
            json::convert(&text, input, needed)
        });
        match (alone, split) {
            (Ok(alone), Ok(split)) => {
                if alone.refused.is_none() {
                    assert_eq!(split.values, alone.values, "{needed}");
                }
                assert_eq!(
                    (split.count, split.refused),
                    (alone.count, alone.refused),
                    "{needed}"
                );
            }
            (Err(alone), Err(split)) => assert_eq!(split, alone),
            (alone, split) => panic!("{:?} against {:?}", alone.err(), split.err()),
        }
    }
    assert!(crate::api::v2::leaves::Halves::of(&flat).is_some());
    assert!(crate::api::v2::leaves::Halves::of(&nested).is_some());
}
