#!/usr/bin/env bash
# Sets up what the tests need and runs the whole test suite, then the lints.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
scripts/setup.sh --tests
# The shared test data sits beside the clone; tests that need it say so when it is missing.
export QUARRY_SHARED_DATA="${QUARRY_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
cargo test --workspace --locked
if [ -z "${QUARRY_TEST_QDRANT_URL:-}" ]; then
  echo "skipped: no server: the Qdrant server tests (index::qdrant_server_backend, the Qdrant part of shards::an_index_built_in_three_shards_and_merged_ranks_as_one_build) ran as a no-op; set QUARRY_TEST_QDRANT_URL=qdrant://host:6334 to run them"
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
