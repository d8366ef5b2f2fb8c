//! Model data collection against a stand-in collector sidecar (`collection/sidecar.rs`) that
//! decodes what it receives: here the payloads as JSON records with the library's headers and
//! the join by request id; classifiers, named columns and pandas reading the payloads in
//! `models.rs`; sampling and local capture in `sampling.rs`; the configuration forms in
//! `config.rs`; the sidecar down, slow, answering 500, a full queue and shutdown in `faults.rs`.

mod config;
mod faults;
mod models;
mod sampling;
mod sidecar;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::common::*;
use sidecar::{Received, Sidecar};

/// The bundled model (10 float64 features, one output `variable`) with collection pointed at
/// `sidecar` and `env` on top.
async fn serve(sidecar: &Sidecar, env: &[(&str, &str)]) -> Server {
    serve_model(&[], sidecar, env).await
}

async fn serve_model(args: &[&str], sidecar: &Sidecar, env: &[(&str, &str)]) -> Server {
    let mut all: Vec<(&str, String)> = sidecar.env();
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(args, &pairs);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

const ON: [(&str, &str); 1] = [("AZUREML_MDC_ENABLED", "true")];

/// `POST path` with `x-request-id: id` when given.
async fn post_as(server: &Server, path: &str, body: &str, id: Option<&str>) -> Answer {
    let mut request = client().post(server.url(path)).body(body.to_owned());
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("the server answers");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let body = response.text().await.unwrap();
    Answer {
        status,
        body,
        headers,
    }
}

/// The value of the metric line that starts with `prefix` (0 when absent).
pub async fn metric(server: &Server, prefix: &str) -> f64 {
    let text = get_text(server, "/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Records equal to `expected`: same keys, numbers within 1e-6 (relative), the rest equal.
fn assert_records(actual: &Value, expected: &Value) {
    let (a, e) = (actual.as_array().unwrap(), expected.as_array().unwrap());
    assert_eq!(a.len(), e.len(), "{actual} vs {expected}");
    for (a, e) in a.iter().zip(e) {
        let (a, e) = (a.as_object().unwrap(), e.as_object().unwrap());
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            e.keys().collect::<Vec<_>>(),
            "{actual} vs {expected}"
        );
        for (key, value) in e {
            match (a[key].as_f64(), value.as_f64()) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{key}: {x} vs {y}"),
                _ => assert_eq!(&a[key], value, "{key}"),
            }
        }
    }
}

/// Rows as pandas' records of a 2-D array: columns "0", "1", ...
fn matrix_records(rows: &Value) -> Value {
    let records = rows.as_array().unwrap().iter().map(|row| {
        let fields = row.as_array().unwrap().iter().enumerate();
        Value::Object(fields.map(|(i, v)| (i.to_string(), v.clone())).collect())
    });
    Value::Array(records.collect())
}

fn by_collection<'a>(received: &'a [Received], collection: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.collection() == collection).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_and_outputs_arrive_as_records_with_the_librarys_headers() {
    let sidecar = Sidecar::start().await;
    let server = serve(&sidecar, &ON).await;
    let body = std::fs::read_to_string(repo_path("sample-request.json")).unwrap();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();

    let answer = post_as(&server, "/score", &body, Some("join-me-1")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;

    let inputs = by_collection(&received, "model_inputs");
    let outputs = by_collection(&received, "model_outputs");
    assert_eq!((inputs.len(), outputs.len()), (1, 1), "{received:#?}");
    let request: Value = serde_json::from_str(&body).unwrap();
    assert_records(&inputs[0].body, &matrix_records(&request["data"]));
    let predictions = answer.json();
    let expected: Vec<Value> = predictions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| json!({"variable": v}))
        .collect();
    assert_records(&outputs[0].body, &Value::Array(expected));
    for payload in [inputs[0], outputs[0]] {
        assert_eq!(payload.path, "/modeldata/log");
        assert_eq!(payload.header("content-type"), "application/json");
        assert_eq!(
            payload.header("ce-collect-data-type"),
            "pandas.core.frame.DataFrame"
        );
        assert_eq!(
            payload.header("ce-agent"),
            format!("aml-scorer/{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(payload.header("ce-x-request-id"), "join-me-1");
        assert!(uuid::Uuid::parse_str(payload.header("trace-id")).is_ok());
        let time: u64 = payload
            .header("ce-time")
            .parse()
            .expect("ce-time is Unix seconds");
        assert!(time >= before && time <= before + 60, "{time} vs {before}");
        assert!(
            payload.headers.get("ce-model-version").is_none(),
            "the bundled model has no version"
        );
    }
    assert_ne!(inputs[0].header("trace-id"), outputs[0].header("trace-id"));
    assert_eq!(
        metric(
            &server,
            r#"aml_scorer_data_collection_sent_total{collection="model_inputs"}"#
        )
        .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_an_id_is_collected_under_the_id_it_was_answered_with() {
    let sidecar = Sidecar::start().await;
    let server = serve(&sidecar, &ON).await;
    let answer = post_as(&server, "/score", r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#, None).await;
    let id = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;
    assert!(
        received.iter().all(|r| r.header("ce-x-request-id") == id),
        "{id}: {received:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_requests_are_collected_with_every_output_under_its_name() {
    let sidecar = Sidecar::start().await;
    let server = serve(&sidecar, &ON).await;
    let body = json!({"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64",
        "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]});
    let answer = post_as(
        &server,
        "/v2/models/sklearn_regression_model/infer",
        &body.to_string(),
        Some("v2-1"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;
    let outputs = by_collection(&received, "model_outputs");
    let value = answer.json()["outputs"][0]["data"][0].clone();
    assert_records(&outputs[0].body, &json!([{"variable": value}]));
    assert_eq!(outputs[0].header("ce-x-request-id"), "v2-1");
}

/// gRPC calls are collected like REST's: tritonclient's call with an `x-request-id` header joins
/// its inputs and outputs under that id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_call_is_collected_under_its_request_id() {
    let sidecar = Sidecar::start().await;
    let server = serve(&sidecar, &ON).await;
    let call = r#"
import sys, numpy as np, tritonclient.grpc as grpc
client = grpc.InferenceServerClient(sys.argv[1])
x = grpc.InferInput("input", [2, 10], "FP64")
rows = np.array([range(1, 11), range(10, 0, -1)], dtype=np.float64)
x.set_data_from_numpy(rows)
answer = client.infer("sklearn_regression_model", [x], headers={"x-request-id": "grpc-join-1"})
print(list(answer.as_numpy("variable").ravel()))
"#;
    let file = tempfile::NamedTempFile::with_suffix(".py").unwrap();
    std::fs::write(file.path(), call).unwrap();
    let printed = run_python(file.path(), &[&server.grpc_addr().to_string()]);
    let predictions: Vec<f64> = printed
        .trim()
        .trim_matches(['[', ']'])
        .split(',')
        .map(|v| {
            v.trim()
                .trim_start_matches("np.float64(")
                .trim_end_matches(')')
                .parse()
                .unwrap()
        })
        .collect();

    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;
    let inputs = by_collection(&received, "model_inputs");
    let outputs = by_collection(&received, "model_outputs");
    assert_eq!((inputs.len(), outputs.len()), (1, 1), "{received:#?}");
    let rows: Vec<Vec<f64>> = vec![
        (1..=10).map(f64::from).collect(),
        (1..=10).rev().map(f64::from).collect(),
    ];
    assert_records(&inputs[0].body, &matrix_records(&json!(rows)));
    let expected: Vec<Value> = predictions.iter().map(|v| json!({"variable": v})).collect();
    assert_records(&outputs[0].body, &Value::Array(expected));
    for payload in [inputs[0], outputs[0]] {
        assert_eq!(payload.header("ce-x-request-id"), "grpc-join-1");
    }
}
