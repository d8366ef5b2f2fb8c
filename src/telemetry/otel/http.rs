//! The exporters' HTTP client: the server's own reqwest client, run on the server's runtime.

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// One export request at most this long, answer included: a stalled collector must not hold
/// the exporter (spans queue meanwhile, and past the queue's bound they are dropped, counted).
const EXPORT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a collector (they answer a few bytes of JSON or protobuf).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends the exporters' requests with our reqwest client (no second HTTP or TLS stack). The
/// batching span processor exports from a thread of its own, outside the runtime, so each
/// request is spawned on the runtime and awaited there.
#[derive(Debug, Clone)]
pub struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl RuntimeClient {
    pub fn new(client: reqwest::Client, runtime: tokio::runtime::Handle) -> Self {
        RuntimeClient { client, runtime }
    }
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let exchange = async move {
            let mut answer = client.execute(request).await?;
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(HttpError::from(format!(
                        "the collector's answer is over {MAX_ANSWER_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            let mut response = Response::builder()
                .status(answer.status())
                .body(Bytes::from(body))?;
            *response.headers_mut() = std::mem::take(answer.headers_mut());
            Ok(response)
        };
        let bounded = async move {
            tokio::time::timeout(EXPORT_REQUEST_TIMEOUT, exchange)
                .await
                .map_err(|_| HttpError::from(format!("no answer within {EXPORT_REQUEST_TIMEOUT:?}")))?
        };
        self.runtime.spawn(bounded).await?
    }
}
