//! `aml-scorer`: a scoring server for Azure Machine Learning online endpoints.
#![warn(clippy::undocumented_unsafe_blocks)]

/// HTTP: the router, handlers (`/score`, KServe V2, health, metrics, OpenAPI), the middleware
/// (request ids, metrics, access log, request spans, CORS), the in-flight memory budget and the
/// errors clients see.
pub mod api;
/// Managed-identity tokens, the model download and the start-up blob read of `init`.
pub mod azure;
/// The container's limits, as its control group states them.
pub mod cgroup;
/// Model data collection for Azure ML model monitoring: sampled requests' inputs and outputs
/// as JSON records to the collector sidecar, off the request path.
pub mod collect;
/// Every setting: the flags with their environment fallbacks, validated into each part's own
/// settings.
pub mod config;
/// gRPC: KServe V2's `inference.GRPCInferenceService`, on the same scorer, limits and metrics as
/// HTTP.
pub mod grpc;
/// Hugging Face's files beside a model: labels and score rules (`config.json`), for the image and
/// text pre- and postprocessing; images into the model's tensor (`preprocessor_config.json`).
pub mod hf;
/// The `init` sequence: identity and download (for a model blob), model, start-up blob, each a
/// named, timed step.
pub mod init;
/// Giving freed memory back to the system after large requests.
pub mod memory;
/// The model: ONNX loading with tract (and the operators tract lacks), request parsing, output
/// writing, and the `Scorer` that runs requests inline, on blocking threads or in batches.
pub mod model;
/// `--probe`: the readiness check a shell-less image runs as its health check.
pub mod probe;
/// The accept loop: HTTP/1.1 connections with head, idle and send deadlines, h2c connections for
/// gRPC with keep-alive, idle and stall bounds, and one connection cap for both listeners.
pub mod serve;
/// SIGTERM / SIGINT handling.
pub mod shutdown;
/// Binding, serving and draining: the application as tests and `main` run it.
pub mod startup;
/// Logs (JSON or text, access lines buffered off the request path), Prometheus metrics, request
/// telemetry to Application Insights and OTLP (when configured), and the server's version string.
pub mod telemetry;
