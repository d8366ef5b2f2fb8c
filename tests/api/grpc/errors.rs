//! gRPC errors as the clients' exceptions: REST's message with the code of REST's status, and
//! UNAVAILABLE before the model is ready.

use serde_json::{json, Value};

use super::{assert_both_clients_answer_as_rest, call, infer, rest, KSERVE, TRITON};
use crate::common::*;

/// The client's exception for `request`: REST's message, and the code of REST's status.
async fn assert_error_as_rest(server: &Server, script: &str, model: &str, request: &Value, code: &str) {
    let rest = rest(server, model, request).await;
    let grpc = infer(script, server, model, request);
    assert_eq!(
        grpc["error"]["code"],
        format!("StatusCode.{code}"),
        "{script}: {grpc} vs {}",
        rest.body
    );
    assert_eq!(grpc["error"]["message"], rest.json()["error"], "{script}: {grpc}");
}

#[tokio::test]
async fn errors_reach_both_clients_as_their_exceptions_with_the_rest_message_and_code() {
    let (server, _) = serve_fixture("tests/fixtures/tensors", "int8_int16").await;
    let good = json!({ "inputs": [
        { "name": "a", "datatype": "INT8", "shape": [1, 2], "data": [1, 2] },
        { "name": "b", "datatype": "INT16", "shape": [1, 2], "data": [3, 4] },
    ]});
    let mut wrong_type = good.clone();
    wrong_type["inputs"][0]["datatype"] = json!("INT32");
    let mut wrong_shape = good.clone();
    wrong_shape["inputs"][1]["shape"] = json!([1, 3]);
    wrong_shape["inputs"][1]["data"] = json!([3, 4, 5]);
    let mut unknown_output = good.clone();
    unknown_output["outputs"] = json!([{ "name": "nope" }]);
    let mut missing = good.clone();
    missing["inputs"].as_array_mut().unwrap().pop();
    for script in [TRITON, KSERVE] {
        for bad in [&wrong_type, &wrong_shape, &unknown_output, &missing] {
            assert_error_as_rest(&server, script, "int8_int16", bad, "INVALID_ARGUMENT").await;
        }
        assert_error_as_rest(&server, script, "other_model", &good, "NOT_FOUND").await;
    }

    // A value out of INT8's range in typed contents (JSON says it as REST does, of its own).
    let mut over = good.clone();
    over["inputs"][0]["data"] = json!([1, 300]);
    let grpc = infer(KSERVE, &server, "int8_int16", &over);
    assert_eq!(grpc["error"]["code"], "StatusCode.INVALID_ARGUMENT", "{grpc}");
    assert_eq!(
        grpc["error"]["message"],
        "input \"a\": int_contents[1] = 300 does not fit the input's i8"
    );
    // Errors are logged as REST's are, with their route; the server keeps serving.
    assert!(
        server
            .logs()
            .contains(r#""route":"grpc:ModelInfer","status":400"#),
        "{}",
        server.logs()
    );
    assert_both_clients_answer_as_rest(&server, "int8_int16", &good).await;
}

#[tokio::test]
async fn before_the_model_is_ready_calls_are_unavailable_and_readiness_is_false() {
    // An identity endpoint that accepts connections and never answers keeps `init` running.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/msi/token", silent.local_addr().unwrap());
    let server = Server::start(
        &[],
        &[
            ("MSI_ENDPOINT", endpoint.as_str()),
            ("MSI_SECRET", "test-secret-value"),
            ("STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
            ("STORAGE_CONTAINER_NAME", "c"),
            ("FILE_NAME", "hello.txt"),
            ("STORAGE_BLOB_ENDPOINT", "https://127.0.0.1:9/devstoreaccount1"),
        ],
    );
    let model = "sklearn_regression_model";
    let health = call(TRITON, &server, &["health", model]);
    let request = json!({ "inputs": [{ "name": "input", "datatype": "FP64", "shape": [1, 10], "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }] });
    let grpc = infer(TRITON, &server, model, &request);
    let rest = rest(&server, model, &request).await;

    assert_eq!(
        (&health["live"], &health["ready"]),
        (&json!(true), &json!(false)),
        "{health}"
    );
    assert_eq!(
        health["model_error"]["code"], "StatusCode.UNAVAILABLE",
        "{health}"
    );
    assert_eq!(rest.status, 503);
    assert_eq!(grpc["error"]["code"], "StatusCode.UNAVAILABLE", "{grpc}");
    assert_eq!(grpc["error"]["message"], rest.json()["error"], "{grpc}");
}
