//! Scoring through the real server: the bundled model, the Azure ML model layout, many rows, a
//! float32 model with several outputs per row, and dynamic batching.

use std::time::Duration;

use crate::common::*;

#[tokio::test]
async fn the_sample_request_gets_the_published_predictions() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    let answer = post(&server, sample_request()).await;

    assert_sample_predictions(&answer);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert!(answer.headers["x-ms-run-fn-exec-ms"]
        .to_str()
        .unwrap()
        .parse::<f64>()
        .is_ok());
    assert!(answer.headers["x-ms-server-version"]
        .to_str()
        .unwrap()
        .starts_with("aml-scorer/"));
}

#[tokio::test]
async fn a_model_folder_laid_out_as_azure_mounts_it_is_found() {
    let root = tempfile::tempdir().unwrap();
    let version_dir = root.path().join("sklearn_regression").join("1").join("model");
    std::fs::create_dir_all(&version_dir).unwrap();
    std::fs::copy(
        repo_path("model/sklearn_regression_model.onnx"),
        version_dir.join("regression.onnx"),
    )
    .unwrap();
    std::fs::write(version_dir.join("README.txt"), "not a model").unwrap();
    let server = Server::start(&[], &[("AZUREML_MODEL_DIR", root.path().to_str().unwrap())]);
    server.wait_ready(Duration::from_secs(20)).await;

    assert_sample_predictions(&post(&server, sample_request()).await);
    assert!(server.logs().contains("regression.onnx"));
}

#[tokio::test]
async fn a_thousand_random_rows_match_the_reference_formula() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut rng = fastrand::Rng::with_seed(7);
    let rows: Vec<Vec<f64>> = (0..1000)
        .map(|_| (0..10).map(|_| rng.f64() * 200.0 - 100.0).collect())
        .collect();

    let answer = post(&server, serde_json::json!({ "data": rows }).to_string()).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let predictions: Vec<f64> = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(predictions.len(), 1000);
    for (row, prediction) in rows.iter().zip(predictions) {
        assert_close(prediction, reference_prediction(row), 1e-9);
    }
}

#[tokio::test]
async fn a_single_flat_row_is_one_prediction() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    let answer = post(&server, r#"{"data": [1,2,3,4,5,6,7,8,9,10]}"#).await;

    let predictions: Vec<f64> = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(predictions.len(), 1);
    assert_close(predictions[0], SAMPLE_PREDICTIONS[0], 1e-9);
}

#[tokio::test]
async fn a_float32_model_with_three_outputs_answers_an_array_per_row() {
    let server = Server::start(
        &[
            "--model-dir",
            "tests/fixtures",
            "--model-file",
            "linear_f32_4x3.onnx",
        ],
        &[],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let weights: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/fixtures/linear_f32_4x3.json")).unwrap(),
    )
    .unwrap();
    let rows = [[1.0, 2.0, 3.0, 4.0], [-0.5, 0.25, 8.0, 0.0]];

    let answer = post(&server, serde_json::json!({ "data": rows }).to_string()).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let predictions: Vec<Vec<f64>> = serde_json::from_str(&answer.body).unwrap();
    for (row, predicted) in rows.iter().zip(&predictions) {
        assert_eq!(predicted.len(), 3);
        for (out, value) in predicted.iter().enumerate() {
            let expected: f64 = row
                .iter()
                .enumerate()
                .map(|(i, x)| x * weights["weights"][i][out].as_f64().unwrap())
                .sum::<f64>()
                + weights["bias"][out].as_f64().unwrap();
            assert!(
                (value - expected).abs() <= 1e-4 * expected.abs().max(1.0),
                "{value} vs {expected}"
            );
        }
    }
}

