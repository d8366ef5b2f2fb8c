//! Engine time of one ONNX model through the server's own loading and run path (no HTTP, no
//! JSON): the load time, then the median run time for each row count. benches/trees.py runs it
//! beside onnxruntime on the same models and rows.
//!
//! `cargo bench --bench engine -- MODEL ROWS.f32 WIDTH COUNT[,COUNT...]` where ROWS.f32 holds
//! float32 rows, little-endian, row-major. Prints one JSON object. `AML_SCORER_DIRECT_KERNELS`
//! chooses the convolution kernels as it does for the server (`auto`, `avx2`, `off`).

use std::time::{Duration, Instant};

use aml_scorer::model::{choose_kernels, Batch, DirectKernels, OnnxModel, Predictor, Values};
use clap::ValueEnum;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [model, rows, width, counts] = &args[..] else {
        eprintln!("usage: engine MODEL ROWS.f32 WIDTH COUNT[,COUNT...]");
        std::process::exit(2);
    };
    let width: usize = width.parse().expect("WIDTH is a number");
    let bytes = std::fs::read(rows).expect("the rows file is readable");
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();

    if let Ok(kernels) = std::env::var("AML_SCORER_DIRECT_KERNELS") {
        let kernels = DirectKernels::from_str(&kernels, true).expect("auto, avx2 or off");
        choose_kernels(kernels);
    }
    let started = Instant::now();
    let model = OnnxModel::load(std::path::Path::new(model)).expect("the model loads");
    let load = started.elapsed();

    let mut medians = Vec::new();
    for count in counts.split(',') {
        let count: usize = count.parse().expect("COUNT is a number");
        let rows = &values[..count * width];
        let run = || {
            let batch = Batch {
                rows: count,
                inputs: vec![Values::F32(rows.to_vec())],
                shapes: Vec::new(),
            };
            let started = Instant::now();
            model.predict(batch).expect("the model runs");
            started.elapsed()
        };
        // Enough runs for a stable median, about a second per count.
        let first = run();
        let runs = (Duration::from_secs(1).as_nanos() / first.as_nanos().max(1)).clamp(5, 20_000);
        let mut times: Vec<Duration> = (0..runs).map(|_| run()).collect();
        times.sort();
        medians.push(format!(
            "\"{count}\": {:.3}",
            times[times.len() / 2].as_secs_f64() * 1e6
        ));
    }
    println!(
        "{{\"load_ms\": {:.3}, \"median_us\": {{{}}}}}",
        load.as_secs_f64() * 1e3,
        medians.join(", ")
    );
}
