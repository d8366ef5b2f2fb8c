#!/usr/bin/env bash
# Runs every test: the Rust unit and integration tests (with clippy's lints, -D warnings), the
# image's tests, a 60 s soak of the release binary and the YAML/manifest tests. Installs what they
# need when it is missing (openssl for the test CA, Node.js with the pinned Azurite,
# podman/buildah/runc for the image, a Python venv with the Azure ML SDK for the YAML checks).
# Safe to run again: finished installs are skipped and builds are incremental.
#
# Nothing is built twice and both cores stay busy:
# - one static release build (`scripts/build-binary.sh`) serves the image, the soak and the
#   container tests; it compiles in the background while the test build and the tests run;
# - the test build compiles this workspace's crates through clippy-driver (as `cargo clippy`
#   does), so the lints cost no second build of the dependencies (LINT=0 skips them);
# - the installs (network) run while the compilers do.
# Each phase's time is in $PHASE_LOG (target/phases.log); .ci/run prints it.
#
# `scripts/test.sh FILTER...` runs only the cargo tests whose names match (after the same
# installs and builds), e.g. `scripts/test.sh tabular`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Run alone, the script keeps and prints its own phase table; under .ci/run it adds to CI's.
own_phase_log=0
if [ -z "${PHASE_LOG:-}" ]; then
  own_phase_log=1
  export PHASE_LOG="$PWD/target/phases.log"
  mkdir -p target
  : >"$PHASE_LOG"
fi
source scripts/phases.sh
logs=target/test-logs
mkdir -p "$logs"
venv=target/yaml-venv

install_system_packages() {
  local need=()
  command -v openssl >/dev/null || need+=(openssl)
  command -v npm >/dev/null || need+=(nodejs npm)
  command -v podman >/dev/null || need+=(podman)
  command -v buildah >/dev/null || need+=(buildah)
  command -v runc >/dev/null || need+=(runc)
  command -v strip >/dev/null || need+=(binutils)
  # Debian's python3 makes venvs only with python3-venv (ensurepip).
  python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
}

install_azurite() {
  if [ ! -x tests/azurite/node_modules/.bin/azurite-blob ] \
    || [ tests/azurite/package-lock.json -nt tests/azurite/node_modules/.package-lock.json ]; then
    echo "installing Azurite (pinned in tests/azurite/package-lock.json)"
    npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error
  fi
}

install_yaml_venv() {
  if [ ! -x "$venv/bin/pytest" ] || [ tests/yaml/requirements.txt -nt "$venv/bin/pytest" ]; then
    echo "installing the Azure ML SDK for the YAML tests"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/yaml/requirements.txt
    touch "$venv/bin/pytest"
  fi
}

install_all() {
  install_system_packages
  # Azurite (npm) and the venv (pip) download from different registries: side by side.
  install_azurite &
  local azurite=$!
  install_yaml_venv
  wait "$azurite"
}

# The workspace's crates compile through clippy-driver, exactly as `cargo clippy` sets it up
# (RUSTC_WORKSPACE_WRAPPER and CLIPPY_ARGS, its arguments joined by __CLIPPY_HACKERY__), but in a
# real build: the dependencies compile once, for the tests, instead of a second time as metadata.
if [ "${LINT:-1}" != 0 ]; then
  clippy_driver="$(dirname "$(rustup which cargo-clippy 2>/dev/null || command -v cargo-clippy || echo .)")/clippy-driver"
  if [ ! -x "$clippy_driver" ]; then
    echo "clippy is not installed (rustup component add clippy), or run LINT=0 scripts/test.sh" >&2
    exit 1
  fi
  export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
fi

# Background jobs report through their logs; a failure prints the log and stops the run.
wait_for() {
  local pid=$1 what=$2 log=$3
  if ! wait "$pid"; then
    echo "$what failed; its log ($log):" >&2
    tail -50 "$log" >&2
    exit 1
  fi
}

# The image's tests, selected by name: a rename must not leave them silently unrun.
run_image_tests() {
  local count
  count="$(cargo test --locked --test api -- container:: --list 2>/dev/null | grep -c ': test$' || true)"
  if [ "$count" -eq 0 ]; then
    echo "no container:: tests found in tests/api: the image would go untested" >&2
    return 1
  fi
  cargo test --locked --test api -- container::
}

# The unit tests again with the direct kernels on AVX2: a host with AVX-512 runs them there by
# default, and CI's hosts may have either (the kernels' own tests, and every model the unit tests
# load, then run on AVX2; `instructions::auto` reads the variable in unit tests).
run_avx2_kernel_tests() {
  AML_SCORER_DIRECT_KERNELS=avx2 cargo test --locked --lib
}

# Background jobs run in process groups of their own (job control on), so that stopping the run
# stops cargo, npm and the soak under them, not only the shell that started them.
set -m
phase "& installs (apt, Azurite, Python venv)" install_all >"$logs/install.log" 2>&1 &
installs=$!
# The release build does not lint (the test build already has) and has flags of its own.
phase "& build: static release binary" env -u RUSTC_WORKSPACE_WRAPPER scripts/build-binary.sh \
  >"$logs/release-build.log" 2>&1 &
release=$!
set +m
finish() {
  local group
  for group in "$installs" "$release" ${soak:-}; do
    kill -- "-$group" 2>/dev/null || true
  done
  [ "$own_phase_log" = 0 ] || phase_report
}
trap finish EXIT

# --all-targets: the benches are linted and kept compiling too. The release build is the longer
# path (its last step, the whole-program LTO link, runs on one core for minutes), so the test build
# runs at a lower priority and takes what the release build leaves.
phase "build: tests and clippy (all targets)" \
  nice -n 10 cargo test --workspace --all-targets --locked --no-run
wait_for "$installs" "installing the test tools" "$logs/install.log"

if [ $# -gt 0 ]; then
  wait_for "$release" "the release build" "$logs/release-build.log"
  phase "image aml-scorer:local" scripts/build-image.sh --prebuilt
  phase "test: cargo test $*" cargo test --workspace --locked "$@"
  exit 0
fi

# Everything but the image's tests runs while the release build finishes.
phase "test: cargo test (all but the image)" cargo test --workspace --locked -- --skip container::
phase "test: unit tests, kernels on AVX2" run_avx2_kernel_tests
wait_for "$release" "the release build" "$logs/release-build.log"
phase "image aml-scorer:local" scripts/build-image.sh --prebuilt

echo "soaking the release binary for 60 s (scripts/soak.sh) beside the image and YAML tests"
set -m
phase "& soak (60 s, release binary)" env SOAK_CHECK_RSS_MB=120 scripts/soak.sh 60 \
  >target/soak-ci.json 2>"$logs/soak.log" &
soak=$!
set +m
phase "test: the image (podman)" run_image_tests
phase "test: YAML and manifests (pytest)" \
  "$venv/bin/pytest" -q -p no:warnings -p no:cacheprovider tests/yaml
wait_for "$soak" "the soak" "$logs/soak.log"
cat "$logs/soak.log"
