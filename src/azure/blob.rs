//! Reads the start-up blob with the official Azure SDK Blob client, authenticated by our
//! managed-identity credential, and explains failures in terms a user can act on.

use std::sync::Arc;

use azure_core::{
    error::ErrorKind,
    http::{ClientOptions, RetryOptions, Transport},
};
use azure_storage_blob::{BlobClient, BlobClientOptions};

use super::{BlobTarget, ManagedIdentityCredential};

/// Why the blob could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("cannot build the blob URL from {endpoint}: {cause}")]
    Url { endpoint: String, cause: String },
    #[error("Blob Storage answered HTTP {status} ({code}): {advice}")]
    Service {
        status: u16,
        code: String,
        advice: String,
    },
    #[error("cannot reach Blob Storage at {endpoint}: {cause}")]
    Unreachable { endpoint: String, cause: String },
}

/// Which setting named the blob, for the advice in errors.
#[derive(Debug, Clone, Copy)]
pub enum BlobSetting {
    /// `STORAGE_ACCOUNT_NAME`, `STORAGE_CONTAINER_NAME`, `FILE_NAME`.
    StartupBlob,
    /// `AML_SCORER_MODEL_URL`.
    ModelUrl,
}

impl BlobSetting {
    fn container(self) -> &'static str {
        match self {
            BlobSetting::StartupBlob => "STORAGE_CONTAINER_NAME",
            BlobSetting::ModelUrl => "AML_SCORER_MODEL_URL",
        }
    }

    fn blob(self) -> &'static str {
        match self {
            BlobSetting::StartupBlob => "FILE_NAME",
            BlobSetting::ModelUrl => "AML_SCORER_MODEL_URL",
        }
    }
}

/// A blob client, with what its errors need to say what to fix.
pub struct Located {
    pub client: BlobClient,
    pub target: BlobTarget,
    identity: String,
    setting: BlobSetting,
}

/// The blob client for `target`, authenticated by `credential`.
pub fn client(
    target: &BlobTarget,
    credential: Arc<ManagedIdentityCredential>,
    http: reqwest::Client,
    identity: &str,
    setting: BlobSetting,
) -> Result<Located, BlobError> {
    let url = target.url().ok_or_else(|| BlobError::Url {
        endpoint: target.endpoint.to_string(),
        cause: "not a base URL".into(),
    })?;
    let options = BlobClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            // A few quick retries for transient faults; a wrong role or name is not transient.
            retry: RetryOptions::exponential(azure_core::http::ExponentialRetryOptions {
                max_retries: 3,
                initial_delay: azure_core::time::Duration::milliseconds(200),
                max_delay: azure_core::time::Duration::seconds(2),
                max_total_elapsed: azure_core::time::Duration::seconds(15),
            }),
            ..ClientOptions::default()
        },
        ..BlobClientOptions::default()
    };
    let client = BlobClient::new(url, Some(credential), Some(options)).map_err(|e| BlobError::Url {
        endpoint: target.endpoint.to_string(),
        cause: e.to_string(),
    })?;
    Ok(Located {
        client,
        target: target.clone(),
        identity: identity.to_owned(),
        setting,
    })
}

/// Downloads the whole blob.
pub async fn read_blob(located: Located) -> Result<Vec<u8>, BlobError> {
    let explain = |error| located.explain(error);
    let download = located.client.download(None).await.map_err(explain)?;
    let bytes = download.body.collect().await.map_err(explain)?;
    Ok(bytes.to_vec())
}

impl Located {
    /// A failure in terms a user can act on: the role to assign, the name to check.
    pub fn explain(&self, error: azure_core::Error) -> BlobError {
        explain(error, &self.target, &self.identity, self.setting)
    }
}

fn explain(error: azure_core::Error, target: &BlobTarget, identity: &str, setting: BlobSetting) -> BlobError {
    let (account, container, blob) = (&target.account, &target.container, &target.blob);
    match error.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let status = u16::from(*status);
            let code = error_code.clone().unwrap_or_else(|| "no error code".to_owned());
            let advice = match (status, code.as_str()) {
                (401, _) | (403, "AuthenticationFailed" | "InvalidAuthenticationInfo") => format!(
                    "storage account {account} rejected the managed-identity token (expired, or issued \
                     for another audience or tenant); check the identity endpoint's answer"
                ),
                (403, _) => format!(
                    "the {identity} may not read blobs in storage account {account}: assign it the \
                     'Storage Blob Data Reader' role on the account (or container {container}), then restart"
                ),
                (404, "ContainerNotFound") => format!(
                    "container {container} does not exist in storage account {account} (check {})",
                    setting.container()
                ),
                (404, "BlobNotFound") => format!(
                    "blob {blob} does not exist in container {container} of account {account} (check {})",
                    setting.blob()
                ),
                (404, _) => format!(
                    "{account}/{container}/{blob} was not found (check {})",
                    setting.blob()
                ),
                _ => format!("reading {account}/{container}/{blob} failed"),
            };
            BlobError::Service { status, code, advice }
        }
        _ => BlobError::Unreachable {
            endpoint: target.endpoint.to_string(),
            cause: error_chain(&error),
        },
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::StatusCode;

    fn refused(status: StatusCode, code: &str) -> azure_core::Error {
        let kind = ErrorKind::HttpResponse {
            status,
            error_code: Some(code.to_owned()),
            raw_response: None,
        };
        azure_core::Error::with_message(kind, "refused")
    }

    #[test]
    fn a_403_for_a_missing_role_names_the_role_the_account_and_the_identity() {
        let target = BlobTarget {
            account: "acct".into(),
            container: "models".into(),
            blob: "m.onnx".into(),
            endpoint: url::Url::parse("https://acct.blob.core.windows.net").unwrap(),
        };
        let identity = "system-assigned managed identity of the endpoint";
        let error = explain(
            refused(StatusCode::Forbidden, "AuthorizationPermissionMismatch"),
            &target,
            identity,
            BlobSetting::ModelUrl,
        )
        .to_string();
        for needed in ["'Storage Blob Data Reader'", "storage account acct", identity] {
            assert!(error.contains(needed), "{needed}: {error}");
        }
        let missing = explain(
            refused(StatusCode::NotFound, "BlobNotFound"),
            &target,
            identity,
            BlobSetting::ModelUrl,
        );
        assert!(
            missing.to_string().contains("check AML_SCORER_MODEL_URL"),
            "{missing}"
        );
    }
}
