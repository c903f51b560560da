#!/usr/bin/env bash
# The main job on the embedded defaults: the sample corpus in corpora/ becomes an
# index (documents, chunks, BM25 and vectors in embedded Qdrant) in indexes/sample,
# and a hybrid search shows the passages and spans it retrieves.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
quarry="$CARGO_TARGET_DIR/release/quarry"
"$quarry" index corpora --exclude SOURCES.md --name sample
"$quarry" search "What makes a candle flame bright?" --index indexes/sample --k 3
"$quarry" search "Why is the albedo of fresh snow so high?" --index indexes/sample --k 3
