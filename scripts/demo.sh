#!/usr/bin/env bash
# The main job on the embedded defaults: the sample corpus in corpora/ becomes
# a store of documents and chunks in indexes/sample.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
quarry="$CARGO_TARGET_DIR/release/quarry"
"$quarry" ingest corpora --exclude SOURCES.md --out indexes/sample
"$quarry" inspect indexes/sample
