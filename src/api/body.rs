//! Reading a request body whole, within the body limit.

use axum::body::{Body, Bytes};
use http_body_util::LengthLimitError;

use super::ApiError;

/// Reads the whole body, refusing more than `limit` bytes: at once when the declared length is
/// over it (nothing is read), else as soon as the bytes read pass it.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = http_body::Body::size_hint(&body).upper();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let over_limit = std::error::Error::source(&error)
            .is_some_and(|cause| cause.downcast_ref::<LengthLimitError>().is_some());
        if over_limit {
            ApiError::TooLarge { limit }
        } else {
            ApiError::UnreadableBody(error)
        }
    })
}
