//! The model's download: its size checked before a byte is read, streamed into one buffer sized
//! from it (one copy of the model, which the ONNX parser then reads), hashed on the way, with
//! progress logged every few seconds for large models.

use std::time::{Duration, Instant};

use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{BlobError, Located, ModelBlob};

/// Why the model could not be downloaded, or was refused once it was.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(
        "the model blob is {size} bytes, over the limit of {limit} bytes (AML_SCORER_MAX_MODEL_BYTES): \
         raise the limit if the model is meant to be that large"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "the downloaded model's SHA-256 is {actual}, but AML_SCORER_MODEL_SHA256 says {expected}: \
         the blob is not the model that was pinned (update the blob or the setting)"
    )]
    Digest { expected: String, actual: String },
    #[error("the model blob ended after {received} of its {size} bytes; it changed during the download")]
    Short { received: u64, size: u64 },
}

/// How often a long download logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(3);

/// Downloads the model blob whole.
pub async fn download(model: &ModelBlob, located: &Located) -> Result<Vec<u8>, DownloadError> {
    let explain = |error| DownloadError::Blob(located.explain(error));
    let properties = located.client.get_properties(None).await.map_err(explain)?;
    let size = properties.content_length().map_err(explain)?.unwrap_or(0);
    let limit = model.max_bytes;
    if size > limit {
        return Err(DownloadError::TooLarge { size, limit });
    }
    let target = &located.target;
    tracing::info!(step = "download", bytes = size, account = %target.account, container = %target.container, blob = %target.blob, "downloading the model");
    let started = Instant::now();
    let mut bytes = Vec::with_capacity(size as usize);
    let mut digest = Sha256::new();
    let mut body = located.client.download(None).await.map_err(explain)?.body;
    let mut next_report = started + PROGRESS_EVERY;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(explain)?;
        let received = (bytes.len() + chunk.len()) as u64;
        if received > limit {
            // The blob grew past the limit since its size was read.
            return Err(DownloadError::TooLarge {
                size: received,
                limit,
            });
        }
        digest.update(&chunk);
        bytes.extend_from_slice(&chunk);
        if Instant::now() >= next_report {
            next_report += PROGRESS_EVERY;
            tracing::info!(
                step = "download",
                received,
                bytes = size,
                mb_per_s = rate(received, started),
                "downloading the model"
            );
        }
    }
    let received = bytes.len() as u64;
    if received < size {
        return Err(DownloadError::Short { received, size });
    }
    let actual: [u8; 32] = digest.finalize().into();
    if let Some(expected) = model.sha256 {
        if expected != actual {
            return Err(DownloadError::Digest {
                expected: hex(&expected),
                actual: hex(&actual),
            });
        }
    }
    tracing::info!(
        step = "download",
        bytes = received,
        sha256 = %hex(&actual),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        mb_per_s = rate(received, started),
        "model downloaded"
    );
    Ok(bytes)
}

/// Megabytes per second since `started`, to one decimal.
fn rate(bytes: u64, started: Instant) -> f64 {
    let seconds = started.elapsed().as_secs_f64().max(1e-3);
    (bytes as f64 / 1e6 / seconds * 10.0).round() / 10.0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
