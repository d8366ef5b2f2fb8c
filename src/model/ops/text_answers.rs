//! The text operators alone (tests/fixtures/text/ops, made by tests/models/make_text.py) answer
//! as onnxruntime does: strings equal, numbers within 1e-6.

use tract_onnx::prelude::*;

const FOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/text/ops");

fn tensor(value: &serde_json::Value) -> Tensor {
    let shape: Vec<usize> = serde_json::from_value(value["shape"].clone()).unwrap();
    let data = value["data"].as_array().unwrap();
    let tensor: Tensor = match data.first() {
        Some(serde_json::Value::String(_)) | None if value["strings"].as_bool() != Some(false) => {
            let strings: Vec<String> = data
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            tract_ndarray::ArrayD::from_shape_vec(shape, strings)
                .unwrap()
                .into()
        }
        Some(v) if v.is_i64() => {
            let ints: Vec<i64> = data.iter().map(|v| v.as_i64().unwrap()).collect();
            tract_ndarray::ArrayD::from_shape_vec(shape, ints).unwrap().into()
        }
        _ => {
            let floats: Vec<f32> = data.iter().map(|v| v.as_f64().unwrap() as f32).collect();
            tract_ndarray::ArrayD::from_shape_vec(shape, floats)
                .unwrap()
                .into()
        }
    };
    tensor
}

/// Runs `name` on `x` (its type taken from the model's first node).
fn run(name: &str, x: Tensor) -> Tensor {
    let model = super::onnx()
        .model_for_path(format!("{FOLDER}/{name}.onnx"))
        .unwrap();
    let symbols = model.symbols.clone();
    let shape: TVec<TDim> = (0..x.rank())
        .map(|i| symbols.new_with_prefix(&format!("d{i}")).to_dim())
        .collect();
    let plan = model
        .with_input_fact(0, InferenceFact::dt_shape(x.datum_type(), shape))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let outputs = plan
        .run(tvec!(x.into_tvalue()))
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    outputs[0].clone().into_tensor()
}

#[test]
fn each_text_operator_answers_as_onnxruntime() {
    let answers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FOLDER}/answers.json")).unwrap()).unwrap();
    let answers = answers.as_object().unwrap();
    assert!(answers.len() >= 12, "every operator's cases");
    for (name, runs) in answers {
        for case in runs.as_array().unwrap() {
            let mut x = case["x"].clone();
            // An empty input keeps the model's type: integers for the int64 pool.
            if name.contains("ints") {
                x["strings"] = false.into();
            }
            let mut x = tensor(&x);
            if name.contains("ints") && x.datum_type() != i64::datum_type() {
                x = x.cast_to::<i64>().unwrap().into_owned();
            }
            let got = run(name, x);
            let want = &case["y"];
            let shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
            assert_eq!(got.shape(), &*shape, "{name} {case}");
            if got.datum_type() == String::datum_type() {
                let got: Vec<&str> = got
                    .try_as_plain_ram()
                    .unwrap()
                    .as_slice::<String>()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str())
                    .collect();
                let want: Vec<&str> = want["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(got, want, "{name} {case}");
            } else {
                let got = got.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap();
                for (g, w) in got.iter().zip(want["data"].as_array().unwrap()) {
                    let w = w.as_f64().unwrap() as f32;
                    assert!(
                        (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                        "{name}: {g} vs onnxruntime's {w}\n{case}"
                    );
                }
            }
        }
    }
}
