//! Start-up and shutdown of the real process: bind before `init`, 503 until ready, exit codes,
//! and draining in-flight requests on SIGTERM.

use std::{
    net::{TcpListener, TcpStream},
    time::{Duration, Instant},
};

use crate::common::*;

#[tokio::test]
async fn liveness_answers_and_readiness_and_scoring_are_503_while_init_runs() {
    // An identity endpoint that accepts connections and never answers keeps `init` running.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/msi/token", silent.local_addr().unwrap());
    let mut server = Server::start(
        &[],
        &[
            ("MSI_ENDPOINT", endpoint.as_str()),
            ("MSI_SECRET", "test-secret-value"),
            ("STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
            ("STORAGE_CONTAINER_NAME", "c"),
            ("FILE_NAME", "hello.txt"),
            ("STORAGE_BLOB_ENDPOINT", "https://127.0.0.1:9/devstoreaccount1"),
            ("AML_SCORER_IDENTITY_RETRY_BUDGET_MS", "3000"),
        ],
    );
    assert!(
        server.wait_for_log("model loaded", Duration::from_secs(20)),
        "{}",
        server.logs()
    );
    let client = client();

    let root = client.get(server.url("/")).send().await.unwrap();
    let live = client
        .get(server.url("/health/live"))
        .send()
        .await
        .unwrap()
        .status();
    let ready = client.get(server.url("/health/ready")).send().await.unwrap();
    let score = post(&server, sample_request()).await;

    assert_eq!(
        (root.status().as_u16(), root.text().await.unwrap()),
        (200, "Healthy".to_owned())
    );
    assert_eq!(live, 200);
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("\"message\""));
    assert_eq!(score.status, 503, "{}", score.body);
    // The silent endpoint exhausts the identity budget: exit 3, naming the step and the host.
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits when init fails");
    assert_eq!(status.code(), Some(3));
    let logs = server.logs();
    assert!(logs.contains("init failed at step identity"), "{logs}");
    assert!(logs.contains(&silent.local_addr().unwrap().to_string()), "{logs}");
    assert!(!logs.contains("test-secret-value"), "{logs}");
}

#[tokio::test]
async fn readiness_turns_200_once_the_model_is_loaded() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert!(server.logs().contains("\"message\":\"ready\""));
    assert!(server.logs().contains("blob step skipped"));
    // What the server sized itself by is logged at start: its threads (the CPU quota's share)
    // and its in-flight memory budget.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        server.logs().contains(&format!("\"threads\":{threads},")),
        "{}",
        server.logs()
    );
    assert!(server.logs().contains("in-flight memory budget"));
}

#[test]
fn an_invalid_setting_stops_the_process_before_it_binds_naming_the_setting() {
    let (logs, status) = Server::try_start(&[], &[("SCORING_TIMEOUT_MS", "0")])
        .err()
        .expect("it does not start");
    assert_eq!(status.code(), Some(2));
    assert!(logs.contains("SCORING_TIMEOUT_MS"), "{logs}");
    assert!(!logs.contains("listening"), "{logs}");
}

#[test]
fn partial_storage_settings_stop_the_process_naming_what_is_missing() {
    let (logs, status) = Server::try_start(&[], &[("STORAGE_ACCOUNT_NAME", "acct")])
        .err()
        .expect("it does not start");
    assert_eq!(status.code(), Some(2));
    assert!(logs.contains("STORAGE_CONTAINER_NAME, FILE_NAME"), "{logs}");
}

#[test]
fn several_models_in_the_folder_is_a_startup_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.onnx", "b.onnx"] {
        std::fs::copy(
            repo_path("model/sklearn_regression_model.onnx"),
            dir.path().join(name),
        )
        .unwrap();
    }
    let (logs, status) = Server::try_start(&["--model-dir", dir.path().to_str().unwrap()], &[])
        .err()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(logs.contains("a.onnx") && logs.contains("b.onnx"), "{logs}");
}

#[test]
fn a_file_that_is_not_onnx_fails_init_with_exit_3_naming_the_step_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.onnx"), b"this is not a protobuf").unwrap();
    let mut server = Server::start(&["--model-dir", dir.path().to_str().unwrap()], &[]);
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits");
    assert_eq!(status.code(), Some(3));
    let logs = server.logs();
    assert!(
        logs.contains("init failed at step model") && logs.contains("broken.onnx"),
        "{logs}"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    let mut server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let request = HalfSentRequest::start(server.addr);
    std::thread::sleep(Duration::from_millis(200));

    server.terminate();
    assert!(
        server.wait_for_log("stopping", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    std::thread::sleep(Duration::from_millis(200));
    let answer = request.finish();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("11055.97724552567"), "{answer}");
    let started = Instant::now();
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits after draining");
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    // New connections are refused once the listener is closed.
    assert!(TcpStream::connect(server.addr).is_err());
}

#[test]
fn dynamic_batching_for_a_fixed_batch_model_is_refused_at_start_naming_both_settings() {
    let args = [
        "--model-dir",
        "tests/fixtures",
        "--model-file",
        "linear_f32_fixed2x4.onnx",
        "--batch-max-rows",
        "64",
    ];
    let mut server = Server::start(&args, &[]);
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server refuses the setting and exits");
    let logs = server.logs();
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(
        logs.contains("--batch-max-rows") && logs.contains("--model-file"),
        "{logs}"
    );
    assert!(!logs.contains("\"ready\""), "{logs}");
}
