//! Azure's settings, as `config` builds them: where a blob lives, the model blob's checks, and
//! the managed identity that reads them.

use std::{path::PathBuf, time::Duration};

use azure_core::credentials::Secret;
use url::Url;

/// The managed identity and how to reach Blob Storage with it.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    pub env: IdentityEnv,
    /// A user-assigned identity's client id; `None` is the system-assigned identity.
    pub client_id: Option<String>,
    /// Extra trusted CA certificates (PEM) for Blob Storage.
    pub ca_file: Option<PathBuf>,
    /// How long, in total, to keep retrying the identity endpoint.
    pub retry_budget: Duration,
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

/// The start-up blob of the walkthrough (`STORAGE_ACCOUNT_NAME`, `STORAGE_CONTAINER_NAME`,
/// `FILE_NAME`), and the identity that reads it.
#[derive(Debug, Clone)]
pub struct StartupBlob {
    pub target: BlobTarget,
    pub identity: IdentitySettings,
}

/// The model's blob and the checks its download must pass.
#[derive(Debug, Clone)]
pub struct ModelBlob {
    pub target: BlobTarget,
    /// The SHA-256 the download must have.
    pub sha256: Option<[u8; 32]>,
    pub max_bytes: u64,
}

/// Where a blob lives.
#[derive(Debug, Clone)]
pub struct BlobTarget {
    pub account: String,
    pub container: String,
    pub blob: String,
    /// Service endpoint without a trailing slash.
    pub endpoint: Url,
}

impl BlobTarget {
    /// The blob's URL: the endpoint, the container, then the blob's path segments.
    pub fn url(&self) -> Option<Url> {
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push(&self.container)
            .extend(self.blob.split('/'));
        Some(url)
    }

    /// The blob's file name without `.onnx`.
    pub fn stem(&self) -> Option<&str> {
        let name = self.blob.rsplit('/').next()?;
        Some(name.strip_suffix(".onnx").unwrap_or(name))
    }
}

impl std::fmt::Display for BlobTarget {
    /// The blob as failure lines name it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{} at {}",
            self.account, self.container, self.blob, self.endpoint
        )
    }
}
