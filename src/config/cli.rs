//! The flags: one clap struct, a flag with an environment fallback and a doc line per setting.

use std::{
    net::IpAddr,
    num::{NonZeroU64, NonZeroUsize},
    path::PathBuf,
};

use azure_core::credentials::Secret;
use clap::Parser;
use url::Url;

use super::AccessLogMode;
use crate::{api::ScoreMethod, model::DirectKernels, telemetry::LogFormat};

/// Command line and environment of `aml-scorer`. Secrets are read into `Secret`s straight away,
/// so not even this struct's `Debug` shows them.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "aml-scorer",
    version,
    about = "Scoring server for Azure Machine Learning online endpoints"
)]
pub struct Cli {
    /// Address to bind.
    #[arg(long, env = "AML_SCORER_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one; the Azure ML inference server uses 5001).
    #[arg(long, env = "AML_SCORER_PORT", default_value_t = 5001)]
    pub port: u16,

    /// Port of the KServe V2 gRPC service (`inference.GRPCInferenceService`, h2c); 0 picks a free
    /// one, `off` serves no gRPC (KServe's runtimes use 8081).
    #[arg(long, env = "AML_SCORER_GRPC_PORT", default_value = "8081", value_parser = grpc_port)]
    pub grpc_port: GrpcPort,

    /// Folder holding the model; searched recursively for one `*.onnx` file.
    #[arg(long, env = "AZUREML_MODEL_DIR", default_value = "model")]
    pub model_dir: PathBuf,

    /// The ONNX file to load, absolute or relative to the model folder (default: the only
    /// `*.onnx` under the model folder).
    #[arg(long, env = "AML_SCORER_MODEL_FILE")]
    pub model_file: Option<PathBuf>,

    /// The model's name in the KServe V2 routes (default: the model file's name without `.onnx`).
    #[arg(long, env = "AML_SCORER_MODEL_NAME")]
    pub model_name: Option<String>,

    /// Client id of a user-assigned managed identity (none means the system-assigned identity).
    #[arg(long, env = "UAI_CLIENT_ID")]
    pub client_id: Option<String>,

    /// The Azure SDKs' name for the client id, used when `UAI_CLIENT_ID` is not set.
    #[arg(long, env = "AZURE_CLIENT_ID", hide = true)]
    pub azure_client_id: Option<String>,

    /// Azure ML's identity endpoint (set by Azure ML).
    #[arg(long, env = "MSI_ENDPOINT", hide = true)]
    pub msi_endpoint: Option<String>,

    /// Azure ML's identity secret (set by Azure ML).
    #[arg(long, env = "MSI_SECRET", hide = true, hide_env_values = true, value_parser = secret)]
    pub msi_secret: Option<Secret>,

    /// An App Service-style identity endpoint.
    #[arg(long, env = "IDENTITY_ENDPOINT", hide = true)]
    pub identity_endpoint: Option<String>,

    /// The App Service-style identity header.
    #[arg(long, env = "IDENTITY_HEADER", hide = true, hide_env_values = true, value_parser = secret)]
    pub identity_header: Option<Secret>,

    /// The instance metadata service's host (default `http://169.254.169.254`).
    #[arg(long, env = "AZURE_POD_IDENTITY_AUTHORITY_HOST", hide = true)]
    pub imds_host: Option<String>,

    /// Storage account to read the start-up blob from.
    #[arg(long, env = "STORAGE_ACCOUNT_NAME")]
    pub storage_account: Option<String>,

    /// Container of the start-up blob.
    #[arg(long, env = "STORAGE_CONTAINER_NAME")]
    pub storage_container: Option<String>,

    /// Name of the start-up blob.
    #[arg(long, env = "FILE_NAME")]
    pub blob_name: Option<String>,

    /// Blob service endpoint (default `https://{account}.blob.core.windows.net`).
    #[arg(long, env = "STORAGE_BLOB_ENDPOINT")]
    pub blob_endpoint: Option<Url>,

