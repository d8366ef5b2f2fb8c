//! gRPC (`inference.GRPCInferenceService`) through the clients users run: `tritonclient.grpc`
//! (raw contents) and the KServe SDK (typed contents), each in its own process
//! (`tests/clients/`), answering as REST's JSON does and as onnxruntime did; errors and
//! readiness in `grpc/errors.rs`; transport bounds
//! (limits, the shared connection cap, shutdown) in `grpc/transport.rs` and `grpc/raw.rs`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

mod compressed;
mod errors;
mod raw;
mod transport;

const TRITON: &str = "triton_grpc.py";
const KSERVE: &str = "kserve_grpc.py";

/// What `script` printed for one call (an answer, or `{"error": {code, message}}`).
fn call(script: &str, server: &Server, args: &[&str]) -> Value {
    let addr = server.grpc_addr().to_string();
    let mut all = vec![addr.as_str()];
    all.extend_from_slice(args);
    let out = run_client(script, &all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn infer(script: &str, server: &Server, model: &str, request: &Value) -> Value {
    call(script, server, &["infer", model, &request.to_string()])
}

/// REST's answer to the same V2 request.
async fn rest(server: &Server, model: &str, request: &Value) -> Answer {
    post_to(server, &format!("/v2/models/{model}/infer"), request.to_string()).await
}

/// Every output as REST answered it: same names, datatypes and shapes in the same order, values
/// equal (numbers within 1e-5).
fn assert_same_outputs(grpc: &Value, rest: &Value, context: &str) {
    let (got, want) = (grpc["outputs"].as_array(), rest["outputs"].as_array());
    let (Some(got), Some(want)) = (got, want) else {
        panic!("{context}: outputs missing: {grpc} vs {rest}");
    };
    assert_eq!(got.len(), want.len(), "{context}: {grpc} vs {rest}");
    for (g, w) in got.iter().zip(want) {
        for key in ["name", "datatype", "shape"] {
            assert_eq!(g[key], w[key], "{context}: {key} of {g} vs {w}");
        }
        let (g, w) = (flatten(&g["data"]), flatten(&w["data"]));
        if g.iter().all(Value::is_number) {
            assert_close_to(&Value::Array(g), &Value::Array(w));
        } else {
            assert_eq!(g, w, "{context}");
        }
    }
}

fn flatten(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        leaf => vec![leaf.clone()],
    }
}

/// A fixture case as a V2 request.
fn request_of(case: &Value) -> Value {
    let inputs: Vec<Value> = case["inputs"]
        .as_object()
        .expect("inputs by name")
        .iter()
        .map(|(name, tensor)| {
            json!({ "name": name, "datatype": tensor["datatype"], "shape": tensor["shape"], "data": tensor["data"] })
        })
        .collect();
    json!({ "id": case["name"], "inputs": inputs })
}

/// Both clients answer `request` as REST does, and echo its id.
async fn assert_both_clients_answer_as_rest(server: &Server, model: &str, request: &Value) -> Value {
    let rest = rest(server, model, request).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    let rest = rest.json();
    for script in [TRITON, KSERVE] {
        let grpc = infer(script, server, model, request);
        assert_same_outputs(&grpc, &rest, &format!("{script} {model} {request}"));
        assert_eq!(grpc["model_name"], model, "{grpc}");
        // Proto3 strings: no id is "".
        assert_eq!(grpc["id"], request["id"].as_str().unwrap_or(""), "{grpc}");
    }
    rest
}

#[tokio::test]
async fn every_call_answers_as_its_rest_route_and_is_counted_by_route() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let model = "sklearn_regression_model";

    let health = call(TRITON, &server, &["health", model]);
    let metadata: Value =
        serde_json::from_str(&get_text(&server, &format!("/v2/models/{model}")).await).unwrap();
    let server_metadata: Value = serde_json::from_str(&get_text(&server, "/v2").await).unwrap();
    let sdk_health = call(KSERVE, &server, &["health", model]);

    assert_eq!(
        (&health["live"], &health["ready"], &health["model_ready"]),
        (&json!(true), &json!(true), &json!(true))
    );
    assert_eq!(health["model_metadata"], metadata, "{health}");
    assert_eq!(health["server_metadata"]["name"], server_metadata["name"]);
    assert_eq!(health["server_metadata"]["version"], server_metadata["version"]);
    assert_eq!(
        sdk_health,
        json!({ "live": true, "ready": true, "model_ready": true })
    );

    let sample: Value = serde_json::from_str(&sample_request()).unwrap();
    let request = json!({ "id": "sample-1", "inputs": [{ "name": "input", "datatype": "FP64", "shape": [2, 10], "data": sample["data"] }] });
    let rest = assert_both_clients_answer_as_rest(&server, model, &request).await;
    assert_close_to(
        &rest["outputs"][0]["data"],
        &json!([[11055.977245525679], [4503.079536107787]]),
    );

    let metrics = get_text(&server, "/metrics").await;
    let counted = metrics
        .lines()
        .any(|line| line.contains(r#"route="grpc:ModelInfer""#) && line.contains(r#"status="200""#));
    assert!(counted, "{metrics}");
    assert!(metrics.contains(r#"route="grpc:ModelMetadata""#), "{metrics}");
}

#[tokio::test]
async fn the_documented_python_example_answers_what_is_written_under_it() {
    let doc = std::fs::read_to_string(repo_path("docs/grpc.md")).unwrap();
    let block = doc
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/grpc.md has a python example");
    let (written, code): (Vec<&str>, Vec<&str>) = block.lines().partition(|line| line.starts_with("# "));
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let code = code
        .join("\n")
        .replace("localhost:8081", &server.grpc_addr().to_string());
    let file = tempfile::Builder::new().suffix(".py").tempfile().unwrap();
    std::fs::write(file.path(), code).unwrap();

    let printed = run_python(file.path(), &[]);

    let written: Vec<&str> = written.iter().map(|line| &line[2..]).collect();
    assert_eq!(printed.trim(), written.join("\n"));
}

#[tokio::test]
async fn every_datatype_in_raw_and_typed_contents_answers_as_rest_json_and_onnxruntime() {
    let dir = "tests/fixtures/tensors";
    // FP16, UINT8; FP64, INT32, BOOL in and five outputs (FP16 and BOOL among them); INT8,
    // INT16; a rank-0 input; rank-3 tensors and two outputs; two INT64 inputs.
    for name in [
        "fp16_uint8",
        "fp64_int32_bool",
        "int8_int16",
        "bool_rank0",
        "sequence_rank3",
        "tiny_bert",
    ] {
        let (server, fixture) = serve_fixture(dir, name).await;
        for case in fixture["cases"].as_array().unwrap() {
            let rest = assert_both_clients_answer_as_rest(&server, name, &request_of(case)).await;
            for output in rest["outputs"].as_array().unwrap() {
                let expected = &case["outputs"][output["name"].as_str().unwrap()]["data"];
                let (got, expected) = (flatten(&output["data"]), flatten(expected));
                if got.iter().all(Value::is_number) {
                    assert_close_to(&Value::Array(got), &Value::Array(expected));
                } else {
                    assert_eq!(got, expected, "{name}");
                }
            }
        }
    }
}

#[tokio::test]
async fn tabular_models_take_string_and_bool_columns_and_answer_string_labels() {
    let dir = "tests/fixtures/tabular";
    let (server, fixture) = serve_fixture(dir, "string_classifier").await;
    let rows = &fixture["rows"];
    let request = json!({ "id": "rows", "inputs": [{ "name": "X", "shape": [rows.as_array().unwrap().len(), 4], "datatype": "FP32", "data": rows }] });
    let rest = assert_both_clients_answer_as_rest(&server, "string_classifier", &request).await;
    assert_eq!(rest["outputs"][0]["data"], fixture["outputs"]["label"]);
    let only_probabilities = json!({ "id": "p", "inputs": request["inputs"], "outputs": [{ "name": rest["outputs"][1]["name"] }] });
    assert_both_clients_answer_as_rest(&server, "string_classifier", &only_probabilities).await;

    let (server, _) = serve_fixture(dir, "columns_regressor").await;
    let request = json!({ "id": "columns", "inputs": [
        { "name": "age", "shape": [2, 1], "datatype": "FP32", "data": [39, 60] },
        { "name": "hours", "shape": [2], "datatype": "INT64", "data": [40, 53] },
        { "name": "workclass", "shape": [2, 1], "datatype": "BYTES", "data": ["Private", "Self-emp"] },
        { "name": "member", "shape": [2, 1], "datatype": "BOOL", "data": [true, false] },
    ]});
    assert_both_clients_answer_as_rest(&server, "columns_regressor", &request).await;
}
