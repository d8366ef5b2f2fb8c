use proptest::prelude::*;

use super::count::{Counter, Mode};
use super::pool::{Pool, Values};

fn counter(max_skip: usize) -> Counter {
    let pool = ["a", "b", "c", "a", "b", "b", "c", "a", "b", "c"];
    let values = Values::Strings(pool.iter().map(|s| s.to_string()).collect());
    Counter {
        pool: Pool::new(values, &[0, 3, 7], &[0, 1, 2, 3, 4, 5], (1, 3)).unwrap(),
        lengths: (1, 3),
        max_skip,
        mode: Mode::TfIdf,
        weights: Some(vec![1.0; 6]),
        width: 6,
    }
}

#[test]
fn overlapping_and_skipping_ngrams_are_counted_once_per_start_and_distance() {
    let c = counter(1);
    let mut counts = [0u32; 6];
    // a b c with skips up to 1: a, b, c; (a b), (b c), (a b c); skip 2: (a c).
    c.count(&ids(&c, &["a", "b", "c"]), &mut counts, &mut vec![]);
    assert_eq!(counts, [1, 1, 1, 1, 1, 1]);
}

fn ids(c: &Counter, tokens: &[&str]) -> Vec<u32> {
    let tensor = tract_onnx::prelude::tract_ndarray::Array1::from_iter(tokens.iter().map(|s| s.to_string()));
    let mut out = vec![];
    c.pool.ids(&tensor.into(), &mut out).unwrap();
    out
}

proptest! {
    /// Any tokens, known or not, leave the counts within the number of n-gram starts.
    #[test]
    fn random_strings_never_panic_the_ngram_counter(
        tokens in proptest::collection::vec("[abc]|\\PC{0,6}", 0..40),
        max_skip in 0usize..4,
    ) {
        let c = counter(max_skip);
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let mut counts = [0u32; 6];
        c.count(&ids(&c, &tokens), &mut counts, &mut vec![]);
        let most = (tokens.len() * (max_skip + 1)) as u32;
        prop_assert!(counts.iter().all(|&n| n <= most.max(tokens.len() as u32)));
    }
}

#[test]
fn an_output_of_more_cells_than_the_limit_is_refused_before_it_is_allocated() {
    use super::{output_cells, MAX_OUTPUT_CELLS};
    assert_eq!(output_cells(2, MAX_OUTPUT_CELLS / 2).unwrap(), MAX_OUTPUT_CELLS);
    let error = output_cells(10_000, 50_000).unwrap_err().to_string();
    assert!(error.contains("10000 rows of 50000 columns"), "{error}");
    assert!(error.contains("MAX_OUTPUT_CELLS"), "{error}");
    assert!(output_cells(usize::MAX, 2).is_err());
}
