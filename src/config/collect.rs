//! Model data collection's settings from Azure's `AZUREML_MDC_*` variables, in the library's
//! order: host and port always, then the configuration file if one is named, else the
//! variables.

use std::{num::NonZeroUsize, path::PathBuf};

use super::{invalid, set, ConfigError};
use crate::collect::{self, CollectSettings, Percent};

/// The raw variables, as clap read them.
pub struct CollectEnv {
    pub host: Option<String>,
    pub port: Option<String>,
    pub config_path: Option<PathBuf>,
    pub enabled: Option<String>,
    pub sample_rate: Option<String>,
    pub queue_capacity: Option<String>,
    pub local_capture: Option<String>,
}

/// Validates the variables (reading the configuration file they name) into the settings;
/// `model_version` is sent as `ce-model-version`.
pub fn collect_settings(
    env: CollectEnv,
    model_version: Option<String>,
) -> Result<CollectSettings, ConfigError> {
    let mut settings = CollectSettings::off();
    settings.model_version = model_version;
    if let Some(host) = set(env.host) {
        settings.host = host;
    }
    if let Some(port) = set(env.port) {
        settings.port = port
            .trim()
            .parse()
            .map_err(|_| invalid("AZUREML_MDC_PORT", format!("{port:?} is not a port number")))?;
    }
    if let Some(path) = env.config_path.filter(|path| !path.as_os_str().is_empty()) {
        let file = collect::read_config_file(&path)
            .map_err(|e| invalid("AZUREML_MDC_CONFIG_PATH", e.to_string()))?;
        settings.inputs = file.inputs;
        settings.outputs = file.outputs;
        settings.local_capture = file.local;
        return Ok(settings);
    }
    if !flag("AZUREML_MDC_ENABLED", env.enabled)? {
        return Ok(settings);
    }
    let rate = match set(env.sample_rate) {
        None => Percent::ALL,
        Some(text) => text.trim().parse().ok().and_then(Percent::new).ok_or_else(|| {
            invalid(
                "AZUREML_MDC_SAMPLE_RATE",
                format!("{text:?} is not a percentage from 0 to 100"),
            )
        })?,
    };
    settings.inputs = Some(rate);
    settings.outputs = Some(rate);
    if let Some(text) = set(env.queue_capacity) {
        settings.queue_capacity = text
            .trim()
            .parse::<NonZeroUsize>()
            .ok()
            .filter(|capacity| capacity.get() <= MAX_QUEUE_CAPACITY)
            .ok_or_else(|| {
                invalid(
                    "AZUREML_MDC_QUEUE_CAPACITY",
                    format!("{text:?} is not a number of payloads from 1 to {MAX_QUEUE_CAPACITY}"),
                )
            })?;
    }
    settings.local_capture = flag("AZUREML_MDC_LOCAL_CAPTURE", env.local_capture)?;
    Ok(settings)
}

/// The queue holds captures, not bytes: a bound keeps a typo from reserving a huge channel.
const MAX_QUEUE_CAPACITY: usize = 1_000_000;

fn flag(setting: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match set(value) {
        None => Ok(false),
        Some(text) => collect::parse_bool(&text)
            .ok_or_else(|| invalid(setting, format!("{text:?} is neither true nor false"))),
    }
}