#[tokio::test]
async fn get_score_with_a_query_scores_it() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;

    let url = server.url("/score?data=%5B%5B1,2,3,4,5,6,7,8,9,10%5D,%5B10,9,8,7,6,5,4,3,2,1%5D%5D");
    let body = client().get(url).send().await.unwrap().text().await.unwrap();

    let predictions: Vec<f64> = serde_json::from_str(&body).unwrap();
    assert_close(predictions[1], SAMPLE_PREDICTIONS[1], 1e-9);
}

#[tokio::test]
async fn concurrent_requests_on_kept_alive_connections_all_score() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let client = client();
    let url = server.url("/score");

    let answers = futures_join(64, |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .post(url)
                .body(sample_request())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    })
    .await;

    for body in answers {
        let values: Vec<f64> = serde_json::from_str(&body).unwrap();
        assert_close(values[0], SAMPLE_PREDICTIONS[0], 1e-9);
    }
}

async fn futures_join<F, Fut>(count: usize, make: F) -> Vec<String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = String> + Send + 'static,
{
    let handles: Vec<_> = (0..count).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(count);
    for handle in handles {
        out.push(handle.await.expect("the request task completes"));
    }
    out
}

#[tokio::test]
async fn dynamic_batching_runs_concurrent_requests_as_one_model_call_each_answered_its_own_row() {
    // A batch closes when it holds `ROWS` rows or after 5 s: only the `ROWS` one-row requests
    // below, all gathered into one batch, can close it at once.
    const ROWS: usize = 8;
    let max_rows = ROWS.to_string();
    let server = Server::start(
        &[],
        &[
            ("AML_SCORER_BATCH_MAX_ROWS", max_rows.as_str()),
            ("AML_SCORER_BATCH_WAIT_US", "5000000"),
        ],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    let rows: Vec<Vec<f64>> = (0..ROWS)
        .map(|i| (0..10).map(|j| (i * 10 + j) as f64 / 7.0).collect())
        .collect();

    let client = client();
    let answers = futures_join(ROWS, |i| {
        let (client, url) = (client.clone(), server.url("/score"));
        let body = serde_json::json!({ "data": [rows[i]] }).to_string();
        async move {
            let response = client.post(url).body(body).send().await.unwrap();
            format!(
                "{} {}",
                response.status().as_u16(),
                response.text().await.unwrap()
            )
        }
    })
    .await;

    for (row, answer) in rows.iter().zip(&answers) {
        let body = answer.strip_prefix("200 ").unwrap_or_else(|| panic!("{answer}"));
        let predictions: Vec<f64> = serde_json::from_str(body).unwrap();
        let expected = reference_prediction(row);
        assert_eq!(predictions.len(), 1, "{answer}");
        assert!(
            (predictions[0] - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{row:?}: {} vs the reference model's {expected}",
            predictions[0]
        );
    }
    let metrics = get_text(&server, "/metrics").await;
    let value = |name: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}\n{metrics}"));
        line[name.len() + 1..].parse().unwrap()
    };
    let (calls, rows_called) = (
        value("aml_scorer_batch_rows_count"),
        value("aml_scorer_batch_rows_sum"),
    );
    assert_eq!(
        (calls, rows_called),
        (1.0, ROWS as f64),
        "one model call of {ROWS} rows, not {calls} calls of {rows_called} rows in all"
    );
}

#[tokio::test]
async fn a_fixed_batch_model_scores_its_batch_size_and_refuses_others_with_400() {
    let server = Server::start(
        &[
            "--model-dir",
            "tests/fixtures",
            "--model-file",
            "linear_f32_fixed2x4.onnx",
        ],
        &[],
    );
    server.wait_ready(Duration::from_secs(20)).await;

    let two = post(&server, r#"{"data": [[1, 2, 3, 4], [5, 6, 7, 8]]}"#).await;
    let one = post(&server, r#"{"data": [[1, 2, 3, 4]]}"#).await;

    assert_eq!(two.status, 200, "{}", two.body);
    assert_eq!(one.status, 400, "{}", one.body);
    assert!(one.message().contains("exactly 2 rows"), "{}", one.body);
}
