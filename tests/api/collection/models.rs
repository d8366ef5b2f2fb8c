//! Other models' payloads: a classifier's labels and probabilities, named columns with a missing
//! value, and pandas reading the records as the frame the library would have sent.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_proba_is_collected_one_column_per_class_and_predict_as_the_label() {
    let sidecar = Sidecar::start().await;
    let args = [
        "--model-dir",
        "tests/fixtures/zoo",
        "--model-file",
        "random_forest_multiclass.onnx",
    ];
    let server = serve_model(&args, &sidecar, &ON).await;
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/fixtures/zoo/random_forest_multiclass.json")).unwrap(),
    )
    .unwrap();
    let body = fixture["request"].to_string();
    post_as(&server, "/score?method=predict_proba", &body, Some("proba")).await;
    post_as(&server, "/score", &body, Some("label")).await;
    let received = sidecar.wait_for(4, Duration::from_secs(10)).await;

    let output = |id: &str| {
        let found = received
            .iter()
            .find(|r| r.collection() == "model_outputs" && r.header("ce-x-request-id") == id);
        found.expect("the outputs of each request").body.clone()
    };
    let probabilities = fixture["outputs"]["output_probability"].as_array().unwrap();
    assert_records(
        &output("proba"),
        &matrix_records(&Value::Array(probabilities.clone())),
    );
    let labels = fixture["outputs"]["output_label"].as_array().unwrap();
    let expected: Vec<Value> = labels
        .iter()
        .map(|label| json!({"output_label": label}))
        .collect();
    assert_records(&output("label"), &Value::Array(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_columns_keep_their_names_and_probabilities_take_the_class_labels() {
    let sidecar = Sidecar::start().await;
    let args = [
        "--model-dir",
        "tests/fixtures/zoo",
        "--model-file",
        "column_pipeline_forest.onnx",
    ];
    let server = serve_model(&args, &sidecar, &ON).await;
    let path = repo_path("tests/fixtures/zoo/column_pipeline_forest.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let answer = post_as(
        &server,
        "/score?method=predict_proba",
        &fixture["request"].to_string(),
        Some("p"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;

    // The records as sent, `null` (a missing value) kept.
    assert_records(
        &by_collection(&received, "model_inputs")[0].body,
        &fixture["request"]["data"],
    );
    let probabilities = fixture["outputs"]["output_probability"].as_array().unwrap();
    let expected: Vec<Value> = probabilities
        .iter()
        .map(|p| json!({"high": p[0], "low": p[1]}))
        .collect();
    assert_records(
        &by_collection(&received, "model_outputs")[0].body,
        &Value::Array(expected),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pandas_reads_the_inputs_as_the_frame_the_library_would_have_sent() {
    let sidecar = Sidecar::start().await;
    let rows = json!([
        [1, 2.5, 3, 4, 5, 6, 7, 8, 9, 10],
        [10, 9, 8, 7, 6, 5, 4, 3, 2, -1e-3]
    ]);
    let server = serve(&sidecar, &ON).await;
    post_as(&server, "/score", &json!({ "data": rows }).to_string(), None).await;
    let payload = by_collection(
        &sidecar.wait_for(2, Duration::from_secs(10)).await,
        "model_inputs",
    )[0]
    .body
    .to_string();
    run_client("pandas_records.py", &["rows", &payload, &rows.to_string()]);

    let sidecar = Sidecar::start().await;
    let args = [
        "--model-dir",
        "tests/fixtures/tabular",
        "--model-file",
        "columns_regressor.onnx",
    ];
    let server = serve_model(&args, &sidecar, &ON).await;
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/fixtures/tabular/columns_regressor.json")).unwrap(),
    )
    .unwrap();
    let records = &fixture["records"];
    let answer = post_as(&server, "/score", &json!({ "data": records }).to_string(), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let payload = by_collection(
        &sidecar.wait_for(2, Duration::from_secs(10)).await,
        "model_inputs",
    )[0]
    .body
    .to_string();
    run_client("pandas_records.py", &["records", &payload, &records.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_frame_names_the_matrix_features() {
    let sidecar = Sidecar::start().await;
    let server = serve(&sidecar, &ON).await;
    let columns = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];
    let body =
        json!({"input_data": {"columns": columns, "index": [0], "data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}});
    let answer = post_as(&server, "/score", &body.to_string(), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;
    let expected: serde_json::Map<String, Value> = columns
        .iter()
        .enumerate()
        .map(|(i, name)| ((*name).to_owned(), json!(i + 1)))
        .collect();
    assert_records(
        &by_collection(&received, "model_inputs")[0].body,
        &json!([expected]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_request_naming_outputs_is_collected_with_those_outputs_only() {
    let sidecar = Sidecar::start().await;
    let args = [
        "--model-dir",
        "tests/fixtures/zoo",
        "--model-file",
        "column_pipeline_forest.onnx",
    ];
    let server = serve_model(&args, &sidecar, &ON).await;
    let path = repo_path("tests/fixtures/zoo/column_pipeline_forest.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let inputs: Vec<Value> = fixture["v2"]["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, tensor)| json!({"name": name, "datatype": tensor["datatype"], "shape": tensor["shape"], "data": tensor["data"]}))
        .collect();
    let body = json!({"inputs": inputs, "outputs": [{"name": "output_label"}]});
    let path = "/v2/models/column_pipeline_forest/infer";
    let answer = post_as(&server, path, &body.to_string(), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = sidecar.wait_for(2, Duration::from_secs(10)).await;
    let labels = fixture["outputs"]["output_label"].as_array().unwrap();
    let expected: Vec<Value> = labels
        .iter()
        .map(|label| json!({"output_label": label}))
        .collect();
    assert_records(
        &by_collection(&received, "model_outputs")[0].body,
        &Value::Array(expected),
    );
}
