#!/bin/sh
# Regenerates src/grpc/generated/ from proto/grpc_predict_v2.proto. The generated code is
# committed, so that `cargo build` needs neither `protoc` nor the generator's dependencies (protox,
# tonic-prost-build: about 60 crates more to build); run this after changing the .proto.
set -eu
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="$PWD/target/grpc-codegen" cargo run --quiet --manifest-path tools/grpc-codegen/Cargo.toml
rustfmt --edition 2021 src/grpc/generated/*.rs
echo "regenerated src/grpc/generated/ from proto/grpc_predict_v2.proto"
