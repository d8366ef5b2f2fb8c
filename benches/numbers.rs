//! Criterion benchmarks of JSON number parsing: whole-body decode (`parse_request`, the `/score`
//! path) in MB/s per core on three corpora as clients write them: full-precision floats (what
//! pandas and numpy write, `14.285714285714286`), short floats (`5.25`) and integers.
//!
//! `cargo bench --bench numbers` (add `-- --quick` for a short run).

use std::hint::black_box;

use aml_scorer::model::{parse_request, ElementType, ModelSpec};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ROWS: usize = 10_000;
const WIDTH: usize = 10;

/// The three corpora, each `ROWS` rows of `WIDTH` numbers, from a fixed seed.
fn corpora() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(25);
    let mut full = || {
        // Shortest round-trip text of a double (as Python's repr and pandas write it): 15-17
        // significant digits for most values.
        let value = (rng.f64() - 0.3) * 10f64.powi(rng.i32(-3..6));
        format!("{value}")
    };
    let full: Vec<String> = (0..ROWS * WIDTH).map(|_| full()).collect();
    let short: Vec<String> = (0..ROWS * WIDTH)
        .map(|_| format!("{}.{}", rng.i32(-99..1000), rng.u32(0..1000)))
        .collect();
    let integers: Vec<String> = (0..ROWS * WIDTH).map(|_| rng.i64(-100_000..1_000_000).to_string()).collect();
    [("full_precision", full), ("short_floats", short), ("integers", integers)]
        .into_iter()
        .map(|(name, numbers)| (name, body(&numbers)))
        .collect()
}

fn body(numbers: &[String]) -> Vec<u8> {
    let rows: Vec<String> = numbers
        .chunks(WIDTH)
        .map(|row| format!("[{}]", row.join(",")))
        .collect();
    format!("{{\"data\":[{}]}}", rows.join(",")).into_bytes()
}

/// Whole-body decode through the `/score` parser into a float32 and a float64 input.
fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, body) in corpora() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        for element in [ElementType::F32, ElementType::F64] {
            let spec = ModelSpec::matrix(WIDTH, element);
            group.bench_with_input(BenchmarkId::new(name, element), &body, |b, body| {
                b.iter(|| parse_request(black_box(body), &spec).expect("valid"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
