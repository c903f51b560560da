#!/usr/bin/env bash
# Generation benchmark with the embedded model; prints one JSON object.
#
#   scripts/bench-generate.sh [N]        (default N=10 accepted records wanted)
#
# Runs `quarry generate qa` on indexes/sample (built from corpora/ if missing) into a fresh run
# directory with --no-cache, so every LLM call is paid, then reports accepted records per
# minute, the acceptance rate with rejects by reason, LLM tokens per accepted record,
# round-trip recall@5 (the seed chunk among the 5 passages retrieved with the question), and
# the share of wall time spent outside the LLM (retrieval, verification, planning).
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
n="${1:-10}"
cargo build --release --locked -p quarry-cli >&2
quarry="$CARGO_TARGET_DIR/release/quarry"
[ -d indexes/sample ] || "$quarry" index corpora --exclude SOURCES.md --name sample >&2
out="$(mktemp -d)/run"
status=0
"$quarry" generate qa --index indexes/sample --n "$n" --k 5 --budget 30 --out "$out" --no-cache --json -q > "$out.json" || status=$?
[ "$status" -le 1 ] || exit "$status"
python3 - "$out.json" "$out/records.jsonl" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
records = [json.loads(l) for l in open(sys.argv[2])]
slots = run["slots_used"]
elapsed = run["totals"]["elapsed_s"]
tokens = run["usage"]["prompt_tokens"] + run["usage"]["completion_tokens"]
accepted = run["accepted"]
print(json.dumps({
    "model": run["model"],
    "target": run["target"],
    "accepted": accepted,
    "slots": slots,
    "elapsed_s": round(elapsed, 1),
    "accepted_per_minute": round(accepted / elapsed * 60, 3) if elapsed else 0,
    "acceptance_rate": round(accepted / slots, 3) if slots else 0,
    "rejects_by_reason": run["counts_by_reason"],
    "rejects_by_stage": run["counts_by_stage"],
    "llm_tokens_per_accepted_record": round(tokens / accepted) if accepted else None,
    "round_trip_recall_at_5": run["round_trip_recall"],
    "share_of_wall_time_outside_llm": round(run["totals"]["other_s"] / elapsed, 4) if elapsed else 0,
    "mean_support_accepted": round(sum(r["scores"]["support"] for r in records) / len(records), 3) if records else None,
}, indent=2))
PY
