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

/// The validated configuration, one group per part of the server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub model: ModelSettings,
    pub connections: crate::serve::ConnectionLimits,
    pub scoring: ScoringSettings,
    /// `None` when no storage setting is given: the blob step is skipped.
    pub azure: Option<AzureSettings>,
    pub log: LogSettings,
}

/// The model to load and its name.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub path: PathBuf,
    /// The model's name in the KServe V2 routes.
    pub name: String,
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

/// The identity and blob steps of `init`.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    pub blob: BlobTarget,
    pub identity: IdentityEnv,
    /// A user-assigned identity's client id; `None` is the system-assigned identity.
    pub client_id: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub identity_retry_budget: Duration,
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
