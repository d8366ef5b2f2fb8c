//! gRPC: the Open Inference Protocol's `inference.GRPCInferenceService` (KServe V2 over gRPC,
//! `proto/grpc_predict_v2.proto`), served by the same scorer, state, limits, metrics and access
//! log as HTTP; `serve::serve` runs it on its own listener (`--grpc-port`).

mod body;
mod budget;
mod contents;
mod framing;
mod infer;
mod inflate;
mod observe;
mod outcome;
mod service;

/// The protocol's messages, generated from `proto/grpc_predict_v2.proto` by `scripts/gen-grpc.sh`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod messages {
    include!("generated/messages.rs");
}

/// The generated server: routing, decoding and encoding around `service::Inference`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod server {
    include!("generated/service.rs");
}

use std::time::Duration;

use tonic::codec::CompressionEncoding;

pub use body::InferBody;
pub use observe::Observed;

use crate::api::AppState;

/// The gRPC service over `state`: every call observed (ids, metrics, access log) and bounded by
/// `call_deadline`; messages up to `max_message_bytes` (the HTTP body limit).
pub(crate) fn service(
    state: AppState,
    max_message_bytes: usize,
    call_deadline: Duration,
) -> Observed<server::grpc_inference_service_server::GrpcInferenceServiceServer<service::Inference>> {
    let server = server::grpc_inference_service_server::GrpcInferenceServiceServer::new(
        service::Inference::new(state.clone()),
    )
    // gzip and deflate messages (tritonclient's `compression_algorithm`): accepted, so that tonic
    // takes their `grpc-encoding`, but inflated before tonic reads them, charged to the budget
    // (`inflate.rs`): tonic only ever reads messages not compressed. Answers go uncompressed:
    // gRPC's Python clients advertise deflate and gzip on every call, so compressing whenever
    // accepted would spend CPU on every answer, small ones included.
    .accept_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Deflate)
    // Larger messages are refused from their length prefix, before anything is allocated
    // (`Observed` answers RESOURCE_EXHAUSTED with the HTTP 413's message, as `inflate.rs` does
    // for a message inflating past the limit).
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(usize::MAX);
    Observed::new(server, state, max_message_bytes, call_deadline)
}
