#!/usr/bin/env bash
# The quick tier, for the edit-compile-test loop: formatting and every test that needs no Docker
# engine, no browser and no network: the unit tests of each crate, the runner's lifecycle tests
# on its in-memory engine (runner/src/fakes.rs) and the store's on SQLite. A few minutes the
# first time, seconds after. It proves nothing about the sandbox: ./scripts/test.sh runs
# everything, on the real engine, and is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
cargo fmt --all --check
cargo nextest run --no-fail-fast -p spec -p runner -p app -p server --lib
