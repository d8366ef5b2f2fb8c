//! Sampling (one draw per request, so inputs and outputs join) and local capture.

use super::*;

/// Stops the server and waits for its exit: the shutdown's flush sends every payload still queued
/// or in flight first, so the sidecar then has all there will be (no guessed sleep).
fn sent_all(server: &mut Server) {
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(30))
        .expect("the server exits");
    assert!(status.success(), "{status:?}");
}

/// A collection at 0 % beside one at 100 % on the same server: every request's outputs arrive,
/// none of its inputs. Were the rate ignored, the inputs would arrive too; were collection
/// off, the outputs would not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_at_0_percent_sends_nothing_while_100_percent_on_the_same_server_sends_every_request() {
    let sidecar = Sidecar::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdc-config.json");
    std::fs::write(
        &path,
        r#"{"runMode": "cloud", "collections": {
            "model_inputs": {"enabled": "True", "sampleRatePercentage": 0},
            "model_outputs": {"enabled": "True", "sampleRatePercentage": 100}}}"#,
    )
    .unwrap();
    let env = [("AZUREML_MDC_CONFIG_PATH", path.to_str().unwrap())];
    let mut server = serve(&sidecar, &env).await;
    let requests = 200;
    for n in 0..requests {
        let answer = post_as(
            &server,
            "/score",
            r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#,
            Some(&format!("z{n}")),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    sent_all(&mut server);
    let received = sidecar.received();
    assert!(
        by_collection(&received, "model_inputs").is_empty(),
        "{received:#?}"
    );
    let mut outputs: Vec<&str> = by_collection(&received, "model_outputs")
        .iter()
        .map(|r| r.header("ce-x-request-id"))
        .collect();
    outputs.sort_unstable();
    let mut expected: Vec<String> = (0..requests).map(|n| format!("z{n}")).collect();
    expected.sort_unstable();
    assert_eq!(outputs, expected, "every request's outputs, once");
}

/// The variable form: `AZUREML_MDC_SAMPLE_RATE=0` keeps collection on (the start line says so)
/// and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_at_0_percent_by_variable_is_on_and_sends_nothing() {
    let sidecar = Sidecar::start().await;
    let mut server = serve(
        &sidecar,
        &[("AZUREML_MDC_ENABLED", "true"), ("AZUREML_MDC_SAMPLE_RATE", "0")],
    )
    .await;
    for _ in 0..50 {
        assert_eq!(
            post_as(&server, "/score", r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#, None)
                .await
                .status,
            200
        );
    }
    let logs = server.logs();
    assert!(
        logs.contains("model data collection on") && logs.contains(r#""model_inputs":"0%""#),
        "{logs}"
    );
    sent_all(&mut server);
    assert!(sidecar.received().is_empty(), "{:#?}", sidecar.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_at_50_percent_sends_about_half_and_every_sampled_request_whole() {
    let sidecar = Sidecar::start().await;
    let mut server = serve(
        &sidecar,
        &[("AZUREML_MDC_ENABLED", "true"), ("AZUREML_MDC_SAMPLE_RATE", "50")],
    )
    .await;
    let requests = 200;
    for n in 0..requests {
        let id = format!("r{n}");
        post_as(
            &server,
            "/score",
            r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#,
            Some(&id),
        )
        .await;
    }
    sent_all(&mut server);
    let received = sidecar.received();
    let inputs: Vec<&str> = by_collection(&received, "model_inputs")
        .iter()
        .map(|r| r.header("ce-x-request-id"))
        .collect();
    let mut outputs: Vec<&str> = by_collection(&received, "model_outputs")
        .iter()
        .map(|r| r.header("ce-x-request-id"))
        .collect();
    // Binomial(200, 0.5): 100 +- 7; outside 60..140 is a one-in-a-billion draw.
    assert!(
        (60..=140).contains(&inputs.len()),
        "{} of {requests}",
        inputs.len()
    );
    let mut inputs = inputs.clone();
    inputs.sort_unstable();
    outputs.sort_unstable();
    assert_eq!(inputs, outputs, "one draw per request: inputs and outputs join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_capture_writes_payloads_as_log_lines_instead_of_sending() {
    let sidecar = Sidecar::start().await;
    let env = [
        ("AZUREML_MDC_ENABLED", "True"),
        ("AZUREML_MDC_LOCAL_CAPTURE", "true"),
    ];
    let server = serve(&sidecar, &env).await;
    post_as(
        &server,
        "/score",
        r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#,
        Some("local-1"),
    )
    .await;
    // Payloads go out side by side: either may be written first.
    for collection in ["model_inputs", "model_outputs"] {
        let needle = format!(r#""message":"collected","collection":"{collection}""#);
        assert!(
            server.wait_for_log(&needle, Duration::from_secs(10)),
            "{}",
            server.logs()
        );
    }
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|line| line.contains(r#""message":"collected""#) && line.contains("model_inputs"))
        .unwrap_or_else(|| panic!("no collected line: {logs}"));
    let line: Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["request_id"], "local-1");
    let payload: Value = serde_json::from_str(line["payload"].as_str().unwrap()).unwrap();
    assert_records(
        &payload,
        &matrix_records(&json!([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])),
    );
    assert!(sidecar.received().is_empty());
}
