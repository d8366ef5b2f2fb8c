//! Every setting of the server: one clap struct (flag + environment fallback), validated once.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroUsize,
    path::PathBuf,
    time::Duration,
};

use clap::{Parser, ValueEnum};
use url::Url;

/// Command line and environment of `aml-scorer`.
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

    /// Client id of a user-assigned managed identity (else `AZURE_CLIENT_ID`; none means the
    /// system-assigned identity).
    #[arg(long, env = "UAI_CLIENT_ID")]
    pub client_id: Option<String>,

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
    #[arg(long, env = "AML_SCORER_IDENTITY_RETRY_BUDGET_MS", default_value_t = 75_000)]
    pub identity_retry_budget_ms: u64,

    /// Longest time one request may spend waiting for and running the model (ms).
    #[arg(long, env = "SCORING_TIMEOUT_MS", default_value_t = 60_000)]
    pub scoring_timeout_ms: u64,

    /// Dynamic batching: the most rows one batched model call may gather (0 turns batching off).
    #[arg(long, env = "AML_SCORER_BATCH_MAX_ROWS", default_value_t = 0)]
    pub batch_max_rows: usize,

    /// Dynamic batching: how long the first request of a batch waits for others (microseconds).
    #[arg(long, env = "AML_SCORER_BATCH_WAIT_US", default_value_t = 500)]
    pub batch_wait_us: u64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "AML_SCORER_MAX_BODY_BYTES", default_value = "104857600")]
    pub max_body_bytes: NonZeroUsize,

    /// Log format (default: `json` when stdout is not a terminal, else `text`).
    #[arg(long, env = "AML_SCORER_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Instead of serving, check a server already running on `--port` (for `HEALTHCHECK`):
    /// exit 0 when its readiness route answers 200, else 1.
    #[arg(long)]
    pub probe: bool,

    /// Log level or filter directives (`info`, `debug`, `aml_scorer=debug,info`); else `RUST_LOG`.
    #[arg(long, env = "AZUREML_LOG_LEVEL")]
    pub log_level: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Where the start-up blob lives; present only when all three storage settings are.
#[derive(Debug, Clone)]
pub struct BlobTarget {
    pub account: String,
    pub container: String,
    pub blob: String,
    /// Service endpoint without a trailing slash.
    pub endpoint: Url,
}

/// The managed-identity endpoints the container was given (secrets never reach `Debug`).
#[derive(Clone, Default)]
pub struct IdentityEnv {
    pub msi_endpoint: Option<String>,
    pub msi_secret: Option<String>,
    pub identity_endpoint: Option<String>,
    pub identity_header: Option<String>,
    pub imds_host: Option<String>,
}

impl std::fmt::Debug for IdentityEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("IdentityEnv")
            .field("msi_endpoint", &self.msi_endpoint)
            .field("msi_secret", &redacted(&self.msi_secret))
            .field("identity_endpoint", &self.identity_endpoint)
            .field("identity_header", &redacted(&self.identity_header))
            .field("imds_host", &self.imds_host)
            .finish()
    }
}

/// The validated configuration the rest of the server reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub model_path: PathBuf,
    pub model_name: String,
    pub client_id: Option<String>,
    pub blob: Option<BlobTarget>,
    /// Why the blob step is skipped, when it is.
    pub identity: IdentityEnv,
    pub ca_file: Option<PathBuf>,
    pub identity_retry_budget: Duration,
    pub scoring_timeout: Duration,
    pub max_body_bytes: usize,
    /// `None`: batching off; else the most rows per batch and the longest wait.
    pub batching: Option<(usize, Duration)>,
    pub log_format: LogFormat,
    pub log_filter: String,
}

/// A setting that cannot be used; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

pub(crate) fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// Reads an optional environment variable, treating an empty value as unset.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Cli {
    /// Validates the settings; `stdout_is_terminal` picks the default log format.
    pub fn validate(self, stdout_is_terminal: bool) -> Result<Config, ConfigError> {
        let model_path = resolve_model_path(&self.model_dir, self.model_file.as_deref())?;
        if self.scoring_timeout_ms == 0 {
            return Err(invalid(
                "--scoring-timeout-ms (SCORING_TIMEOUT_MS)",
                "must be at least 1",
            ));
        }
        if self.identity_retry_budget_ms == 0 {
            return Err(invalid(
                "--identity-retry-budget-ms (AML_SCORER_IDENTITY_RETRY_BUDGET_MS)",
                "must be at least 1",
            ));
        }
        let blob = blob_target(
            self.storage_account.filter(|v| !v.is_empty()),
            self.storage_container.filter(|v| !v.is_empty()),
            self.blob_name.filter(|v| !v.is_empty()),
            self.blob_endpoint,
        )?;
        if let Some(path) = &self.ca_file {
            check_ca_file(path)?;
        }
        let client_id = self
            .client_id
            .filter(|v| !v.is_empty())
            .or_else(|| env_var("AZURE_CLIENT_ID"));
        let model_name = self.model_name.filter(|n| !n.is_empty()).unwrap_or_else(|| {
            model_path
                .file_stem()
                .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned())
        });
        let log_filter = log_filter(self.log_level.or_else(|| env_var("RUST_LOG")))?;
        Ok(Config {
            listen: SocketAddr::new(self.host, self.port),
            model_path,
            model_name,
            client_id,
            blob,
            identity: IdentityEnv {
                msi_endpoint: env_var("MSI_ENDPOINT"),
                msi_secret: env_var("MSI_SECRET"),
                identity_endpoint: env_var("IDENTITY_ENDPOINT"),
                identity_header: env_var("IDENTITY_HEADER"),
                imds_host: env_var("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
            },
            ca_file: self.ca_file,
            identity_retry_budget: Duration::from_millis(self.identity_retry_budget_ms),
            scoring_timeout: Duration::from_millis(self.scoring_timeout_ms),
            max_body_bytes: self.max_body_bytes.get(),
            batching: (self.batch_max_rows > 0)
                .then(|| (self.batch_max_rows, Duration::from_micros(self.batch_wait_us))),
            log_format: self.log_format.unwrap_or(if stdout_is_terminal {
                LogFormat::Text
            } else {
                LogFormat::Json
            }),
            log_filter,
        })
    }
}

mod checks;
#[cfg(test)]
mod tests;

use checks::{blob_target, check_ca_file, log_filter, resolve_model_path};
