# Sourced by the benches: the static release binary, as the image ships it, in $scorer (with
# $target and $target_dir); built here unless SKIP_BUILD=1, which takes the one already built.
target=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
scorer="$target_dir/$target/release/aml-scorer"

if [ -z "${SKIP_BUILD:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin aml-scorer
fi
