//! The scanner against the oracles it must agree with: `str::parse::<f64>` for the bits, the
//! integer parsers for the integer kinds, and JSON's grammar (written out as a regular
//! expression) for what is a number at all.

use proptest::prelude::*;

use super::*;

/// JSON's number grammar (RFC 8259, section 6), whole.
const GRAMMAR: &str = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$";

/// The number `text` reads as, when it is all of `text`.
fn whole(text: &str) -> Option<Number> {
    scan(text.as_bytes(), 0).and_then(|(number, end)| (end == text.len()).then_some(number))
}

/// What serde_json's kinds make of `text` (a JSON number): an integer in i64, else in u64, else the
/// correctly rounded float.
fn expected(text: &str) -> Number {
    let integer = !text.contains(['.', 'e', 'E']);
    if integer && text != "-0" {
        if let Ok(value) = text.parse::<i64>() {
            return Number::Int(value);
        }
        if let Ok(value) = text.parse::<u64>() {
            return Number::UInt(value);
        }
    }
    Number::Float(text.parse::<f64>().expect("a JSON number is a Rust float"))
}

/// Compares floats by their bits, so that `-0.0` and `0.0` differ.
fn same(a: Number, b: Number) -> bool {
    match (a, b) {
        (Number::Float(a), Number::Float(b)) => a.to_bits() == b.to_bits(),
        (a, b) => a == b,
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let got = whole(text);
    prop_assert!(got.is_some(), "{text} was refused");
    let (got, want) = (got.unwrap(), expected(text));
    prop_assert!(same(got, want), "{text}: got {got:?}, str::parse gives {want:?}");
    Ok(())
}

/// JSON numbers by their parts: any sign, integer part, fraction and exponent, digits long and
/// short, so that every branch of the scanner (exact, scaled, slow; integer kinds) is reached.
fn json_number() -> impl Strategy<Value = String> {
    let int = prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,24}"];
    let fraction = prop::option::of("[0-9]{1,30}");
    let exponent = prop::option::of(("[eE]", "[+-]?", 0u32..400));
    ("-?", int, fraction, exponent).prop_map(|(sign, int, fraction, exponent)| {
        let mut text = format!("{sign}{int}");
        if let Some(fraction) = fraction {
            text += &format!(".{fraction}");
        }
        if let Some((e, sign, value)) = exponent {
            text += &format!("{e}{sign}{value}");
        }
        text
    })
}

