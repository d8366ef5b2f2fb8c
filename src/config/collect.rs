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
    let url = settings.log_url();
    match url::Url::parse(&url) {
        Ok(parsed) if parsed.host_str().is_some() && parsed.path() == "/modeldata/log" => {}
        _ => {
            return Err(invalid(
                "AZUREML_MDC_HOST",
                format!(
                    "{:?} does not make a URL ({url}); give a host name or an IP address",
                    settings.host
                ),
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> CollectEnv {
        CollectEnv {
            host: None,
            port: None,
            config_path: None,
            enabled: None,
            sample_rate: None,
            queue_capacity: None,
            local_capture: None,
        }
    }

    #[test]
    fn nothing_set_is_off_with_the_librarys_sidecar_address() {
        let settings = collect_settings(env(), None).unwrap();
        assert!(!settings.enabled());
        assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 50011));
        assert_eq!(settings.queue_capacity.get(), 1500);
    }

    #[test]
    fn enabled_collects_both_at_the_sample_rate_with_the_queue_and_capture_asked_for() {
        let settings = collect_settings(
            CollectEnv {
                host: Some("10.0.0.7".into()),
                port: Some("6000".into()),
                enabled: Some("True".into()),
                sample_rate: Some("12.5".into()),
                queue_capacity: Some("10".into()),
                local_capture: Some("FALSE".into()),
                ..env()
            },
            Some("3".into()),
        )
        .unwrap();
        assert_eq!(
            (settings.inputs, settings.outputs),
            (Percent::new(12.5), Percent::new(12.5))
        );
        assert_eq!((settings.host.as_str(), settings.port), ("10.0.0.7", 6000));
        assert_eq!(settings.queue_capacity.get(), 10);
        assert!(!settings.local_capture);
        assert_eq!(settings.model_version.as_deref(), Some("3"));
    }

    #[test]
    fn a_config_file_wins_over_the_variables_but_not_over_host_and_port() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mdc.json");
        std::fs::write(
            &path,
            r#"{"runMode": "local", "collections": {"model_outputs": {"enabled": "True"}}}"#,
        )
        .unwrap();
        let settings = collect_settings(
            CollectEnv {
                port: Some("6001".into()),
                config_path: Some(path),
                enabled: Some("true".into()),
                sample_rate: Some("not read".into()),
                ..env()
            },
            None,
        )
        .unwrap();
        assert_eq!((settings.inputs, settings.outputs), (None, Some(Percent::ALL)));
        assert!(settings.local_capture);
        assert_eq!(settings.port, 6001);
    }

    #[test]
    fn a_host_that_makes_no_url_is_named_and_an_ipv6_one_is_bracketed() {
        let host = |host: &str| {
            collect_settings(
                CollectEnv {
                    host: Some(host.into()),
                    ..env()
                },
                None,
            )
        };
        assert_eq!(host("http://x/").unwrap_err().setting, "AZUREML_MDC_HOST");
        assert_eq!(host("a b").unwrap_err().setting, "AZUREML_MDC_HOST");
        assert_eq!(host("::1").unwrap().log_url(), "http://[::1]:50011/modeldata/log");
        assert_eq!(
            host("mdc-sidecar").unwrap().log_url(),
            "http://mdc-sidecar:50011/modeldata/log"
        );
    }

    #[test]
    fn a_bad_port_is_named() {
        let error = collect_settings(
            CollectEnv {
                port: Some("50011x".into()),
                ..env()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(error.setting, "AZUREML_MDC_PORT");
    }
}
