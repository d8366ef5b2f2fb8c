//! Where request telemetry goes, as `config` builds it from Azure's and OpenTelemetry's own
//! environment variables. The Application Insights connection string holds the instrumentation
//! key, a secret here: it lives in a `Secret` and only the ingestion endpoint is ever shown.

use std::path::PathBuf;

use azure_core::credentials::Secret;
use url::Url;

/// The global ingestion endpoint, used when a connection string names none (and for
/// `AML_APP_INSIGHTS_KEY`, which is a bare instrumentation key).
const GLOBAL_INGESTION: &str = "https://dc.services.visualstudio.com/";

/// Request telemetry: each exporter that is on, and what a span may carry.
#[derive(Debug, Clone, Default)]
pub struct TraceSettings {
    pub app_insights: Option<AppInsights>,
    /// The OTLP/HTTP traces endpoint (`{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`).
    pub otlp: Option<Url>,
    /// `service.name` of the spans (`OTEL_SERVICE_NAME`, default `aml-scorer`).
    pub service_name: String,
    /// Attach scoring answers (the predictions) to their request spans
    /// (`APP_INSIGHTS_LOG_RESPONSE_ENABLED`; off by default, unlike the Python server).
    pub log_response: bool,
    /// Extra trusted CA certificates for the exporters' HTTPS (`AML_SCORER_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

impl TraceSettings {
    /// True when at least one exporter is on: only then does a request get a span.
    pub fn is_on(&self) -> bool {
        self.app_insights.is_some() || self.otlp.is_some()
    }
}

/// Application Insights: the connection string (secret) and where it sends (not secret).
#[derive(Debug, Clone)]
pub struct AppInsights {
    pub connection_string: Secret,
    /// The ingestion endpoint the connection string names, for the start-up line.
    pub ingestion: Url,
    /// Which setting turned it on, for the start-up line.
    pub chosen_by: &'static str,
}

/// Why a connection string or key cannot be used. The messages never quote the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppInsightsError {
    #[error("has no InstrumentationKey")]
    NoKey,
    #[error("IngestionEndpoint is not an http(s) URL")]
    BadEndpoint,
}

impl AppInsights {
    /// From `APPLICATIONINSIGHTS_CONNECTION_STRING`: `Key=value` pairs separated by `;`, keys
    /// case-insensitive, as the Azure Monitor SDKs read them.
    pub fn from_connection_string(value: &str) -> Result<Self, AppInsightsError> {
        let field = |wanted: &str| {
            value.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                (key.trim().eq_ignore_ascii_case(wanted)).then(|| value.trim())
            })
        };
        if field("InstrumentationKey").is_none_or(str::is_empty) {
            return Err(AppInsightsError::NoKey);
        }
        let ingestion = match (field("IngestionEndpoint"), field("EndpointSuffix")) {
            (Some(endpoint), _) => endpoint.to_owned(),
            (None, Some(suffix)) => format!("https://dc.{suffix}/"),
            (None, None) => GLOBAL_INGESTION.to_owned(),
        };
        let mut ingestion = Url::parse(&ingestion)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or(AppInsightsError::BadEndpoint)?;
        // The exporter (as Azure Monitor's own SDKs) sends over https whatever the string says:
        // the payload carries the key. Say so where it is logged.
        let _ = ingestion.set_scheme("https");
        Ok(AppInsights {
            connection_string: Secret::new(value.to_owned()),
            ingestion,
            chosen_by: "APPLICATIONINSIGHTS_CONNECTION_STRING",
        })
    }

    /// From `AML_APP_INSIGHTS_KEY` (with `AML_APP_INSIGHTS_ENABLED=true`): the global endpoint.
    pub fn from_key(key: &str) -> Result<Self, AppInsightsError> {
        if key.contains([';', '=']) {
            // A connection string in the key's variable: read it as one.
            return Self::from_connection_string(key).map(|found| AppInsights {
                chosen_by: "AML_APP_INSIGHTS_KEY",
                ..found
            });
        }
        let mut found = Self::from_connection_string(&format!("InstrumentationKey={key}"))?;
        found.chosen_by = "AML_APP_INSIGHTS_KEY";
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_string_gives_its_ingestion_endpoint() {
        let found = AppInsights::from_connection_string(
            "InstrumentationKey=k-1;IngestionEndpoint=http://127.0.0.1:9/;LiveEndpoint=http://x/",
        )
        .unwrap();
        assert_eq!(
            found.ingestion.as_str(),
            "https://127.0.0.1:9/",
            "always over TLS"
        );
    }

    #[test]
    fn without_an_endpoint_the_suffix_or_the_global_endpoint_is_used() {
        let suffixed = AppInsights::from_connection_string(
            "instrumentationkey=k;EndpointSuffix=applicationinsights.azure.cn",
        )
        .unwrap();
        assert_eq!(
            suffixed.ingestion.as_str(),
            "https://dc.applicationinsights.azure.cn/"
        );
        let bare = AppInsights::from_key("00000000-0000-0000-0000-000000000000").unwrap();
        assert_eq!(bare.ingestion.as_str(), GLOBAL_INGESTION);
        assert_eq!(bare.chosen_by, "AML_APP_INSIGHTS_KEY");
    }

    #[test]
    fn a_string_without_a_key_or_with_a_bad_endpoint_is_refused_without_quoting_it() {
        assert_eq!(
            AppInsights::from_connection_string("IngestionEndpoint=http://a/").unwrap_err(),
            AppInsightsError::NoKey
        );
        let error =
            AppInsights::from_connection_string("InstrumentationKey=s3cret;IngestionEndpoint=ftp://a/")
                .unwrap_err();
        assert_eq!(error, AppInsightsError::BadEndpoint);
        assert!(!error.to_string().contains("s3cret"));
    }

    #[test]
    fn the_debug_form_never_shows_the_key() {
        let found = AppInsights::from_connection_string("InstrumentationKey=s3cret").unwrap();
        assert!(!format!("{found:?}").contains("s3cret"));
    }
}
