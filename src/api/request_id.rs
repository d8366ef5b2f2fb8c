//! Request ids with the Azure ML inference server's rules, and the server-version header.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::ApiError;
use crate::telemetry::SERVER_VERSION;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MS_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const MS_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const SERVER_VERSION_HEADER: HeaderName = HeaderName::from_static("x-ms-server-version");
/// The W3C trace context header, read and answered when request telemetry is on.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The headers a browser's script may read on a cross-origin answer (CORS).
pub const EXPOSED_HEADERS: [HeaderName; 4] = [MS_REQUEST_ID, REQUEST_ID, MS_CLIENT_REQUEST_ID, TRACEPARENT];
/// Longer ids are refused with 431, as the Python server does.
const MAX_ID_CHARS: usize = 100;

/// The three ids of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: HeaderValue,
    pub ms_request_id: HeaderValue,
    pub client_request_id: HeaderValue,
}

/// A request's `x-request-id` (the client's or a new UUID), in the request's extensions for
/// handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text (a header value that is not visible ASCII, sent by a client, as empty).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Handlers take it as an argument; outside the middleware (never in the router) it is empty.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let id = parts.extensions.get::<RequestId>().cloned();
        Ok(id.unwrap_or(RequestId(HeaderValue::from_static(""))))
    }
}

/// Applies the rules: `x-request-id` is the client's or a new UUID; `x-ms-client-request-id`
/// is the client's, else its legacy `x-ms-request-id`; the answer's `x-ms-request-id` is the
/// client's, else `x-ms-client-request-id`, else `x-request-id`.
pub fn resolve(headers: &HeaderMap) -> Result<RequestIds, ApiError> {
    let incoming = |name: &HeaderName, label: &'static str| match headers.get(name) {
        Some(value) if value.len() > MAX_ID_CHARS => Err(ApiError::HeaderTooLong(label)),
        Some(value) if !value.is_empty() => Ok(Some(value.clone())),
        _ => Ok(None),
    };
    let request = incoming(&REQUEST_ID, "x-request-id")?;
    let ms_request = incoming(&MS_REQUEST_ID, "x-ms-request-id")?;
    let client = incoming(&MS_CLIENT_REQUEST_ID, "x-ms-client-request-id")?;
    let request_id = request.unwrap_or_else(new_request_id);
    let client_request_id = client
        .clone()
        .or_else(|| ms_request.clone())
        .unwrap_or_else(|| request_id.clone());
    let ms_request_id = ms_request.or(client).unwrap_or_else(|| request_id.clone());
    Ok(RequestIds {
        request_id,
        ms_request_id,
        client_request_id,
    })
}

/// A random (version 4) UUID from a thread-local generator: request ids need to be unique, not
/// unpredictable, and asking the kernel for randomness on every request costs a system call.
fn new_request_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

impl RequestIds {
    /// Sets the three ids on an answer.
    pub fn stamp(self, headers: &mut HeaderMap) {
        headers.insert(REQUEST_ID, self.request_id);
        headers.insert(MS_REQUEST_ID, self.ms_request_id);
        headers.insert(MS_CLIENT_REQUEST_ID, self.client_request_id);
    }
}

/// Adds `x-ms-server-version` to an answer.
pub fn stamp_version(headers: &mut HeaderMap) {
    headers.insert(SERVER_VERSION_HEADER, HeaderValue::from_static(SERVER_VERSION));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn no_ids_gives_one_new_uuid_everywhere() {
        let ids = resolve(&HeaderMap::new()).unwrap();
        assert!(uuid::Uuid::parse_str(ids.request_id.to_str().unwrap()).is_ok());
        assert_eq!(ids.ms_request_id, ids.request_id);
        assert_eq!(ids.client_request_id, ids.request_id);
    }

    #[test]
    fn client_request_id_is_echoed_and_becomes_ms_request_id() {
        let ids = resolve(&headers(&[("x-ms-client-request-id", "abc")])).unwrap();
        assert_eq!(ids.client_request_id, "abc");
        assert_eq!(ids.ms_request_id, "abc");
        assert_ne!(ids.request_id, "abc");
    }

    #[test]
    fn legacy_ms_request_id_fills_client_request_id() {
        let ids = resolve(&headers(&[("x-ms-request-id", "legacy"), ("x-request-id", "r")])).unwrap();
        assert_eq!(ids.client_request_id, "legacy");
        assert_eq!(ids.ms_request_id, "legacy");
        assert_eq!(ids.request_id, "r");
    }

    #[test]
    fn ids_longer_than_100_characters_are_refused() {
        let long = "x".repeat(101);
        let error = resolve(&headers(&[("x-request-id", &long)])).unwrap_err();
        assert_eq!(
            error.status(),
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }
}
