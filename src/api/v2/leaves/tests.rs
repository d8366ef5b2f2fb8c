use super::*;

fn leaves(data: &str) -> Result<Vec<Value>, String> {
    let mut leaves = Vec::new();
    let count = each_leaf(data, |index, leaf| {
        assert_eq!(index, leaves.len());
        leaves.push(leaf.into_value());
    })?;
    assert_eq!(count, leaves.len());
    Ok(leaves)
}

/// The reference: serde_json's own `Value` tree, flattened.
fn flattened(data: &str) -> Vec<Value> {
    fn walk(value: Value, into: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.into_iter().for_each(|item| walk(item, into)),
            leaf => into.push(leaf),
        }
    }
    let mut into = Vec::new();
    walk(serde_json::from_str(data).expect("valid JSON"), &mut into);
    into
}

#[test]
fn leaves_are_serde_jsons_values_in_row_major_order() {
    for data in [
        "[]",
        "7",
        r#"[[1, -2.5e3], [0.1, 14.285714285714286]]"#,
        r#"[ [ [0, -0, 18446744073709551615, -9223372036854775808, 9007199254740993.0] ] ]"#,
        r#"["a\"]b", true, null, {"x": [1, "]"]}, "\u00e9", false, -1e-400]"#,
        "[[],[[]],1]",
    ] {
        let got = leaves(data).unwrap();
        let want = flattened(data);
        assert_eq!(got, want, "{data}");
        let bits = |v: &[Value]| v.iter().map(|x| x.as_f64().map(f64::to_bits)).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{data}");
    }
}

#[test]
fn a_number_past_f64_is_refused_as_serde_json_refuses_it() {
    let error = leaves("[1, 1e999]").unwrap_err();
    assert!(error.contains("data[1]: number out of range: 1e999"), "{error}");
    let long = format!("[{}e999]", "1".repeat(10_000));
    let error = leaves(&long).unwrap_err();
    assert!(
        error.len() < 100,
        "the message shows the number's start only: {error}"
    );
}

/// Both the bracket matching of `data` (request::reader) and the walk are loops, not recursion: any depth the
/// body limit allows costs no stack (the shape check refuses it afterwards).
#[test]
fn deep_nesting_is_walked_without_recursing() {
    let depth = 100_000;
    let data = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(leaves(&data).unwrap(), [Value::from(1)]);
}

#[test]
fn the_reservation_is_bounded_by_the_shape_the_length_and_the_cap() {
    let data = format!(r#"["{}"]"#, ",".repeat(4 * MAX_RESERVED));
    assert_eq!(reservation(&data, usize::MAX), MAX_RESERVED);
    assert_eq!(leaves(&data).unwrap().len(), 1);
    for data in ["[1,2,3]", "7", "[[1,2],[3,4]]", "[]"] {
        let count = leaves(data).unwrap().len();
        assert!(reservation(data, usize::MAX) >= count, "{data}");
        assert!(reservation(data, usize::MAX) <= data.len(), "{data}");
    }
    assert_eq!(reservation("[1, 2, 3]", 2), 2);
}

/// The walk is the only check of `data` (serde_json only matched its brackets): it takes
/// exactly the texts serde_json takes.
#[test]
fn the_walk_refuses_what_serde_json_refuses() {
    for data in [
        "[1, 01]",
        "[+1]",
        "[1.]",
        "[.5]",
        "[1,]",
        "[NaN]",
        "[1 2]",
        "[1,,2]",
        "[,1]",
        "[[1]",
        "[1]]",
        "[1] 2",
        "",
        " ",
        "[",
        "]",
        "1 2",
        "[[1] [2]]",
        "[1]x",
        "[1e]",
        "[-]",
        "[1.5.3]",
        "[tru]",
        "[\"a]",
        "[{\"a\" 1}]",
        "[1\u{c}]",
        "[[],]",
        "[[] []]",
        "[1]\n",
        "{}",
        "[{}]",
        "[\"\\q\"]",
    ] {
        let serde = serde_json::from_str::<Value>(data).is_ok();
        assert_eq!(leaves(data).is_ok(), serde, "{data:?}");
    }
}

/// The halves of a long text hold its leaves, the first from the start to the cut, the
/// second from the cut to the end.
#[test]
fn the_halves_hold_every_leaf_once_in_order() {
    let rows: Vec<String> = (0..60_000).map(|i| format!("[{i}, -{i}.5, [true]]")).collect();
    let text = format!("[{}]", rows.join(","));
    let halves = Halves::of(&text).expect("a long text of no string is cut");
    let mut got = Vec::new();
    let first = halves
        .each_leaf_of_first(|_, leaf| got.push(leaf.into_value()))
        .unwrap();
    let second = halves
        .each_leaf_of_second(|_, leaf| got.push(leaf.into_value()))
        .unwrap();
    assert_eq!(first + second, got.len());
    assert!(first > 0 && second > 0);
    assert_eq!(got, flattened(&text));
    assert!(
        Halves::of(&text[..1000]).is_none(),
        "short texts are walked whole"
    );
}

proptest::proptest! {
    /// Short texts of JSON's punctuation, digits and literals: valid exactly when serde_json
    /// says so, and then the same leaves.
    #[test]
    fn any_text_is_taken_exactly_when_serde_json_takes_it(
        data in "[\\[\\]{},:0-9.eE+\\- \"atrue]{0,24}"
    ) {
        let serde = serde_json::from_str::<Value>(&data);
        match leaves(&data) {
            Ok(got) => proptest::prop_assert_eq!(got, flattened(&data)),
            Err(_) => proptest::prop_assert!(serde.is_err(), "{:?} refused", data),
        }
    }
}