/// Any double (subnormals, the largest, both zeros) written as Python, pandas and serde write it
/// (shortest round trip), in scientific form, and with its digits cut or lengthened by one, so the
/// text lands between two doubles too.
fn written_double() -> impl Strategy<Value = String> {
    (any::<u64>(), 0usize..4).prop_filter_map("finite", |(bits, form)| {
        let value = f64::from_bits(bits);
        value.is_finite().then(|| match form {
            0 => format!("{value:?}"),
            1 => format!("{value:e}"),
            2 => format!("{value:.25e}"),
            _ => format!("{value:.14e}"),
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn json_numbers_by_their_parts_read_as_str_parse_reads_them(text in json_number()) {
        check(&text)?;
    }

    #[test]
    fn any_written_double_reads_back_to_str_parse_bits(text in written_double()) {
        check(&text)?;
    }

    /// Near halfway between two doubles: 17 to 40 significant digits, where a wrong rounding shows.
    #[test]
    fn long_mantissas_round_as_str_parse(
        digits in "[1-9][0-9]{16,39}",
        point in 1usize..17,
        exponent in -330i32..310,
    ) {
        check(&format!("{}.{}e{exponent}", &digits[..point], &digits[point..]))?;
    }

    /// Mantissas of up to 19 digits with powers of ten around Eisel-Lemire's table and past it.
    #[test]
    fn any_mantissa_times_a_power_of_ten_reads_as_str_parse(
        w in 1u64..10_000_000_000_000_000_000,
        q in -90i64..90,
    ) {
        check(&format!("{w}e{q}"))?;
        check(&format!("-{w}E{q}"))?;
        let digits = w.to_string();
        check(&format!("0.{digits}e{q}"))?;
    }

    #[test]
    fn integers_past_2_to_the_53_keep_their_kind_and_value(value in any::<i64>(), big in any::<u64>()) {
        check(&value.to_string())?;
        check(&big.to_string())?;
        check(&format!("-{big}"))?;
        check(&format!("{}{}", big.max(1), value.unsigned_abs()))?;
    }

    /// Integers exactly halfway between two doubles (past 2^53, where the halves are whole), in
    /// the forms that send them down each conversion path: ties round to the even double.
    #[test]
    fn exact_halfway_points_round_to_even(n in (1u64 << 53)..(1u64 << 63)) {
        let below = n as f64;
        let ulp = 1u128 << (below.log2().floor() as u32 - 52);
        let halfway = below as u128 + ulp / 2;
        for text in [
            format!("{halfway}"),
            format!("{halfway}.0"),
            format!("{halfway}e0"),
            format!("-{halfway}000e-3"),
            format!("{}.{:03}e3", halfway / 1000, halfway % 1000),
        ] {
            check(&text)?;
        }
    }

    /// Values below one written with zeros after the point (`0.000123…`, as Display writes
    /// them): the zeros do not count against the mantissa's 19 digits, the digits after them do.
    #[test]
    fn leading_zeros_of_a_fraction_are_not_significant(
        sign in "-?",
        zeros in 0usize..24,
        digits in "[1-9][0-9]{0,21}",
    ) {
        check(&format!("{sign}0.{}{digits}", "0".repeat(zeros)))?;
    }

    /// Strings of number characters: read whole exactly when JSON's grammar takes them.
    #[test]
    fn only_what_json_calls_a_number_is_read_whole(text in "[-+0-9.eE]{1,12}|[0-9]{0,3}(inf|nan|Infinity|NaN)") {
        let grammar = regex::Regex::new(GRAMMAR).expect("a valid pattern");
        prop_assert_eq!(whole(&text).is_some(), grammar.is_match(&text), "{}", text);
        if grammar.is_match(&text) {
            check(&text)?;
        }
    }
}

#[test]
fn edge_cases_read_as_str_parse_reads_them() {
    let subnormal_min = "4.9406564584124654e-324";
    let below_half_of_min = "2.4703282292062327e-324";
    let above_half_of_min = "2.4703282292062328e-324";
    let eight_hundred_digits = format!("0.{}1e3", "9".repeat(799));
    let long_halfway = format!("9007199254740993{}", "0".repeat(780));
    for text in [
        "0",
        "-0",
        "-0.0",
        "0e999",
        "-0e-999",
        "0.0000000000000000000000000000000000000001",
        "1e-400",
        "-1e-400",
        "1e309",
        "-1e309",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        subnormal_min,
        below_half_of_min,
        above_half_of_min,
        "9007199254740992",
        "9007199254740993",
        "9007199254740993.0",
        "9007199254740993e0",
        "-9007199254740993",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551616",
        "123456789012345678901234567890",
        "14.285714285714286",
        "0.1",
        "0.30000000000000004",
        "1e22",
        "1e23",
        "12e25",
        "123456789e30",
        "1E+2",
        "1e-0",
        "1e00000000000000000000000001",
        "1e-00000000000000000000000001",
        "1e99999999999999999999",
        "1e-99999999999999999999",
        &eight_hundred_digits,
        &long_halfway,
        &format!("{long_halfway}.0000000001"),
    ] {
        check(text).unwrap();
    }
}

#[test]
fn a_saturated_exponent_that_leading_zeros_bring_back_reads_as_str_parse() {
    let zeros = "0".repeat(1 << 20);
    for text in [
        format!("0.{zeros}1e9999999"),
        format!("0.{zeros}1e1048577"),
        format!("-0.{zeros}1e1048578"),
        format!("0.{zeros}0e9999999"),
    ] {
        let (got, want) = (whole(&text).expect("a JSON number"), expected(&text));
        let shown = &text[text.len() - 12..];
        assert!(
            same(got, want),
            "…{shown}: got {got:?}, str::parse gives {want:?}"
        );
    }
}

#[test]
fn forms_outside_json_are_refused() {
    for text in [
        "", "-", "+1", ".5", "-.5", "1.", "1.e5", "1e", "1e+", "1e-", "e5", "inf", "-inf", "nan", "NaN",
        "Infinity", "--1", "-+1", "0x10",
    ] {
        assert_eq!(whole(text), None, "{text}");
    }
}

#[test]
fn a_number_ends_where_json_says_it_ends() {
    // A leading zero ends the number: `01` is `0` followed by something that is not a delimiter.
    assert_eq!(scan(b"01", 0), Some((Number::Int(0), 1)));
    assert_eq!(scan(b"1.5.3", 0), Some((Number::Float(1.5), 3)));
    assert_eq!(scan(b"[-12,", 1), Some((Number::Int(-12), 4)));
    assert_eq!(scan(b"7]", 0), Some((Number::Int(7), 1)));
}

/// Integer and fraction parts of every length from 1 to 20 digits (whole eight-byte words, part
/// words and the byte-by-byte end of the input), ended by a delimiter or by the end.
#[test]
fn parts_of_every_length_read_as_str_parse_and_end_where_they_end() {
    let digits = "12345678901234567890";
    for int_length in 1..=20 {
        for fraction_length in 0..=20 {
            let mut text = digits[..int_length].to_owned();
            if fraction_length > 0 {
                text += &format!(".{}", &digits[digits.len() - fraction_length..]);
            }
            for tail in ["", ",", "]", " ", ",1234567890123456"] {
                let body = format!("[{text}{tail}");
                let (got, end) = scan(body.as_bytes(), 1).expect("a JSON number");
                assert_eq!(end, 1 + text.len(), "{body}");
                assert!(same(got, expected(&text)), "{body}: got {got:?}");
            }
        }
    }
}
