//! Criterion benchmarks of the pure parts of a scoring request, from 1 to 228,000 rows: parsing
//! the JSON body into the model's input buffer, the model run, and writing the JSON answer.
//!
//! `cargo bench --bench pure` (add `-- --quick` for a short run).

use std::hint::black_box;

use aml_scorer::model::{
    parse_request, write_predictions, Batch, ElementType, ModelSpec, OnnxModel, Predictor, TensorSpec,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ROWS: [usize; 4] = [1, 1_000, 10_000, 228_000];

/// A body like the benchmark's: rows of 10 small integers, as in the sample request.
fn body(rows: usize) -> Vec<u8> {
    let row = "[1,2,3,4,5,6,7,8,9,10]";
    format!("{{\"data\":[{}]}}", vec![row; rows].join(",")).into_bytes()
}

fn model() -> OnnxModel {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/sklearn_regression_model.onnx");
    OnnxModel::load(&path).expect("the bundled model loads")
}

fn parse(c: &mut Criterion) {
    let model = model();
    let spec = model.spec();
    let mut group = c.benchmark_group("parse");
    for rows in ROWS {
        let body = body(rows);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &body, |b, body| {
            b.iter(|| parse_request(black_box(body), spec).expect("valid"))
        });
    }
    group.finish();
}

fn run(c: &mut Criterion) {
    let model = model();
    let mut group = c.benchmark_group("model_run");
    for rows in ROWS {
        let batch: Batch = parse_request(&body(rows), model.spec()).expect("valid");
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &batch, |b, batch| {
            b.iter(|| model.predict(black_box(batch.clone())).expect("runs"))
        });
    }
    group.finish();
}

/// The sample's 2 rows and 1 row through tract's plan (not the linear shortcut), with the run
/// state reused (the server's path for other models) and with a fresh state per run (tract's
/// `SimplePlan::run`, the path before the pool).
fn state_reuse(c: &mut Criterion) {
    let pooled = model().on_plan_only();
    let fresh = model().on_plan_only().with_fresh_state_per_run();
    let mut group = c.benchmark_group("state_reuse");
    for rows in [1, 2] {
        let batch: Batch = parse_request(&body(rows), pooled.spec()).expect("valid");
        for (name, model) in [("reused", &pooled), ("fresh", &fresh)] {
            group.bench_with_input(BenchmarkId::new(name, rows), &batch, |b, batch| {
                b.iter(|| model.predict(black_box(batch.clone())).expect("runs"))
            });
        }
    }
    group.finish();
}

/// The sample's rows computed directly (the server's path: `x * W + b` is linear) and on
/// tract's plan.
fn linear(c: &mut Criterion) {
    let direct = model();
    let plan = model().on_plan_only();
    let mut group = c.benchmark_group("linear_or_plan");
    for rows in [2, 228_000] {
        let batch: Batch = parse_request(&body(rows), direct.spec()).expect("valid");
        for (name, model) in [("direct", &direct), ("plan", &plan)] {
            group.bench_with_input(BenchmarkId::new(name, rows), &batch, |b, batch| {
                b.iter(|| model.predict(black_box(batch.clone())).expect("runs"))
            });
        }
    }
    group.finish();
}

fn serialise(c: &mut Criterion) {
    let model = model();
    let mut group = c.benchmark_group("serialise");
    for rows in ROWS {
        let predictions = model
            .predict(parse_request(&body(rows), model.spec()).expect("valid"))
            .expect("runs");
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(rows),
            &predictions,
            |b, predictions| b.iter(|| write_predictions(black_box(predictions)).expect("finite")),
        );
    }
    group.finish();
}

/// 10,000 records of 15 float columns into 15 inputs: the general form parser.
fn parse_records(c: &mut Criterion) {
    let names: Vec<String> = (0..15).map(|i| format!("f{i}")).collect();
    let column = |name: &String| TensorSpec::matrix(name, ElementType::F32, 1, false);
    let spec = ModelSpec {
        inputs: names.iter().map(column).collect(),
        outputs: vec![column(&"variable".to_owned())],
        fixed_rows: None,
        per_item: false,
    };
    let record = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("\"{name}\":{}.25", i * 7))
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(
        "{{\"data\":[{}]}}",
        vec![format!("{{{record}}}"); 10_000].join(",")
    )
    .into_bytes();
    let mut group = c.benchmark_group("parse_records");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("10000x15", |b| {
        b.iter(|| parse_request(black_box(&body), &spec).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, parse, run, state_reuse, linear, serialise, parse_records);
criterion_main!(benches);
