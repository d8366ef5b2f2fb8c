//! The settings the server's parts read, one group per part, as `Cli::validate` makes them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use azure_core::credentials::Secret;
use clap::ValueEnum;
use url::Url;

use crate::model::Batching;

/// What `/score` answers, as scikit-learn names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScoreMethod {
    /// The first output: labels for classifiers, values for regressors.
    #[value(name = "predict")]
    Predict,
    /// A classifier's probabilities, one list per row in class order.
    #[value(name = "predict_proba")]
    PredictProba,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Which requests get their own access-log line at `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessLogMode {
    /// Errors and slow requests; the others are summarised every interval.
    Summary,
    /// Every request.
    All,
}

/// The validated configuration, one group per part of the server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub model: ModelSettings,
    pub connections: crate::serve::ConnectionLimits,
    pub scoring: ScoringSettings,
    /// `None` when neither the start-up blob nor the model comes from Blob Storage.
    pub azure: Option<AzureSettings>,
    pub log: LogSettings,
}

/// The model to load and its name.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub source: ModelSource,
    /// The model's name in the KServe V2 routes.
    pub name: String,
}

/// Where the model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A file of the model folder.
    File(PathBuf),
    /// A blob, downloaded at `init` with the managed identity.
    Blob(ModelBlob),
}

impl ModelSource {
    /// The file name without `.onnx`: the model's default name.
    pub fn stem(&self) -> Option<&str> {
        match self {
            ModelSource::File(path) => path.file_stem()?.to_str(),
            ModelSource::Blob(blob) => {
                let name = blob.target.blob.rsplit('/').next()?;
                Some(name.strip_suffix(".onnx").unwrap_or(name))
            }
        }
    }
}

/// The model's blob and the checks its download must pass.
#[derive(Debug, Clone)]
pub struct ModelBlob {
    pub target: BlobTarget,
    /// The SHA-256 the download must have.
    pub sha256: Option<[u8; 32]>,
    pub max_bytes: u64,
}

/// How requests are read and scored.
#[derive(Debug, Clone)]
pub struct ScoringSettings {
    pub timeout: Duration,
    pub max_body_bytes: usize,
    /// The whole request body must arrive within this time.
    pub body_timeout: Duration,
    /// Bytes per second a body must average after its grace period (0: no minimum).
    pub min_body_rate: u64,
    pub inflight: InflightBudget,
    pub method: ScoreMethod,
    /// `None`: dynamic batching off.
    pub batching: Option<Batching>,
}

/// The managed identity, and the start-up blob of the walkthrough when it is configured.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    /// `None` when only the model comes from Blob Storage: the blob step is skipped.
    pub blob: Option<BlobTarget>,
    pub identity: IdentityEnv,
    /// A user-assigned identity's client id; `None` is the system-assigned identity.
    pub client_id: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub identity_retry_budget: Duration,
}

impl BlobTarget {
    /// The blob's URL: the endpoint, the container, then the blob's path segments.
    pub fn url(&self) -> Option<Url> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push(&self.container)
            .extend(self.blob.split('/'));
        Some(url)
    }
}

/// Where the start-up blob lives.
#[derive(Debug, Clone)]
pub struct BlobTarget {
    pub account: String,
    pub container: String,
    pub blob: String,
    /// Service endpoint without a trailing slash.
    pub endpoint: Url,
}

/// The managed-identity endpoints the container was given; the derived `Debug` redacts secrets.
#[derive(Debug, Clone, Default)]
pub struct IdentityEnv {
    pub msi_endpoint: Option<String>,
    pub msi_secret: Option<Secret>,
    pub identity_endpoint: Option<String>,
    pub identity_header: Option<Secret>,
    pub imds_host: Option<String>,
}

/// Log output.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
    pub access: crate::api::AccessLogSettings,
}

/// The memory budget for requests in flight, and what chose it (logged at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflightBudget {
    pub bytes: u64,
    pub chosen_by: String,
}

/// The budget without a container memory limit.
const UNLIMITED_DEFAULT: u64 = 1 << 30;

impl InflightBudget {
    /// Half the container's memory limit (the model, the runtime and answers need the rest), or
    /// 1 GiB without one.
    pub fn default_for(memory_limit: Option<u64>) -> Self {
        match memory_limit {
            Some(limit) => InflightBudget {
                bytes: (limit / 2).max(1 << 20),
                chosen_by: format!("half the container memory limit of {limit} bytes"),
            },
            None => InflightBudget {
                bytes: UNLIMITED_DEFAULT,
                chosen_by: "no container memory limit: 1 GiB".to_owned(),
            },
        }
    }
}
