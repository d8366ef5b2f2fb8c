//! Azure access for `init`: the managed-identity credential, the model download and the blob
//! read, and the settings they take. Returns plain values and its own errors; nothing here knows
//! HTTP serving.

mod blob;
mod identity;
mod model_blob;
mod retry;
mod settings;
mod source;
mod token;

use std::{path::Path, sync::Arc};

use url::Url;

pub use blob::{read_blob, BlobError, BlobSetting, Located};
pub use identity::{resource_for_scope, IdentityError, IdentitySource, ManagedIdentityCredential};
pub use model_blob::{download, DownloadError};
pub use retry::RetryPolicy;
pub use settings::{BlobTarget, IdentityEnv, IdentitySettings, ModelBlob, StartupBlob};

use crate::telemetry::Metrics;

/// The resource `init` asks a token for, as Azure's walkthrough does.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com/";

/// A failure of the identity or blob step of `init`.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The model's download, or its checks.
    #[error(transparent)]
    Download(DownloadError),
}

impl StartupError {
    /// The `init` step this failure belongs to, for the log line.
    pub fn step(&self) -> &'static str {
        match self {
            StartupError::Setup(_) | StartupError::Identity(_) => "identity",
            StartupError::Blob(_) => "blob",
            StartupError::Download(_) => "download",
        }
    }
}

/// Picks the identity source from the container's environment, first match wins.
pub fn identity_source(env: &IdentityEnv) -> Result<IdentitySource, StartupError> {
    let parse = |name: &str, value: &str| {
        Url::parse(value).map_err(|e| StartupError::Setup(format!("{name} is not a URL ({e})")))
    };
    if let (Some(endpoint), Some(secret)) = (&env.msi_endpoint, &env.msi_secret) {
        let endpoint = parse("MSI_ENDPOINT", endpoint)?;
        return Ok(IdentitySource::AzureMl {
            endpoint,
            secret: secret.clone(),
        });
    }
    if let (Some(endpoint), Some(header)) = (&env.identity_endpoint, &env.identity_header) {
        let endpoint = parse("IDENTITY_ENDPOINT", endpoint)?;
        return Ok(IdentitySource::AppService {
            endpoint,
            header: header.clone(),
        });
    }
    let host = env.imds_host.as_deref().unwrap_or("http://169.254.169.254");
    Ok(IdentitySource::Imds {
        host: parse("AZURE_POD_IDENTITY_AUTHORITY_HOST", host)?,
    })
}

/// One HTTP client for outbound calls: the system roots plus the configured extra CA file, no
/// automatic decompression (the blob client's ranged downloads need raw bytes), no redirects.
pub fn http_client(ca_file: Option<&Path>, use_proxy: bool) -> Result<reqwest::Client, StartupError> {
    let mut builder = reqwest::Client::builder()
        .no_gzip()
        .no_deflate()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5));
    if !use_proxy {
        // The identity endpoint is local to the container or node; a proxy must not see it.
        builder = builder.no_proxy();
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| StartupError::Setup(format!("cannot read {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| StartupError::Setup(format!("{} is not a PEM bundle: {e}", path.display())))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| StartupError::Setup(format!("cannot build the HTTP client: {e}")))
}

/// The managed identity with a token in hand, and the client for Blob Storage: what the model
/// download and the start-up blob share.
pub struct Session {
    credential: Arc<ManagedIdentityCredential>,
    http: reqwest::Client,
    /// Which identity, in words, for error messages.
    identity: String,
}

impl Session {
    /// The identity step of `init`: picks the identity source and gets a first token (cached
    /// for the steps after it).
    pub async fn connect(settings: &IdentitySettings, metrics: &Metrics) -> Result<Session, StartupError> {
        let source = identity_source(&settings.env)?;
        let identity = match &settings.client_id {
            Some(id) => format!("user-assigned managed identity (client id {id})"),
            None => "system-assigned managed identity of the endpoint".to_owned(),
        };
        tracing::info!(step = "identity", source = source.kind(), host = %source.host(), identity = %identity, "requesting a managed-identity token");
        let credential = Arc::new(ManagedIdentityCredential::new(
            source,
            settings.client_id.clone(),
            http_client(None, false)?,
            RetryPolicy::with_budget(settings.retry_budget),
        ));
        let started = std::time::Instant::now();
        credential.token_for(STORAGE_RESOURCE).await?;
        metrics.init_step("identity", started.elapsed());
        tracing::info!(
            step = "identity",
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "identity step done"
        );
        Ok(Session {
            credential,
            http: http_client(settings.ca_file.as_deref(), true)?,
            identity,
        })
    }

    /// The blob step of `init`: reads the start-up blob and logs it, as the walkthrough does.
    pub async fn read_startup_blob(
        &self,
        target: &BlobTarget,
        metrics: &Metrics,
    ) -> Result<(), StartupError> {
        let started = std::time::Instant::now();
        let bytes = read_blob(self.blob_client(target, BlobSetting::StartupBlob)?).await?;
        metrics.init_step("blob", started.elapsed());
        tracing::info!(step = "blob", size = bytes.len(), account = %target.account, container = %target.container, blob = %target.blob, "Blob contains: {}", preview(&bytes));
        Ok(())
    }

    /// The download step of `init`: the model's bytes, checked against its limits and digest.
    pub async fn download_model(
        &self,
        model: &ModelBlob,
        metrics: &Metrics,
    ) -> Result<Vec<u8>, StartupError> {
        let started = std::time::Instant::now();
        let located = self
            .blob_client(&model.target, BlobSetting::ModelUrl)
            .map_err(|e| StartupError::Download(e.into()))?;
        let bytes = download(model, &located).await.map_err(StartupError::Download)?;
        metrics.init_step("download", started.elapsed());
        Ok(bytes)
    }

    fn blob_client(&self, target: &BlobTarget, setting: BlobSetting) -> Result<Located, BlobError> {
        blob::client(
            target,
            self.credential.clone(),
            self.http.clone(),
            &self.identity,
            setting,
        )
    }
}

/// The first bytes of the blob, escaped so that a binary file cannot garble the log.
pub fn preview(bytes: &[u8]) -> String {
    const LIMIT: usize = 100;
    let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)])
        .escape_debug()
        .collect();
    if bytes.len() > LIMIT {
        format!("{text}... ({} bytes)", bytes.len())
    } else {
        text
    }
}
