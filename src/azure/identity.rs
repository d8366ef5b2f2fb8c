//! Managed-identity credential for Azure ML containers: asks the container's identity endpoint
//! (Azure ML, App Service style, or IMDS) for a token, retries what is worth retrying, and caches
//! the token until 5 minutes before it expires. Implements `azure_core`'s `TokenCredential`.

use std::{collections::HashMap, time::Duration};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::retry::{fetch_with_retries, Attempt, RetryPolicy};
pub use super::source::IdentitySource;
use super::token::{expiry, TokenResponse};

/// Refresh this long before a token expires.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// Why no token could be had; messages name the endpoint and what to check, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the {source_kind} at {host} refused the token request with HTTP {status}{client}: {detail}")]
    Refused {
        source_kind: &'static str,
        host: String,
        status: u16,
        client: String,
        detail: String,
    },
    #[error("the {source_kind} at {host} gave no token after {attempts} attempts in {elapsed_ms} ms (last: {last})")]
    Exhausted {
        source_kind: &'static str,
        host: String,
        attempts: u32,
        elapsed_ms: u128,
        last: String,
    },
    #[error("the {source_kind} at {host} answered without a usable token: {detail}")]
    BadAnswer {
        source_kind: &'static str,
        host: String,
        detail: String,
    },
}

/// The credential. `Debug` shows the source kind, host and client id, never a secret.
pub struct ManagedIdentityCredential {
    source: IdentitySource,
    client_id: Option<String>,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: Mutex<HashMap<String, AccessToken>>,
}

impl std::fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedIdentityCredential")
            .field("source", &self.source.kind())
            .field("host", &self.source.host())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ManagedIdentityCredential {
    pub fn new(
        source: IdentitySource,
        client_id: Option<String>,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Self {
        ManagedIdentityCredential {
            source,
            client_id,
            http,
            retry,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn source(&self) -> &IdentitySource {
        &self.source
    }

    /// A token for `resource` (e.g. `https://storage.azure.com/`), from the cache while it has
    /// more than 5 minutes left, else from the endpoint.
    pub async fn token_for(&self, resource: &str) -> Result<AccessToken, IdentityError> {
        let mut cache = self.cache.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(token) = cache.get(resource).filter(|t| t.expires_on - REFRESH_AHEAD > now) {
            return Ok(token.clone());
        }
        let token = self.fetch(resource).await?;
        tracing::info!(
            source = self.source.kind(),
            host = %self.source.host(),
            expires_in_s = (token.expires_on - OffsetDateTime::now_utc()).whole_seconds(),
            "managed-identity token acquired"
        );
        cache.insert(resource.to_owned(), token.clone());
        Ok(token)
    }

    async fn fetch(&self, resource: &str) -> Result<AccessToken, IdentityError> {
        let (kind, host) = (self.source.kind(), self.source.host());
        let outcome = fetch_with_retries(&self.retry, || async {
            let request = self
                .source
                .request(&self.http, resource, self.client_id.as_deref());
            Attempt::from_result(request.send().await).await
        })
        .await;
        let body = match outcome {
            Ok(body) => body,
            Err(super::retry::Failure::Refused { status, body }) => {
                return Err(IdentityError::Refused {
                    source_kind: kind,
                    host,
                    status,
                    client: self.client_id.as_ref().map_or_else(
                        || " for the system-assigned identity".to_owned(),
                        |id| format!(" for client id {id} (check UAI_CLIENT_ID: is that identity assigned to the endpoint?)"),
                    ),
                    detail: error_detail(&body),
                })
            }
            Err(super::retry::Failure::Exhausted { attempts, elapsed, last }) => {
                return Err(IdentityError::Exhausted { source_kind: kind, host, attempts, elapsed_ms: elapsed.as_millis(), last })
            }
        };
        let bad = |detail: &str| IdentityError::BadAnswer {
            source_kind: kind,
            host: host.clone(),
            detail: detail.to_owned(),
        };
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| bad("the answer is not JSON"))?;
        let expires_on = expiry(&parsed, OffsetDateTime::now_utc())
            .ok_or_else(|| bad("no readable expires_on or expires_in"))?;
        let token = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no access_token"))?;
        Ok(AccessToken::new(token, expires_on))
    }
}

/// The `error` and `error_description` of an OAuth-style error answer (never the whole body,
/// which is not ours to echo).
fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: Option<serde_json::Value>,
        error_description: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => {
            let code = e
                .error
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            let parts: Vec<String> = [code, e.error_description.or(e.message)]
                .into_iter()
                .flatten()
                .collect();
            if parts.is_empty() {
                "no error description".to_owned()
            } else {
                parts.join(": ")
            }
        }
        Err(_) => "no error description".to_owned(),
    }
}

/// The resource for a scope: `https://storage.azure.com/.default` -> `https://storage.azure.com/`.
pub fn resource_for_scope(scope: &str) -> &str {
    scope.strip_suffix(".default").unwrap_or(scope)
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scope = scopes
            .first()
            .copied()
            .unwrap_or("https://storage.azure.com/.default");
        self.token_for(resource_for_scope(scope))
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Credential, e))
    }
}
