#!/usr/bin/env bash
# Everything CI checks, in order: formatting, lints, the cargo tests (unit,
# integration against throwaway MariaDB servers, golden, property), then real
# clients against the proxy (scripts/client_tests.sh), and the container's
# build stage (scripts/container_check.sh). Exits non-zero on the
# first failure. Installs MariaDB, sysbench and PyMySQL with apt-get when
# missing.
#
#   scripts/test.sh
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"

ensure_packages
ensure_rust
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

step() { log "=== $* (at ${SECONDS}s)"; }

step "cargo fmt --check"
cargo fmt --all -- --check

# The `failpoints` feature compiles in the XA crash points that
# tests/xa_crash.rs configures; unconfigured they do nothing, so the one
# build serves every test and the client tests too.
step "cargo clippy"
cargo clippy --all-targets --features failpoints -- -D warnings

step "cargo test"
cargo test --all-targets --features failpoints

step "client tests"
SHARDGATE_BIN=${SHARDGATE_BIN:-$PWD/target/debug/shardgate} bash scripts/client_tests.sh

step "container build stage"
bash scripts/container_check.sh

log "all checks passed in ${SECONDS}s"
