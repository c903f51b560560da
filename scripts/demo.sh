#!/usr/bin/env bash
# The main job on the embedded defaults: the sample corpus in corpora/ becomes an index
# (BM25 + vectors in embedded Qdrant) in indexes/sample; the embedded SmolLM2-135M model
# writes questions and cited answers; every citation is verified down to the span; the
# run directory runs/sample gets records.jsonl, rejects.jsonl, run.json and report.html;
# the records are exported for OpenAI-style fine-tuning with a dataset card.
#
#   DEMO_N=20 DEMO_BUDGET=4 scripts/demo.sh   (records wanted, and slots tried per record;
#                                  the tiny default model accepts few
#                                  candidates, so this takes a while; a real server:
#                                  QUARRY_BASE_URL=http://host:8000/v1 scripts/demo.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
quarry="$CARGO_TARGET_DIR/release/quarry"
n="${DEMO_N:-20}"
"$quarry" index corpora --exclude SOURCES.md --name sample
"$quarry" search "What makes a candle flame bright?" --index indexes/sample --k 3
"$quarry" llm check
# Exit status 1 means fewer than n records passed within the budget; the report is still written.
# --extractive: the tiny default model picks the passage sentence that answers each question
# (among the 6 that share the most words with it)
# instead of writing its own answer, which it rarely gets right (DEMO_STYLE= for that path).
generate() {
  "$quarry" generate qa --index indexes/sample --n "$n" --budget "${DEMO_BUDGET:-4}" --out runs/sample ${DEMO_STYLE---extractive}
}
err="$(mktemp)"
status=0
generate 2> >(tee "$err" >&2) || status=$?
wait $! 2>/dev/null || true
# A run directory made by another version or with other settings is refused, never mixed:
# keep it beside the new one and start afresh.
if [ "$status" -eq 2 ] && grep -q "another configuration" "$err"; then
  old="runs/sample.previous-$(date +%Y%m%d-%H%M%S)"
  mv runs/sample "$old"
  echo "runs/sample was made with another configuration; kept as $old" >&2
  status=0
  generate || status=$?
fi
rm -f "$err"
if [ "$status" -gt 1 ]; then exit "$status"; fi
"$quarry" export runs/sample --format openai --out runs/sample/export-openai
echo "report: $(pwd)/runs/sample/report.html"
