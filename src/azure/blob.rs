//! Reads the start-up blob with the official Azure SDK Blob client, authenticated by our
//! managed-identity credential, and explains failures in terms a user can act on.

use std::sync::Arc;

use azure_core::{
    error::ErrorKind,
    http::{ClientOptions, RetryOptions, Transport},
};
use azure_storage_blob::{BlobClient, BlobClientOptions};

use crate::config::BlobTarget;

use super::ManagedIdentityCredential;

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

/// Downloads the whole blob.
pub async fn read_blob(
    target: &BlobTarget,
    credential: Arc<ManagedIdentityCredential>,
    http: reqwest::Client,
    identity: &str,
) -> Result<Vec<u8>, BlobError> {
    let mut url = target.endpoint.clone();
    url.path_segments_mut()
        .map_err(|()| BlobError::Url {
            endpoint: target.endpoint.to_string(),
            cause: "not a base URL".into(),
        })?
        .push(&target.container)
        .extend(target.blob.split('/'));
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
    let explain = |error: azure_core::Error| explain(error, target, identity);
    let download = client.download(None).await.map_err(explain)?;
    let bytes = download.body.collect().await.map_err(explain)?;
    Ok(bytes.to_vec())
}

fn explain(error: azure_core::Error, target: &BlobTarget, identity: &str) -> BlobError {
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
                (404, "ContainerNotFound") => {
                    format!("container {container} does not exist in storage account {account} (check STORAGE_CONTAINER_NAME)")
                }
                (404, "BlobNotFound") => {
                    format!("blob {blob} does not exist in container {container} of account {account} (check FILE_NAME)")
                }
                (404, _) => format!("{account}/{container}/{blob} was not found"),
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
