//! Request telemetry's settings: Azure's and OpenTelemetry's own variable names, read from the
//! environment only (the platform sets them; they have no flags).

use std::path::PathBuf;

use url::Url;

use super::{invalid, ConfigError};
use crate::telemetry::{AppInsights, TraceSettings};

/// The variables read here, for `--help`-less discovery and for tests that must clear them.
pub const TELEMETRY_ENVIRONMENT: [&str; 7] = [
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "AML_APP_INSIGHTS_ENABLED",
    "AML_APP_INSIGHTS_KEY",
    "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
];

/// Builds the telemetry settings from `env` (the process environment, or a test's). The
/// connection string wins over `AML_APP_INSIGHTS_*` when both are set.
pub(super) fn trace_settings(
    env: &dyn Fn(&str) -> Option<String>,
    ca_file: Option<PathBuf>,
) -> Result<TraceSettings, ConfigError> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let enabled = flag(env("AML_APP_INSIGHTS_ENABLED"), "AML_APP_INSIGHTS_ENABLED")?;
    let app_insights = match (env("APPLICATIONINSIGHTS_CONNECTION_STRING"), enabled) {
        (Some(connection_string), _) => Some(
            AppInsights::from_connection_string(&connection_string)
                .map_err(|e| invalid("APPLICATIONINSIGHTS_CONNECTION_STRING", e.to_string()))?,
        ),
        (None, true) => {
            let key = env("AML_APP_INSIGHTS_KEY").ok_or_else(|| {
                invalid(
                    "AML_APP_INSIGHTS_KEY",
                    "AML_APP_INSIGHTS_ENABLED is true: set the instrumentation key (or \
                     APPLICATIONINSIGHTS_CONNECTION_STRING)",
                )
            })?;
            Some(
                AppInsights::from_key(key.trim())
                    .map_err(|e| invalid("AML_APP_INSIGHTS_KEY", e.to_string()))?,
            )
        }
        (None, false) => None,
    };
    if let Some(protocol) = env("OTEL_EXPORTER_OTLP_PROTOCOL") {
        if protocol != "http/protobuf" {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                format!("`{protocol}` is not supported: only `http/protobuf` (OTLP over HTTP)"),
            ));
        }
    }
    let otlp = env("OTEL_EXPORTER_OTLP_ENDPOINT")
        .map(|base| otlp_traces(&base))
        .transpose()?;
    Ok(TraceSettings {
        app_insights,
        otlp,
        service_name: env("OTEL_SERVICE_NAME").unwrap_or_else(|| "aml-scorer".to_owned()),
        log_response: flag(
            env("APP_INSIGHTS_LOG_RESPONSE_ENABLED"),
            "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
        )?,
        ca_file,
    })
}

/// The traces endpoint under an OTLP base URL, as the OpenTelemetry specification builds it:
/// `{base}/v1/traces`.
fn otlp_traces(base: &str) -> Result<Url, ConfigError> {
    const SETTING: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    let url = Url::parse(base.trim()).map_err(|e| invalid(SETTING, format!("`{base}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(SETTING, format!("`{base}` must be an http or https URL")));
    }
    // The endpoint is logged at start: credentials belong in OTEL_EXPORTER_OTLP_HEADERS.
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(invalid(
            SETTING,
            "must not carry credentials (a user, password or query): set them in OTEL_EXPORTER_OTLP_HEADERS",
        ));
    }
    let traces = format!("{}/v1/traces", url.as_str().trim_end_matches('/'));
    Url::parse(&traces).map_err(|e| invalid(SETTING, e.to_string()))
}

/// A boolean as the Python server reads it (`true`, `1`, `yes`, any case); empty or unset is
/// false, anything else an error naming the setting.
fn flag(value: Option<String>, setting: &'static str) -> Result<bool, ConfigError> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(invalid(setting, format!("`{other}` is not true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<TraceSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        trace_settings(
            &|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None,
        )
    }

    #[test]
    fn nothing_set_means_no_exporter() {
        let found = settings(&[]).unwrap();
        assert!(!found.is_on());
        assert!(!found.log_response);
    }

    #[test]
    fn the_connection_string_wins_over_the_key() {
        let found = settings(&[
            ("AML_APP_INSIGHTS_ENABLED", "true"),
            ("AML_APP_INSIGHTS_KEY", "k"),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "InstrumentationKey=c;IngestionEndpoint=http://127.0.0.1:1/",
            ),
        ])
        .unwrap();
        let target = found.app_insights.unwrap();
        assert_eq!(target.chosen_by, "APPLICATIONINSIGHTS_CONNECTION_STRING");
        assert_eq!(target.ingestion.as_str(), "https://127.0.0.1:1/");
    }

    #[test]
    fn the_key_counts_only_when_enabled_and_enabled_needs_a_key() {
        assert!(settings(&[("AML_APP_INSIGHTS_KEY", "k")])
            .unwrap()
            .app_insights
            .is_none());
        let error = settings(&[("AML_APP_INSIGHTS_ENABLED", "True")]).unwrap_err();
        assert_eq!(error.setting, "AML_APP_INSIGHTS_KEY");
        let error = settings(&[("AML_APP_INSIGHTS_ENABLED", "maybe")]).unwrap_err();
        assert_eq!(error.setting, "AML_APP_INSIGHTS_ENABLED");
    }

    #[test]
    fn the_otlp_base_gets_the_traces_path() {
        let found = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        assert_eq!(found.otlp.unwrap().as_str(), "http://collector:4318/v1/traces");
        let error = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert_eq!(error.setting, "OTEL_EXPORTER_OTLP_PROTOCOL");
    }

    #[test]
    fn a_bad_connection_string_is_refused_without_quoting_the_key() {
        let error = settings(&[(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "InstrumentationKey=s3cret;IngestionEndpoint=nope",
        )])
        .unwrap_err();
        assert_eq!(error.setting, "APPLICATIONINSIGHTS_CONNECTION_STRING");
        assert!(!error.to_string().contains("s3cret"));
    }
}
