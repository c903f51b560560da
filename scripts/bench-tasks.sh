#!/usr/bin/env bash
# Per-task generation benchmark with the embedded model; prints one JSON object keyed by task.
#
#   scripts/bench-tasks.sh [N] [TASKS]    (default N=4 records wanted per task,
#                                          TASKS="conversation pretrain topics followup dpo")
#
# Every run is fresh and uses --no-cache, so every LLM call is paid. conversation and pretrain
# run on indexes/sample (built from corpora/ if missing) with a budget of 5 slots per record;
# topics expands "Combustion" 3 × 2 on the same index. followup and dpo need accepted Q&A
# records to start from: they use N questions of SQuAD dev (../shared/data, or
# QUARRY_SHARED_DATA) over an index of their paragraphs, the answer being the paragraph's
# sentence that holds the gold answer, cited as a verified span. For each task: accepted
# records per minute, acceptance rate and rejects by reason, LLM tokens per accepted record,
# and the share of wall time outside the LLM.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
n="${1:-4}"
tasks="${2:-conversation pretrain topics followup dpo}"
squad="${QUARRY_SHARED_DATA:-$(cd .. && pwd)/shared/data}/squad/dev-v1.1.json"
cargo build --release --locked -p quarry-cli >&2
quarry="$CARGO_TARGET_DIR/release/quarry"
[ -d indexes/sample ] || "$quarry" index corpora --exclude SOURCES.md --name sample >&2
tmp="$(mktemp -d)"
budget=$((n * 5))

run() { # task out args...
  local task="$1" out="$2"
  shift 2
  local status=0
  "$quarry" generate "$task" --out "$out" --no-cache --json -q "$@" > "$out.json" || status=$?
  [ "$status" -le 1 ] || exit "$status"
}

squad_parents() { # builds $tmp/squad-index and the Q&A run $tmp/squad-qa
  python3 - "$squad" "$tmp/squad-corpus" "$n" <<'PY'
import json, os, sys
data = json.load(open(sys.argv[1]))["data"]
out, n = sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
picked = []
for art in data:
    for i, p in enumerate(art["paragraphs"][:1]):
        name = f"{len(picked):03d}.md"
        open(os.path.join(out, name), "w").write(f"# {art['title'].replace('_', ' ')}\n\n{p['context']}\n")
        picked.append((name, p))
    if len(picked) >= n:
        break
json.dump([(name, p) for name, p in picked], open(out + ".json", "w"))
PY
  "$quarry" index "$tmp/squad-corpus" --out "$tmp/squad-index" -q >&2
  "$quarry" inspect "$tmp/squad-index" --jsonl > "$tmp/squad-dump.jsonl"
  python3 - "$tmp/squad-corpus.json" "$tmp/squad-dump.jsonl" "$tmp/squad-qa" "$tmp/squad-index" <<'PY'
import json, os, re, sys
picked = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
chunks = [r for r in rows if r["type"] == "chunk"]
out = sys.argv[3]
os.makedirs(out, exist_ok=True)
records = []
for name, p in picked:
    q = p["qas"][0]
    ctx, a = p["context"], q["answers"][0]
    start = a["answer_start"]
    # The sentence that holds the gold answer.
    bounds = [0] + [m.end() for m in re.finditer(r"[.!?]\s+(?=[A-Z])", ctx)] + [len(ctx)]
    s = max(b for b in bounds if b <= start)
    e = min(b for b in bounds if b > start)
    sentence = ctx[s:e].strip()
    chunk = next((c for c in chunks if sentence in c["text"]), None)
    if chunk is None:
        continue
    at = chunk["span"][0] + chunk["text"].index(sentence)
    slot = len(records)
    records.append({
        "schema_version": 2, "id": f"squad000-{slot:06d}", "task": "qa", "slot": slot,
        "question": q["question"], "question_type": "factual", "answer": sentence,
        "citations": [{"passage": 1, "chunk_id": chunk["id"], "doc_id": chunk["doc_id"], "doc_title": name,
                       "heading_path": chunk["heading_path"], "quote": sentence, "model_quote": sentence,
                       "span": [at, at + len(sentence.encode())], "match_kind": "exact", "match_score": 1.0}],
        "verdict": "supported", "reasons": [],
        "scores": {"support": 1.0, "quote_match": 1.0, "sentences": [], "round_trip_rank": 1, "round_trip_hit": True},
        "seed_chunks": [chunk["id"]], "passages": [chunk["id"]], "model": "squad", "backend": "squad",
        "question_sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 0, "seed": 0},
        "answer_sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 0, "seed": 0},
        "question_prompt_hash": "", "answer_prompt_hash": "",
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        "timings": {"question_ms": 0.0, "retrieval_ms": 0.0, "answer_ms": 0.0, "verify_ms": 0.0},
    })
with open(os.path.join(out, "records.jsonl"), "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
json.dump({"config": {"task": "qa"}, "task": "qa", "run_id": "squad000", "model": "squad", "backend": "squad",
           "index": sys.argv[4]}, open(os.path.join(out, "run.json"), "w"))
PY
}

for task in $tasks; do
  case "$task" in
    conversation) run conversation "$tmp/conversation" --index indexes/sample --n "$n" --budget 5 --exchanges 2 ;;
    pretrain) run pretrain "$tmp/pretrain" --index indexes/sample --n "$n" --budget 5 --paragraphs 2 ;;
    topics) run topics "$tmp/topics" --index indexes/sample --root Combustion --breadth 3 --depth 2 ;;
    followup | dpo)
      [ -d "$tmp/squad-qa" ] || squad_parents
      if [ "$task" = followup ]; then
        run followup "$tmp/followup" --index "$tmp/squad-index" --from "$tmp/squad-qa" --n "$n" --turns 1
      else
        run dpo "$tmp/dpo" --index "$tmp/squad-index" --from "$tmp/squad-qa" --n "$n"
        run dpo "$tmp/dpo-no_passages" --index "$tmp/squad-index" --from "$tmp/squad-qa" --n "$n" --method no_passages
      fi
      ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
done

python3 - "$tmp" "$budget" $tasks <<'PY'
import json, os, sys
tmp, out = sys.argv[1], {}
names = []
for t in sys.argv[3:]:
    names += ["dpo", "dpo-no_passages"] if t == "dpo" else [t]
for name in names:
    run = json.load(open(os.path.join(tmp, name + ".json")))
    elapsed = run["totals"]["elapsed_s"]
    accepted, slots = run["accepted"], run["slots_used"]
    tokens = run["usage"]["prompt_tokens"] + run["usage"]["completion_tokens"]
    row = {
        "model": run["model"],
        "target": run["target"],
        "accepted": accepted,
        "slots": slots,
        "elapsed_s": round(elapsed, 1),
        "accepted_per_minute": round(accepted / elapsed * 60, 3) if elapsed else 0,
        "acceptance_rate": round(accepted / slots, 3) if slots else 0,
        "rejects_by_reason": run.get("counts_by_reason", {}),
        "llm_tokens_per_accepted_record": round(tokens / accepted) if accepted else None,
        "llm_tokens_per_slot": round(tokens / slots) if slots else None,
        "share_of_wall_time_outside_llm": round(run["totals"]["other_s"] / elapsed, 4) if elapsed else 0,
    }
    if name == "topics":
        row["nodes_by_status"] = run["counts_by_status"]
    out[name] = row
print(json.dumps(out, indent=2))
PY
