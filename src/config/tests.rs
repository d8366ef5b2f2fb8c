use super::*;
use clap::{CommandFactory, FromArgMatches};

/// A host without a terminal, a memory limit or a known open-files limit.
const HOST: Host = Host {
    stdout_is_terminal: false,
    open_files: None,
    memory_limit: None,
};

/// Parses `argv` as the flags alone: every setting's environment fallback is switched off, so that
/// what the test host's environment holds (`RUST_LOG`, `AZUREML_MODEL_DIR`, or `MSI_ENDPOINT` on an
/// Azure machine) cannot change what a test reads.
fn parse<'a>(argv: impl IntoIterator<Item = &'a str>) -> Result<Cli, clap::Error> {
    let command = Cli::command().mut_args(|arg| arg.env(None::<&'static str>));
    Cli::from_arg_matches(&command.try_get_matches_from(argv)?)
}

/// The flags `args` after the repository's model folder.
fn cli(args: &[&str]) -> Cli {
    let mut argv = vec!["aml-scorer", "--model-dir", "model"];
    argv.extend_from_slice(args);
    parse(argv).expect("arguments parse")
}

fn error(args: &[&str]) -> ConfigError {
    cli(args).validate(&HOST).expect_err("settings are invalid")
}

#[test]
fn defaults_serve_the_bundled_model_on_5001() {
    let config = cli(&[]).validate(&HOST).unwrap();
    assert_eq!(config.listen.port(), 5001);
    let ModelSource::File(path) = &config.model.source else {
        panic!("the bundled model is a file")
    };
    assert!(path.ends_with("sklearn_regression_model.onnx"));
    assert!(config.startup_blob.is_none());
    assert_eq!(config.scoring.timeout, Duration::from_secs(60));
    assert_eq!(config.api.body.max_bytes, 104_857_600);
}

#[test]
fn grpc_serves_on_8081_by_default_on_a_free_port_with_0_and_not_at_all_with_off() {
    let port = |args: &[&str]| cli(args).validate(&HOST).unwrap().grpc_listen.map(|a| a.port());
    assert_eq!(port(&[]), Some(8081));
    assert_eq!(port(&["--grpc-port", "0", "--port", "0"]), Some(0));
    assert_eq!(port(&["--grpc-port", "off"]), None);
    assert_eq!(port(&["--grpc-port", "OFF"]), None);
    let text = parse(["aml-scorer", "--grpc-port", "grpc"])
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("--grpc-port") && text.contains("neither a port"),
        "{text}"
    );
}

#[test]
fn the_grpc_port_cannot_be_the_http_port() {
    let error = error(&["--port", "9000", "--grpc-port", "9000"]);
    assert_eq!(error.setting, "AML_SCORER_GRPC_PORT");
    assert!(error.reason.contains("9000 is the HTTP port"), "{}", error.reason);
}

#[test]
fn log_format_defaults_to_text_on_a_terminal_and_json_otherwise() {
    let terminal = Host {
        stdout_is_terminal: true,
        ..HOST
    };
    assert_eq!(cli(&[]).validate(&terminal).unwrap().log.format, LogFormat::Text);
    assert_eq!(cli(&[]).validate(&HOST).unwrap().log.format, LogFormat::Json);
}

#[test]
fn partial_storage_settings_name_what_is_missing() {
    let e = error(&["--storage-account", "acct"]);
    assert!(
        e.to_string()
            .contains("missing STORAGE_CONTAINER_NAME, FILE_NAME"),
        "{e}"
    );
}

#[test]
fn full_storage_settings_default_to_the_public_endpoint() {
    let config = cli(&[
        "--storage-account",
        "acct",
        "--storage-container",
        "c",
        "--blob-name",
        "b",
    ])
    .validate(&HOST)
    .unwrap();
    assert_eq!(
        config.startup_blob.unwrap().target.endpoint.as_str(),
        "https://acct.blob.core.windows.net/"
    );
}

#[test]
fn the_blob_endpoint_loses_its_trailing_slash() {
    let args = [
        "--storage-account",
        "a",
        "--storage-container",
        "c",
        "--blob-name",
        "b",
        "--blob-endpoint",
        "https://127.0.0.1:10000/devstoreaccount1/",
    ];
    let endpoint = cli(&args)
        .validate(&HOST)
        .unwrap()
        .startup_blob
        .unwrap()
        .target
        .endpoint;
    assert_eq!(endpoint.as_str(), "https://127.0.0.1:10000/devstoreaccount1");
}

#[test]
fn a_plain_http_blob_endpoint_is_refused() {
    let args = [
        "--storage-account",
        "a",
        "--storage-container",
        "c",
        "--blob-name",
        "b",
        "--blob-endpoint",
        "http://127.0.0.1:10000/x",
    ];
    assert_eq!(error(&args).setting, "--blob-endpoint (STORAGE_BLOB_ENDPOINT)");
}

#[test]
fn a_missing_model_folder_is_named() {
    let e = parse(["aml-scorer", "--model-dir", "/nonexistent"])
        .unwrap()
        .validate(&HOST)
        .unwrap_err();
    assert_eq!(e.setting, "--model-dir (AZUREML_MODEL_DIR)");
}

#[test]
fn a_missing_model_file_is_named() {
    assert_eq!(
        error(&["--model-file", "nope.onnx"]).setting,
        "--model-file (AML_SCORER_MODEL_FILE)"
    );
}

#[test]
fn a_zero_scoring_timeout_is_a_parse_error_naming_it() {
    let error = parse(["aml-scorer", "--scoring-timeout-ms", "0"]).unwrap_err();
    assert!(error.to_string().contains("--scoring-timeout-ms"), "{error}");
}

#[test]
fn secrets_never_reach_debug() {
    let argv = [
        "aml-scorer",
        "--msi-secret",
        "s3cr3t-value",
        "--identity-header",
        "h3ad3r-value",
    ];
    let cli = parse(argv).unwrap();
    let shown = format!("{cli:?}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("h3ad3r"), "{shown}");
}

#[test]
fn azure_ml_level_names_are_accepted() {
    assert_eq!(
        cli(&["--log-level", "WARNING"])
            .validate(&HOST)
            .unwrap()
            .log
            .filter,
        "warn"
    );
    assert_eq!(
        cli(&["--log-level", "DEBUG"]).validate(&HOST).unwrap().log.filter,
        "debug"
    );
}

#[test]
fn an_unreadable_ca_file_is_named() {
    assert_eq!(
        error(&["--ca-file", "/nonexistent.pem"]).setting,
        "--ca-file (AML_SCORER_CA_FILE)"
    );
}

#[test]
fn a_zero_body_limit_is_a_parse_error() {
    assert!(parse(["aml-scorer", "--max-body-bytes", "0"]).is_err());
}

#[test]
fn a_model_url_replaces_the_model_folder_and_names_the_model() {
    let config = parse([
        "aml-scorer",
        "--model-dir",
        "/nonexistent",
        "--model-url",
        "https://127.0.0.1:10000/devstoreaccount1/models/v2/forest.onnx",
        "--client-id",
        "uai-client",
    ])
    .unwrap()
    .validate(&HOST)
    .unwrap();
    let ModelSource::Blob { blob, identity } = &config.model.source else {
        panic!("the model is a blob")
    };
    assert_eq!(blob.target.blob, "v2/forest.onnx");
    assert_eq!(blob.max_bytes, 2 << 30);
    assert_eq!(config.model.name, "forest");
    // The identity settings come with it; the start-up blob stays off.
    assert_eq!(identity.client_id.as_deref(), Some("uai-client"));
    assert!(config.startup_blob.is_none());
}

#[test]
fn without_max_connections_the_cap_follows_the_hosts_open_files_limit() {
    let host = Host {
        open_files: Some(4096),
        ..HOST
    };
    assert_eq!(
        cli(&[]).validate(&host).unwrap().connections.max_connections,
        4032
    );
    let set = cli(&["--max-connections", "7"]).validate(&host).unwrap();
    assert_eq!(set.connections.max_connections, 7);
}

#[test]
fn without_max_inflight_bytes_the_budget_is_half_the_hosts_memory_limit() {
    let host = Host {
        memory_limit: Some(4 << 30),
        ..HOST
    };
    assert_eq!(cli(&[]).validate(&host).unwrap().api.inflight.bytes, 2 << 30);
    let set = cli(&["--max-inflight-bytes", "5000000"]).validate(&host).unwrap();
    assert_eq!(set.api.inflight.bytes, 5_000_000);
}

#[test]
fn intra_op_threads_default_to_auto_and_reach_the_scorer_settings() {
    use crate::model::IntraOpThreads;
    let threads = |args: &[&str]| cli(args).validate(&HOST).unwrap().scoring.intra_op_threads;
    assert_eq!(threads(&[]), IntraOpThreads::Auto);
    assert_eq!(threads(&["--intra-op-threads", "0"]), IntraOpThreads::Auto);
    assert_eq!(
        threads(&["--intra-op-threads", "2"]),
        IntraOpThreads::Fixed(NonZeroUsize::new(2).unwrap())
    );
    assert!(parse(["aml-scorer", "--intra-op-threads", "-1"]).is_err());
    assert!(parse(["aml-scorer", "--intra-op-threads", "two"]).is_err());
    assert!(parse(["aml-scorer", "--intra-op-threads", "257"]).is_err());
    assert!(parse(["aml-scorer", "--intra-op-threads", "256"]).is_ok());
    let command = Cli::command();
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some("intra-op-threads"))
        .expect("the flag exists");
    assert_eq!(
        arg.get_env().and_then(|env| env.to_str()),
        Some("AML_SCORER_INTRA_OP_THREADS")
    );
}

#[test]
fn direct_kernels_default_to_auto_and_reach_the_scorer_settings() {
    use crate::model::DirectKernels;
    let kernels = |args: &[&str]| cli(args).validate(&HOST).unwrap().scoring.direct_kernels;
    assert_eq!(kernels(&[]), DirectKernels::Auto);
    assert_eq!(kernels(&["--direct-kernels", "avx2"]), DirectKernels::Avx2);
    assert_eq!(kernels(&["--direct-kernels", "off"]), DirectKernels::Off);
    assert!(parse(["aml-scorer", "--direct-kernels", "avx512"]).is_err());
    let command = Cli::command();
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some("direct-kernels"))
        .expect("the flag exists");
    assert_eq!(
        arg.get_env().and_then(|env| env.to_str()),
        Some("AML_SCORER_DIRECT_KERNELS")
    );
}
