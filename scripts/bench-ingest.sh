#!/usr/bin/env bash
# Ingest benchmark: prints JSON (throughput, chunk-vs-tokenize ratio, peak memory).
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
export QUARRY_SHARED_DATA="${QUARRY_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
scripts/fetch-models.sh >/dev/null
cargo bench --locked -p quarry-ingest --bench ingest
