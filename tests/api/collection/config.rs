//! The configuration forms Azure ML uses: the JSON file `AZUREML_MDC_CONFIG_PATH` names (with
//! `enabled` as the string "True"), a malformed one, and the start line.

use super::*;

/// Writes `text` to a configuration file in a new temporary folder.
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdc-config.json");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_collects_what_it_enables_and_the_variables_are_then_ignored() {
    let sidecar = Sidecar::start().await;
    let (_dir, path) = config_file(
        r#"{"runMode": "cloud", "collections": {
            "request": {"enabled": "True"}, "response": {"enabled": "True"},
            "model_inputs": {"enabled": "True", "sampleRatePercentage": 100},
            "model_outputs": {"enabled": "False"}}}"#,
    );
    // The rate variable would send nothing; with a file it is not read.
    let env = [
        ("AZUREML_MDC_CONFIG_PATH", path.as_str()),
        ("AZUREML_MDC_SAMPLE_RATE", "0"),
    ];
    let server = serve(&sidecar, &env).await;
    for id in ["a", "b"] {
        post_as(
            &server,
            "/score",
            r#"{"data": [[1,2,3,4,5,6,7,8,9,10]]}"#,
            Some(id),
        )
        .await;
    }
    sidecar.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = sidecar.received();
    assert_eq!(received.len(), 2, "{received:#?}");
    assert!(
        received.iter().all(|r| r.collection() == "model_inputs"),
        "{received:#?}"
    );
    let logs = server.logs();
    assert!(
        logs.contains(r#""model_inputs":"100%""#) && !logs.contains(r#""model_outputs":"#),
        "the start line names the rates: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_config_file_stops_the_start_with_exit_2_naming_the_file_and_field() {
    let (_dir, path) = config_file(r#"{"collections": {"model_inputs": {"enabled": "yes please"}}}"#);
    let (logs, status) = Server::try_start(&[], &[("AZUREML_MDC_CONFIG_PATH", &path)])
        .err()
        .expect("the start stops");
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(logs.contains("AZUREML_MDC_CONFIG_PATH"), "{logs}");
    assert!(
        logs.contains(&path) && logs.contains("collections.model_inputs.enabled"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_variable_stops_the_start_with_exit_2_naming_it() {
    for (name, value) in [
        ("AZUREML_MDC_SAMPLE_RATE", "120"),
        ("AZUREML_MDC_QUEUE_CAPACITY", "0"),
        ("AZUREML_MDC_ENABLED", "maybe"),
    ] {
        let env = [("AZUREML_MDC_ENABLED", "true"), (name, value)];
        let (logs, status) = Server::try_start(&[], &env).err().expect("the start stops");
        assert_eq!(status.code(), Some(2), "{logs}");
        assert!(logs.contains(name), "{name}: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_line_says_whether_collection_is_on_where_it_sends_and_the_rates() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert!(
        server.logs().contains("model data collection off"),
        "{}",
        server.logs()
    );

    let sidecar = Sidecar::start().await;
    let server = serve(
        &sidecar,
        &[("AZUREML_MDC_ENABLED", "true"), ("AZUREML_MDC_SAMPLE_RATE", "25")],
    )
    .await;
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|line| line.contains("model data collection on"))
        .unwrap_or_else(|| panic!("no start line: {logs}"));
    let line: Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["sidecar"], sidecar.addr.to_string());
    assert_eq!(
        (line["model_inputs"].as_str(), line["model_outputs"].as_str()),
        (Some("25%"), Some("25%"))
    );
    assert_eq!(line["queue_capacity"], 1500);
}
