//! Criterion benchmarks of JSON number parsing: whole-body decode (`parse_request`, the `/score`
//! path) in MB/s per core on three corpora as clients write them: full-precision floats (what
//! pandas and numpy write, `14.285714285714286`), short floats (`5.25`) and integers.
//!
//! Times are the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: the benchmark
//! machines are shared, and time spent waiting for a core is not parsing. MB/s are decimal.
//!
//! `cargo bench --bench numbers` (add `-- --quick` for a short run).

use std::hint::black_box;

use aml_scorer::model::number::{self, Number};
use aml_scorer::model::{parse_request, ElementType, ModelSpec};
use criterion::measurement::{Measurement, ValueFormatter};
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
    let integers: Vec<String> = (0..ROWS * WIDTH)
        .map(|_| rng.i64(-100_000..1_000_000).to_string())
        .collect();
    [
        ("full_precision", full),
        ("short_floats", short),
        ("integers", integers),
    ]
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
fn decode(c: &mut Criterion<CpuTime>) {
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

/// Number by number through a corpus's body, the way the `/score` scanner walks it (skip the
/// punctuation, read a number, push it), with each candidate number reader: the same walk, so
/// the difference is the reader's.
fn walk(body: &[u8], values: &mut Vec<f64>, read: impl Fn(&[u8], usize) -> Option<(f64, usize)>) {
    let mut at = 0;
    while at < body.len() {
        match body[at] {
            b'-' | b'0'..=b'9' => {
                let (value, end) = read(body, at).expect("a valid number");
                values.push(value);
                at = end;
            }
            _ => at += 1,
        }
    }
}

/// Today's reader before issue 25: JSON's grammar checked in one pass, then the text parsed
/// again by `str::parse` (integers of up to 18 digits summed directly).
fn grammar_then_str_parse(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let digits = |at: &mut usize| {
        let from = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > from
    };
    let mut at = start;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    let int_start = at;
    if !digits(&mut at) || (bytes[int_start] == b'0' && at - int_start > 1) {
        return None;
    }
    let mut integer = true;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        integer = false;
        if !digits(&mut at) {
            return None;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        integer = false;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(&mut at) {
            return None;
        }
    }
    if integer && at - int_start <= 18 {
        let magnitude = bytes[int_start..at]
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        let value = if int_start > start { -magnitude } else { magnitude };
        return Some((value as f64, at));
    }
    let text = std::str::from_utf8(&bytes[start..at]).ok()?;
    Some((text.parse::<f64>().ok()?, at))
}

/// The same grammar check, then fast-float2 (fast_float's port) instead of `str::parse`.
fn grammar_then_fast_float2(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let (_, end) = grammar_then_str_parse(bytes, start)?;
    Some((fast_float2::parse(&bytes[start..end]).ok()?, end))
}

/// The reader of issue 25 (`model::number::scan`): the digits read once.
fn one_pass(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let (number, end) = number::scan(bytes, start)?;
    let value = match number {
        Number::Int(value) => value as f64,
        Number::UInt(value) => value as f64,
        Number::Float(value) => value,
    };
    Some((value, end))
}

/// The candidate readers side by side in one run (the machine is shared: only a comparison
/// within one run means much).
fn readers(c: &mut Criterion<CpuTime>) {
    let mut group = c.benchmark_group("readers");
    for (name, body) in corpora() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        let mut values = Vec::with_capacity(ROWS * WIDTH);
        group.bench_with_input(
            BenchmarkId::new(name, "grammar_then_str_parse"),
            &body,
            |b, body| {
                b.iter(|| {
                    values.clear();
                    walk(black_box(body), &mut values, grammar_then_str_parse);
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new(name, "grammar_then_fast_float2"),
            &body,
            |b, body| {
                b.iter(|| {
                    values.clear();
                    walk(black_box(body), &mut values, grammar_then_fast_float2);
                })
            },
        );
        group.bench_with_input(BenchmarkId::new(name, "one_pass"), &body, |b, body| {
            b.iter(|| {
                values.clear();
                walk(black_box(body), &mut values, one_pass);
            })
        });
    }
    group.finish();
}

/// serde_json reading the whole body into a `Value` (its `float_roundtrip` parser): what the
/// request forms that go through a `Value` (records, columns, split frames) pay per number.
fn serde_value(c: &mut Criterion<CpuTime>) {
    let mut group = c.benchmark_group("serde_json_value");
    for (name, body) in corpora() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).expect("valid"))
        });
    }
    group.finish();
}

/// The calling thread's CPU time, in nanoseconds.
struct CpuTime;

fn thread_cpu_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable on Linux");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuTimeFormatter
    }
}

/// Nanoseconds shown as ms of CPU time, throughput as decimal MB/s of CPU time.
struct CpuTimeFormatter;

impl ValueFormatter for CpuTimeFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|ns| *ns /= 1e6);
        "ms (CPU)"
    }
    fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let bytes = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => n as f64,
            _ => unreachable!("these benchmarks measure bytes"),
        };
        values.iter_mut().for_each(|ns| *ns = bytes * 1e3 / *ns);
        "MB/s (CPU)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn cpu_time() -> Criterion<CpuTime> {
    Criterion::default().with_measurement(CpuTime)
}

criterion_group! {
    name = benches;
    config = cpu_time();
    targets = decode, readers, serde_value
}
criterion_main!(benches);
