//! What `Cli::validate` makes: the `Config`, one field per part of the server, each of the part's
//! own settings type; and the `Host` facts that defaults depend on.

use std::{io::IsTerminal, net::SocketAddr};

use clap::ValueEnum;

use crate::{
    api::ApiSettings,
    azure::StartupBlob,
    collect::CollectSettings,
    init::ModelSettings,
    model::ScorerSettings,
    serve::ConnectionLimits,
    telemetry::{LogSettings, TraceSettings},
};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The gRPC service's address; `None` with `--grpc-port off`.
    pub grpc_listen: Option<SocketAddr>,
    pub connections: ConnectionLimits,
    pub model: ModelSettings,
    pub scoring: ScorerSettings,
    pub api: ApiSettings,
    /// `None` when `STORAGE_ACCOUNT_NAME`, `STORAGE_CONTAINER_NAME` and `FILE_NAME` are not set.
    pub startup_blob: Option<StartupBlob>,
    /// Request telemetry's exporters (none: no spans at all).
    pub traces: TraceSettings,
    /// Model data collection (`AZUREML_MDC_*`, environment only).
    pub collect: CollectSettings,
    pub log: LogSettings,
}

/// Which requests get their own access-log line at `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessLogMode {
    /// Errors and slow requests; the others are summarised every interval.
    Summary,
    /// Every request.
    All,
}

/// What defaults depend on, read from the machine by `Host::read` (and written out by tests), so
/// that validation itself does not read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host {
    /// Text logs on a terminal, JSON otherwise.
    pub stdout_is_terminal: bool,
    /// The soft open-files limit (`None`: unlimited or unknown), for the connection cap.
    pub open_files: Option<usize>,
    /// The container's memory limit (`None`: none), for the in-flight memory budget.
    pub memory_limit: Option<u64>,
}

impl Host {
    /// This process's terminal, `/proc/self/limits` and control group.
    pub fn read() -> Host {
        Host {
            stdout_is_terminal: std::io::stdout().is_terminal(),
            open_files: crate::serve::open_files_limit(),
            memory_limit: crate::cgroup::memory_limit(),
        }
    }
}
