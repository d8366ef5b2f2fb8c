//! The integration tests, as one binary: the real `aml-scorer` process on 127.0.0.1 port 0,
//! driven over HTTP, with real Azurite, the local identity endpoint and a container engine.

mod common;

mod access_log;
mod bad_input;
mod collection;
mod container;
mod grpc;
mod hf_image;
mod hf_pairs;
mod hf_text;
mod hostile;
mod http_fuzz;
mod identity;
mod init;
mod lifecycle;
mod operations;
mod pipelines;
mod protocols;
mod readme;
mod scoring;
mod tabular;
mod tensors;
mod text;
mod v2_binary;
mod zoo;
