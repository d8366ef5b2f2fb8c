//! Writes the Rust code of `proto/grpc_predict_v2.proto` into `src/grpc/generated/`, compiled by
//! protox (no `protoc`), in two files:
//! - `messages.rs`: every message, raw tensor contents as `Bytes` (decoded without a copy);
//! - `service.rs`: the gRPC server, its messages taken from `messages.rs`, except the inference
//!   request, which the server receives as its undecoded bytes (`crate::grpc::InferBody`) so
//!   that the scorer decodes it where it decodes every other body: inline when small, on a
//!   blocking thread when large, within the scoring timeout.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto = root.join("proto");
    let out = root.join("src/grpc/generated");
    let scratch = std::env::temp_dir().join(format!("grpc-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let descriptors = protox::compile([proto.join("grpc_predict_v2.proto")], [&proto])?;
    let raw = [
        ".inference.ModelInferRequest.raw_input_contents",
        ".inference.ModelInferResponse.raw_output_contents",
    ];
    for (file, server) in [("messages.rs", false), ("service.rs", true)] {
        let dir = scratch.join(file);
        std::fs::create_dir_all(&dir)?;
        let mut builder = tonic_prost_build::configure()
            .build_server(server)
            .build_client(false)
            .build_transport(false)
            .out_dir(&dir);
        for path in raw {
            builder = builder.bytes(path);
        }
        if server {
            builder = builder
                .extern_path(".inference", "crate::grpc::messages")
                .extern_path(".inference.ModelInferRequest", "crate::grpc::InferBody");
        }
        builder.compile_fds(descriptors.clone())?;
        std::fs::copy(dir.join("inference.rs"), out.join(file))?;
    }
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}
