//! `aml-scorer`: a scoring server for Azure Machine Learning online endpoints.
#![warn(clippy::undocumented_unsafe_blocks)]

/// HTTP routes, handlers, request ids and the error type clients see.
pub mod api;
/// Managed-identity tokens and the Blob Storage read of `init`.
pub mod azure;
/// The container's limits, as its control group states them.
pub mod cgroup;
/// Every setting: flags, environment fallbacks, validation.
pub mod config;
/// The `init` sequence: model, identity, blob, each a named, timed step.
pub mod init;
/// Giving freed memory back to the system after large requests.
pub mod memory;
/// The model: ONNX loading with tract, JSON input parsing, JSON output writing.
pub mod model;
/// `--probe`: the readiness check a shell-less image runs as its health check.
pub mod probe;
/// Accepting and serving connections, with head timeouts and a connection cap.
pub mod serve;
/// SIGTERM / SIGINT handling.
pub mod shutdown;
/// Binding, serving and draining: the application as tests and `main` run it.
pub mod startup;
/// Log setup (JSON or text) and the server's version string.
pub mod telemetry;
