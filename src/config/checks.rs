//! Validation of single settings: each returns a `ConfigError` naming the setting.

use std::path::Path;

use url::Url;

use super::{invalid, ConfigError};
use crate::azure::BlobTarget;

pub(super) fn blob_target(
    account: Option<String>,
    container: Option<String>,
    blob: Option<String>,
    endpoint: Option<Url>,
) -> Result<Option<BlobTarget>, ConfigError> {
    let (account, container, blob) = match (account, container, blob) {
        (None, None, None) => return Ok(None),
        (Some(a), Some(c), Some(b)) => (a, c, b),
        (a, c, b) => {
            let missing: Vec<&str> = [
                (a.is_none(), "STORAGE_ACCOUNT_NAME"),
                (c.is_none(), "STORAGE_CONTAINER_NAME"),
                (b.is_none(), "FILE_NAME"),
            ]
            .into_iter()
            .filter_map(|(is_missing, name)| is_missing.then_some(name))
            .collect();
            return Err(invalid(
                "storage (STORAGE_ACCOUNT_NAME, STORAGE_CONTAINER_NAME, FILE_NAME)",
                format!("set all three or none; missing {}", missing.join(", ")),
            ));
        }
    };
    let endpoint = match endpoint {
        Some(url) => url,
        None => Url::parse(&format!("https://{account}.blob.core.windows.net"))
            .map_err(|e| invalid("--storage-account (STORAGE_ACCOUNT_NAME)", e.to_string()))?,
    };
    if endpoint.scheme() != "https" {
        return Err(invalid(
            "--blob-endpoint (STORAGE_BLOB_ENDPOINT)",
            format!("{endpoint} must use https: bearer tokens are only sent over TLS"),
        ));
    }
    Ok(Some(BlobTarget {
        account,
        container,
        blob,
        endpoint: trim_trailing_slash(endpoint),
    }))
}

/// A trailing slash would make the SDK build `//container` paths.
pub(super) fn trim_trailing_slash(url: Url) -> Url {
    let text = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&text).unwrap_or(url)
}

pub(super) fn check_ca_file(path: &Path) -> Result<(), ConfigError> {
    const SETTING: &str = "--ca-file (AML_SCORER_CA_FILE)";
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(SETTING, format!("cannot read {}: {e}", path.display())))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            SETTING,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(())
}

/// Accepts Azure ML's upper-case level names (`INFO`, `DEBUG`) as well as filter directives.
pub(super) fn log_filter(level: Option<String>) -> Result<String, ConfigError> {
    let raw = level.unwrap_or_else(|| "info".to_owned());
    let filter = match raw.to_ascii_lowercase().as_str() {
        "warning" => "warn".to_owned(),
        "critical" | "fatal" => "error".to_owned(),
        lower @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => lower.to_owned(),
        _ => raw.clone(),
    };
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| invalid("--log-level (AZUREML_LOG_LEVEL)", format!("{raw:?}: {e}")))?;
    Ok(filter)
}
