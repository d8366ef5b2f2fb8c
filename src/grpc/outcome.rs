//! What a call's handler reports about it (its HTTP-equivalent status, rows, failure) for the
//! metrics and the access log, and the one error table turned into gRPC statuses.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use tonic::{Code, Status};

use crate::api::ApiError;
use crate::telemetry::ErrorChain;

/// The gRPC code of an error of the table, by its HTTP status.
fn code(status: StatusCode) -> Code {
    match status.as_u16() {
        400 | 405 | 431 => Code::InvalidArgument,
        404 => Code::NotFound,
        408 | 504 => Code::DeadlineExceeded,
        413 | 429 => Code::ResourceExhausted,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

/// What a handler reports about its call, for the metrics and the access log.
#[derive(Clone, Default)]
pub(super) struct Outcome(Arc<Mutex<Option<Recorded>>>);

pub(super) struct Recorded {
    pub status: StatusCode,
    pub rows: Option<usize>,
    /// The client's message, or an internal error's whole cause (never sent).
    pub failure: Option<String>,
}

impl Outcome {
    pub(super) fn set(&self, recorded: Recorded) {
        *self.0.lock().expect("an outcome is set under no other lock") = Some(recorded);
    }

    pub(super) fn scored(&self, rows: usize) {
        self.set(Recorded {
            status: StatusCode::OK,
            rows: Some(rows),
            failure: None,
        });
    }

    /// Records `error` and gives the status the client gets: the code of its HTTP status and
    /// the HTTP answer's message (the generic one for an internal error).
    pub(super) fn failed(&self, error: &ApiError) -> Status {
        let (status, message) = error.answer();
        let failure = if status == StatusCode::INTERNAL_SERVER_ERROR {
            ErrorChain(error).to_string()
        } else {
            message.clone()
        };
        self.set(Recorded {
            status,
            rows: None,
            failure: Some(failure),
        });
        Status::new(code(status), message)
    }

    pub(super) fn take(&self) -> Option<Recorded> {
        self.0
            .lock()
            .expect("an outcome is set under no other lock")
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_status_has_its_grpc_code() {
        let cases = [
            (400, Code::InvalidArgument),
            (404, Code::NotFound),
            (413, Code::ResourceExhausted),
            (429, Code::ResourceExhausted),
            (503, Code::Unavailable),
            (504, Code::DeadlineExceeded),
            (500, Code::Internal),
        ];
        for (status, expected) in cases {
            assert_eq!(code(StatusCode::from_u16(status).unwrap()), expected, "{status}");
        }
    }
}
