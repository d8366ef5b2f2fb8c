#!/bin/sh
# Regenerates src/grpc/generated/ from proto/grpc_predict_v2.proto. The generated code is
# committed, so that `cargo build` needs neither `protoc` nor the generator's dependencies: 18
# crates the server does not otherwise build (protox and its parser, prost-reflect, logos and
# miette with their derive macros, petgraph, prost-build, tonic-build, prettyplease), compiled on
# every clean build and CI cache miss for a file that changes once. Run this after changing the
# .proto (the generator's own Cargo.lock pins its versions).
set -eu
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="$PWD/target/grpc-codegen" cargo run --quiet --manifest-path tools/grpc-codegen/Cargo.toml
rustfmt --edition 2021 src/grpc/generated/*.rs
echo "regenerated src/grpc/generated/ from proto/grpc_predict_v2.proto"