    /// Extra trusted CA certificates (PEM) for outbound HTTPS, added to the system roots.
    #[arg(long, env = "AML_SCORER_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// How long, in total, to keep retrying the managed-identity endpoint at start (ms).
    #[arg(long, env = "AML_SCORER_IDENTITY_RETRY_BUDGET_MS", default_value = "75000")]
    pub identity_retry_budget_ms: NonZeroU64,

    /// Longest time one request may spend waiting for and running the model (ms).
    #[arg(long, env = "SCORING_TIMEOUT_MS", default_value = "60000")]
    pub scoring_timeout_ms: NonZeroU64,

    /// Dynamic batching: the most rows one batched model call may gather (0 turns batching off).
    #[arg(long, env = "AML_SCORER_BATCH_MAX_ROWS", default_value_t = 0)]
    pub batch_max_rows: usize,

    /// Dynamic batching: how long the first request of a batch waits for others (microseconds).
    #[arg(long, env = "AML_SCORER_BATCH_WAIT_US", default_value_t = 500)]
    pub batch_wait_us: u64,

    /// Threads one model run may use (0 = auto: the run of a request alone uses every core, runs
    /// of requests at once one each; see docs/settings.md), at most 256.
    #[arg(
        long,
        env = "AML_SCORER_INTRA_OP_THREADS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u16).range(0..=256)
    )]
    pub intra_op_threads: u16,

    /// The server's own convolution and max-pool kernels: `auto` (AVX-512 where the machine has
    /// it, else tract's), `avx2` (AVX2 with FMA, even where the machine has AVX-512), `off`
    /// (tract's kernels throughout).
    #[arg(long, env = "AML_SCORER_DIRECT_KERNELS", value_enum, default_value = "auto")]
    pub direct_kernels: DirectKernels,

    /// What `/score` answers when the request does not say (`?method=`, AutoML's
    /// `GlobalParameters.method`): `predict` or a classifier's `predict_proba`.
    #[arg(long, env = "AML_SCORER_SCORE_METHOD", value_enum, default_value = "predict")]
    pub score_method: ScoreMethod,

    /// A request head must arrive within this time (ms) from its first byte (408 once its
    /// request line is in, else the connection is closed).
    #[arg(long, env = "AML_SCORER_HEAD_TIMEOUT_MS", default_value = "30000")]
    pub head_timeout_ms: NonZeroU64,

    /// A keep-alive connection waits this long (ms) for its next request, as nginx's 75 s.
    #[arg(long, env = "AML_SCORER_IDLE_TIMEOUT_MS", default_value = "75000")]
    pub idle_timeout_ms: NonZeroU64,

    /// Open connections at most; past it the server stops accepting until one closes (0: the
    /// open-files limit less room for the model, logs and outbound connections).
    #[arg(long, env = "AML_SCORER_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// A request body must arrive whole within this time (ms), else 408; a response the client
    /// does not read for this long is dropped.
    #[arg(long, env = "AML_SCORER_BODY_TIMEOUT_MS", default_value = "60000")]
    pub body_timeout_ms: NonZeroU64,

    /// A request body must average at least this many bytes per second once 5 s have passed,
    /// else 408 (0: no minimum).
    #[arg(long, env = "AML_SCORER_MIN_BODY_RATE", default_value_t = 240)]
    pub min_body_rate: u64,

    /// Bytes of request bodies and decoded tensors held at once (default: half the container's
    /// memory limit, or 1 GiB without one); a request that finds no room within 1 s gets 429.
    #[arg(long, env = "AML_SCORER_MAX_INFLIGHT_BYTES")]
    pub max_inflight_bytes: Option<NonZeroU64>,

    /// The model as a blob URL (`https://<account>.blob.core.windows.net/<container>/<path>.onnx`,
    /// or path-style `https://<ip:port>/<account>/<container>/<path>.onnx`), downloaded at `init`
    /// with the managed identity; replaces the model folder.
    #[arg(long, env = "AML_SCORER_MODEL_URL")]
    pub model_url: Option<String>,

    /// The SHA-256 (hex) the downloaded model must have.
    #[arg(long, env = "AML_SCORER_MODEL_SHA256")]
    pub model_sha256: Option<String>,

    /// The largest model download, in bytes.
    #[arg(long, env = "AML_SCORER_MAX_MODEL_BYTES", default_value = "2147483648")]
    pub max_model_bytes: NonZeroU64,

    /// The most pixels one image in a request may have (read from its header, before decoding),
    /// for models with `preprocessor_config.json`.
    #[arg(long, env = "AML_SCORER_MAX_IMAGE_PIXELS", default_value = "40000000")]
    pub max_image_pixels: NonZeroU64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "AML_SCORER_MAX_BODY_BYTES", default_value = "104857600")]
    pub max_body_bytes: NonZeroUsize,

    /// Log format (default: `json` when stdout is not a terminal, else `text`).
    #[arg(long, env = "AML_SCORER_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Which requests get an access-log line at `info`: `summary` (errors and slow requests,
    /// the rest counted in a summary line; every request at `debug`) or `all`.
    #[arg(long, env = "AML_SCORER_ACCESS_LOG", value_enum, default_value = "summary")]
    pub access_log: AccessLogMode,

    /// A request taking at least this long (ms) gets its own access-log line.
    #[arg(long, env = "AML_SCORER_SLOW_REQUEST_MS", default_value = "1000")]
    pub slow_request_ms: NonZeroU64,

    /// How often (s) the access log's summary line is written.
    #[arg(long, env = "AML_SCORER_LOG_SUMMARY_SECONDS", default_value = "60")]
    pub log_summary_seconds: NonZeroU64,

    /// Origins a browser may call from, comma-separated and exact (`https://app.contoso.com`),
    /// or `*` for any (default: none, no CORS headers).
    #[arg(long, env = "AML_CORS_ORIGINS")]
    pub cors_origins: Option<String>,

    /// Model data collection (set by Azure ML from the deployment's `data_collector`): the
    /// collector sidecar's host (default 127.0.0.1).
    #[arg(long, env = "AZUREML_MDC_HOST", hide = true)]
    pub mdc_host: Option<String>,

    /// The collector sidecar's port (default 50011).
    #[arg(long, env = "AZUREML_MDC_PORT", hide = true)]
    pub mdc_port: Option<String>,

    /// The data collector's JSON configuration file; when set, the variables below are ignored.
    #[arg(long, env = "AZUREML_MDC_CONFIG_PATH", hide = true)]
    pub mdc_config_path: Option<PathBuf>,

    /// `true` collects `model_inputs` and `model_outputs` (without a configuration file).
    #[arg(long, env = "AZUREML_MDC_ENABLED", hide = true)]
    pub mdc_enabled: Option<String>,

    /// Percent of requests collected (default 100).
    #[arg(long, env = "AZUREML_MDC_SAMPLE_RATE", hide = true)]
    pub mdc_sample_rate: Option<String>,

    /// Payloads waiting to be sent, at most (default 1500).
    #[arg(long, env = "AZUREML_MDC_QUEUE_CAPACITY", hide = true)]
    pub mdc_queue_capacity: Option<String>,

    /// `true` writes payloads as log lines instead of sending them.
    #[arg(long, env = "AZUREML_MDC_LOCAL_CAPTURE", hide = true)]
    pub mdc_local_capture: Option<String>,

    /// Instead of serving, check a server already running on `--port` (for `HEALTHCHECK`):
    /// exit 0 when its readiness route answers 200, else 1.
    #[arg(long)]
    pub probe: bool,

    /// Log level or filter directives (`info`, `debug`, `aml_scorer=debug,info`).
    #[arg(long, env = "AZUREML_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Log filter directives, used when `AZUREML_LOG_LEVEL` is not set.
    #[arg(long, env = "RUST_LOG", hide = true)]
    pub rust_log: Option<String>,
}

/// `--grpc-port`: a port, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrpcPort(pub Option<u16>);

fn grpc_port(value: &str) -> Result<GrpcPort, String> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(GrpcPort(None));
    }
    value
        .parse()
        .map(|port| GrpcPort(Some(port)))
        .map_err(|_| format!("{value:?} is neither a port (0 to 65535) nor `off`"))
}

fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value.to_owned()))
}
