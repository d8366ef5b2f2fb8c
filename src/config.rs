//! Every setting of the server: the flags (`Cli`), validated once by `Cli::validate` into a
//! `Config` made of each part's own settings type. Only `main` and `startup` read this module;
//! every other part takes its settings as a value.

use std::{net::SocketAddr, num::NonZeroUsize, time::Duration};

use azure_core::credentials::Secret;

use crate::{
    api::{AccessLogSettings, ApiSettings, BodyLimits, CorsOrigins, InflightLimit},
    azure::{IdentityEnv, IdentitySettings, StartupBlob},
    init::{ModelSettings, ModelSource},
    model::{Batching, IntraOpThreads, ScorerSettings},
    serve::{default_max_connections, ConnectionLimits},
    telemetry::{LogFormat, LogSettings},
};

mod checks;
mod cli;
mod collect;
mod model_file;
mod model_url;
mod settings;
mod telemetry;
#[cfg(test)]
mod tests;

use checks::{blob_target, check_ca_file, log_filter};
pub use cli::Cli;
use collect::{collect_settings, CollectEnv};
use model_file::resolve_model_path;
use model_url::model_blob;
pub use settings::*;
pub use telemetry::TELEMETRY_ENVIRONMENT;

/// A setting that cannot be used; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// An empty environment variable counts as unset.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn set_secret(value: Option<Secret>) -> Option<Secret> {
    value.filter(|v| !v.secret().is_empty())
}

impl Cli {
    /// Validates the settings. What the defaults depend on (the terminal, the open-files limit,
    /// the container's memory limit) comes in `host`. It reads the model folder and the CA file
    /// the settings name, on purpose: a wrong path is a settings error (exit 2) before `init`.
    pub fn validate(self, host: &Host) -> Result<Config, ConfigError> {
        let identity = IdentitySettings {
            env: IdentityEnv {
                msi_endpoint: set(self.msi_endpoint),
                msi_secret: set_secret(self.msi_secret),
                identity_endpoint: set(self.identity_endpoint),
                identity_header: set_secret(self.identity_header),
                imds_host: set(self.imds_host),
            },
            client_id: set(self.client_id).or_else(|| set(self.azure_client_id)),
            ca_file: self.ca_file,
            retry_budget: Duration::from_millis(self.identity_retry_budget_ms.get()),
        };
        if let Some(path) = &identity.ca_file {
            check_ca_file(path)?;
        }
        // Azure's and OpenTelemetry's names: environment only.
        let traces = telemetry::trace_settings(&|name| std::env::var(name).ok(), identity.ca_file.clone())?;
        let source = match set(self.model_url) {
            Some(url) => ModelSource::Blob {
                blob: model_blob(
                    &url,
                    set(self.model_sha256).as_deref(),
                    self.max_model_bytes.get(),
                )?,
                identity: identity.clone(),
            },
            None => ModelSource::File(resolve_model_path(&self.model_dir, self.model_file.as_deref())?),
        };
        let collect = collect_settings(
            CollectEnv {
                host: self.mdc_host,
                port: self.mdc_port,
                config_path: self.mdc_config_path,
                enabled: self.mdc_enabled,
                sample_rate: self.mdc_sample_rate,
                queue_capacity: self.mdc_queue_capacity,
                local_capture: self.mdc_local_capture,
            },
            match &source {
                ModelSource::File(path) => crate::collect::model_version(path),
                ModelSource::Blob { .. } => None,
            },
        )?;
        let name = set(self.model_name).unwrap_or_else(|| source.stem().unwrap_or("model").to_owned());
        let startup_blob = blob_target(
            set(self.storage_account),
            set(self.storage_container),
            set(self.blob_name),
            self.blob_endpoint,
        )?
        .map(|target| StartupBlob { target, identity });
        let format = self.log_format.unwrap_or(if host.stdout_is_terminal {
            LogFormat::Text
        } else {
            LogFormat::Json
        });
        let grpc_listen = self.grpc_port.0.map(|port| SocketAddr::new(self.host, port));
        if self.port != 0 && grpc_listen.is_some_and(|grpc| grpc.port() == self.port) {
            return Err(invalid(
                "AML_SCORER_GRPC_PORT",
                format!("{} is the HTTP port (AML_SCORER_PORT) too", self.port),
            ));
        }
        Ok(Config {
            listen: SocketAddr::new(self.host, self.port),
            grpc_listen,
            connections: ConnectionLimits {
                head_timeout: Duration::from_millis(self.head_timeout_ms.get()),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms.get()),
                send_timeout: Duration::from_millis(self.body_timeout_ms.get()),
                max_connections: match self.max_connections {
                    0 => default_max_connections(host.open_files),
                    set => set,
                },
            },
            model: ModelSettings {
                source,
                name,
                max_image_pixels: self.max_image_pixels.get(),
            },
            scoring: ScorerSettings {
                timeout: Duration::from_millis(self.scoring_timeout_ms.get()),
                batching: NonZeroUsize::new(self.batch_max_rows).map(|max_rows| Batching {
                    max_rows,
                    wait: Duration::from_micros(self.batch_wait_us),
                }),
                intra_op_threads: IntraOpThreads::from_count(self.intra_op_threads.into()),
                direct_kernels: self.direct_kernels,
            },
            api: ApiSettings {
                body: BodyLimits {
                    max_bytes: self.max_body_bytes.get(),
                    timeout: Duration::from_millis(self.body_timeout_ms.get()),
                    min_rate: self.min_body_rate,
                },
                inflight: match self.max_inflight_bytes {
                    Some(bytes) => InflightLimit {
                        bytes: bytes.get(),
                        chosen_by: "AML_SCORER_MAX_INFLIGHT_BYTES".to_owned(),
                    },
                    None => InflightLimit::default_for(host.memory_limit),
                },
                score_method: self.score_method,
                access_log: AccessLogSettings {
                    every_request: self.access_log == AccessLogMode::All,
                    slow: Duration::from_millis(self.slow_request_ms.get()),
                    summary_every: Duration::from_secs(self.log_summary_seconds.get()),
                },
                cors: set(self.cors_origins)
                    .map(|list| CorsOrigins::parse(&list))
                    .transpose()
                    .map_err(|e| invalid("--cors-origins (AML_CORS_ORIGINS)", e.to_string()))?,
            },
            startup_blob,
            traces,
            collect,
            log: LogSettings {
                format,
                filter: log_filter(set(self.log_level).or_else(|| set(self.rust_log)))?,
            },
        })
    }
}
