//! The fast path and the full parser must give the same bits for every body the fast path takes,
//! and a body must parse the same whichever path reads it (an extra key sends it to the full one).

use proptest::prelude::*;

use super::*;

/// Bit patterns, so that -0.0 and 0.0 (equal under `==`) differ.
fn bits(parsed: &Result<(usize, Values), InputError>) -> Result<(usize, Vec<u64>), InputError> {
    let (rows, values) = parsed.clone()?;
    let bits = match values {
        Values::F32(v) => v.iter().map(|x| u64::from(x.to_bits())).collect(),
        Values::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        Values::I32(v) => v.iter().map(|&x| x as u64).collect(),
        Values::I64(v) => v.iter().map(|&x| x as u64).collect(),
        other => unreachable!("a numeric matrix, not {other:?}"),
    };
    Ok((rows, bits))
}

/// The matrix parser (fast path, then the full one), as `parse_request` runs it first.
fn parse(body: &[u8], spec: &ModelSpec) -> Result<(usize, Values), InputError> {
    let (width, element) = spec.numeric_matrix().expect("a matrix model");
    parse_matrix(body, width, element)
}

fn both_paths(body: &str, width: usize, element: ElementType) -> [Result<(usize, Vec<u64>), InputError>; 2] {
    let spec = ModelSpec::matrix(width, element);
    let usual = parse(body.as_bytes(), &spec);
    // An extra key after "data" makes the fast path give up.
    let with_key = format!("{}, \"extra\": 1}}", body.trim_end().trim_end_matches('}'));
    let full = parse(with_key.as_bytes(), &spec);
    [bits(&usual), bits(&full)]
}

const ELEMENTS: [ElementType; 4] = [
    ElementType::F64,
    ElementType::F32,
    ElementType::I64,
    ElementType::I32,
];

#[test]
fn negative_zero_is_negative_zero_on_both_paths() {
    let [fast, full] = both_paths(r#"{"data": [[-0, -0.0, 0]]}"#, 3, ElementType::F64);
    let negative_zero = (-0.0f64).to_bits();
    assert_eq!(fast, Ok((1, vec![negative_zero, negative_zero, 0])));
    assert_eq!(fast, full);
}

#[test]
fn the_fast_path_agrees_with_the_full_parser_bit_for_bit_on_edge_numbers() {
    let numbers = [
        "-0",
        "0",
        "1",
        "-1",
        "9007199254740993",
        "-9007199254740993",
        "999999999999999999",
        "1000000000000000000",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "16777217",
        "-16777217",
        "2147483648",
        "-2147483649",
        "1e308",
        "-1e-400",
        "1.5",
        "4.0",
        "-4e0",
        "1e39",
        "3.4028235e38",
        "0.1",
        "2.5E+3",
    ];
    for number in numbers {
        let body = format!(r#"{{"data": [{number}]}}"#);
        for element in ELEMENTS {
            let [fast, full] = both_paths(&body, 1, element);
            assert_eq!(fast, full, "{number} as {element}");
        }
    }
}

/// A JSON number as clients write it: integers of any length and sign, decimals, exponents.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| x.to_string()),
        any::<f32>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
        (
            any::<bool>(),
            "[0-9]{1,25}",
            proptest::option::of("[0-9]{1,20}"),
            proptest::option::of(-400i32..400)
        )
            .prop_map(|(negative, int, frac, exp)| {
                let int = int.trim_start_matches('0');
                let int = if int.is_empty() { "0" } else { int };
                let mut text = format!("{}{int}", if negative { "-" } else { "" });
                if let Some(frac) = frac {
                    text.push('.');
                    text.push_str(&frac);
                }
                if let Some(exp) = exp {
                    text.push_str(&format!("e{exp}"));
                }
                text
            }),
    ]
}

/// A body: rows of numbers (sometimes a flat row), with random spacing, sometimes broken.
fn body() -> impl Strategy<Value = (String, usize)> {
    (1usize..5, 1usize..4, any::<bool>())
        .prop_flat_map(|(width, rows, flat)| {
            let rows = if flat { 1 } else { rows };
            (
                proptest::collection::vec(proptest::collection::vec(number(), width), rows),
                Just(width),
                Just(flat),
                " {0,2}",
                proptest::option::of(("[\\[\\]{}, \"a0-]", any::<prop::sample::Index>())),
            )
        })
        .prop_map(|(rows, width, flat, space, mutation)| {
            let row = |r: &Vec<String>| format!("[{}]", r.join(&format!(",{space}")));
            let data = if flat {
                row(&rows[0])
            } else {
                format!("[{}]", rows.iter().map(row).collect::<Vec<_>>().join(","))
            };
            let mut body = format!("{{{space}\"data\":{space}{data}{space}}}");
            if let Some((byte, index)) = mutation {
                // One character replaced inside the data: the paths must still agree on the error.
                let at = 10 + index.index(body.len().saturating_sub(12).max(1));
                if body.is_char_boundary(at) && body.is_char_boundary(at + 1) {
                    body.replace_range(at..at + 1, &byte);
                }
            }
            (body, width)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn both_parsers_give_the_same_bits_and_errors((body, width) in body()) {
        for element in ELEMENTS {
            let spec = ModelSpec::matrix(width, element);
            let answer = parse(body.as_bytes(), &spec);
            let full = match element {
                ElementType::F32 => parse_full::<f32>(body.as_bytes(), width, Vec::new()),
                ElementType::F64 => parse_full::<f64>(body.as_bytes(), width, Vec::new()),
                ElementType::I32 => parse_full::<i32>(body.as_bytes(), width, Vec::new()),
                ElementType::I64 => parse_full::<i64>(body.as_bytes(), width, Vec::new()),
                _ => unreachable!("ELEMENTS are the tabular numeric types"),
            };
            prop_assert_eq!(bits(&answer), bits(&full), "{} as {}", body, element);
        }
    }
}
