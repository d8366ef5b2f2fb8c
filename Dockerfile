# aml-scorer image: a static binary, CA roots and the bundled model on `scratch`.
#
#   docker build -t aml-scorer .                 # builds the binary from source (needs a registry)
#   scripts/build-image.sh                       # no registry: takes a static binary built on the host
#                                                # (docker/podman build --build-arg BINARY=prebuilt)

# Where the binary comes from: `build` (compile here) or `prebuilt` (dist/ in the build context).
ARG BINARY=build
ARG RUST_IMAGE=rust:1.95-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
ENV CARGO_TARGET=x86_64-unknown-linux-gnu
# Dependencies first, in their own layer: it is rebuilt only when the manifests change.
COPY Cargo.toml Cargo.lock ./
# tract-linalg, patched (Cargo.toml's [patch.crates-io]).
COPY vendor vendor
COPY tools/local-identity/Cargo.toml tools/local-identity/Cargo.toml
RUN mkdir -p src tools/local-identity/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > tools/local-identity/src/main.rs && touch tools/local-identity/src/lib.rs \
    && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$CARGO_TARGET" -p aml-scorer \
    && rm -rf src tools/local-identity/src
COPY src src
COPY tools/local-identity/src tools/local-identity/src
RUN touch src/main.rs src/lib.rs tools/local-identity/src/main.rs tools/local-identity/src/lib.rs \
    && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$CARGO_TARGET" --bins \
    && mkdir /out \
    && cp "target/$CARGO_TARGET/release/aml-scorer" "target/$CARGO_TARGET/release/local-identity" /out/ \
    && strip /out/aml-scorer /out/local-identity \
    && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

# The local identity endpoint of compose.yaml (a test tool, never deployed to Azure).
FROM scratch AS local-identity
COPY --from=build /out/local-identity /local-identity
USER 65532:65532
EXPOSE 8911
ENTRYPOINT ["/local-identity", "--host", "0.0.0.0"]

FROM scratch AS prebuilt
COPY dist/aml-scorer dist/ca-certificates.crt /out/

FROM ${BINARY} AS binary

FROM scratch AS runtime
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/aml-scorer /aml-scorer
COPY model/sklearn_regression_model.onnx /opt/aml-scorer/model/sklearn_regression_model.onnx
# Azure ML sets AZUREML_MODEL_DIR to the mounted model; without one the bundled model is served.
ENV AZUREML_MODEL_DIR=/opt/aml-scorer/model \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    AML_SCORER_PORT=5001
USER 65532:65532
EXPOSE 5001
# The binary probes its own readiness route: no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/aml-scorer", "--probe"]
ENTRYPOINT ["/aml-scorer"]
