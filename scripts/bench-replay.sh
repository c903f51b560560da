#!/usr/bin/env bash
# The Q&A pipeline measured with a model that answers from SQuAD gold; prints one JSON object.
#
#   scripts/bench-replay.sh [SLOTS] [PARAGRAPHS] [SKIP]  (default 100 slots over 120 paragraphs,
#                                                        from the first article; SKIP articles
#                                                        are passed over first)
#
# SQuAD dev paragraphs (../shared/data, or QUARRY_SHARED_DATA) become the corpus, one file
# each; scripts/replay-server.py plays the model: each question is a human SQuAD question of
# the seed paragraph, and each answer the gold answer citing the sentence that holds it, in
# three styles — `short` ("Budapest."), `sentence` (the sentence itself) and `wrong` (the
# answer of another question about the same paragraph). `quarry generate qa` runs once per
# style with one slot per wanted record (--budget 1), so:
#   - pipeline_recall (short, sentence, planned): the share of slots whose correct answer was
#     accepted (planned: sentence-first planning, where the answer is the chosen sentence; the
#     slots whose sentence holds no gold answer get another question of the paragraph, so
#     `recall_where_a_question_fits` counts only the others);
#   - false_accept_rate (wrong): the share of slots whose wrong answer was accepted;
#   - rejects_by_reason: where the rest went; server: what the replay model was asked.
# QUARRY_BIN picks the quarry binary (default: a release build); BENCH_KEEP=DIR keeps the run
# directories and the index there, to read the rejects (scripts/judged-extract.py reads them).
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
slots="${1:-100}"
npara="${2:-120}"
skip="${3:-0}"
# REPLAY_DATA: another file in SQuAD's format, e.g. XQuAD Hindi
# (REPLAY_DATA=../shared/data/xquad/xquad.hi.json scripts/bench-replay.sh 96 96).
squad="${REPLAY_DATA:-${QUARRY_SHARED_DATA:-$(cd .. && pwd)/shared/data}/squad/dev-v1.1.json}"
[ -f "$squad" ] || { echo "bench-replay: $squad is missing" >&2; exit 2; }
if [ -z "${QUARRY_BIN:-}" ]; then
  cargo build --release --locked -p quarry-cli >&2
  QUARRY_BIN="$CARGO_TARGET_DIR/release/quarry"
fi
tmp="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

python3 - "$squad" "$tmp/corpus" "$npara" "$skip" <<'PY'
import json, os, sys
data = json.load(open(sys.argv[1]))["data"][int(sys.argv[4]):]
out, n = sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
picked = []
# Two paragraphs of each article, so several documents share a subject.
for art in data:
    for p in art["paragraphs"][:2]:
        name = f"{len(picked):04d}.md"
        open(os.path.join(out, name), "w").write(f"# {art['title'].replace('_', ' ')}\n\n{p['context']}\n")
        picked.append(p)
    if len(picked) >= n:
        break
json.dump(picked[:n], open(out + ".json", "w"), ensure_ascii=False)
PY
"$QUARRY_BIN" index "$tmp/corpus" --out "$tmp/index" -q >&2

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# `planned`: sentence-first planning with extractive answers (--plan sentence --extractive): the
# replay model asks a human question whose gold answer is in the chosen sentence, and that
# sentence is the answer.
for style in short sentence wrong planned; do
  port="$(free_port)"
  extra=()
  serve="$style"
  if [ "$style" = planned ]; then extra=(--plan sentence --extractive); serve=sentence; fi
  python3 scripts/replay-server.py "$squad" "$tmp/corpus.json" "$port" "$serve" &
  server=$!
  for _ in $(seq 50); do
    curl -s "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
    sleep 0.2
  done
  status=0
  "$QUARRY_BIN" generate qa --index "$tmp/index" --n "$slots" --budget 1 --out "$tmp/run-$style" \
    --base-url "http://127.0.0.1:$port/v1" --llm-model replay --no-cache --json -q "${extra[@]}" > "$tmp/$style.json" || status=$?
  [ "$status" -le 1 ] || { echo "bench-replay: quarry failed ($status) for $style" >&2; exit "$status"; }
  curl -s "http://127.0.0.1:$port/stats" > "$tmp/$style.stats.json"
  if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP" && rm -rf "$BENCH_KEEP/$style" "$BENCH_KEEP/index" && cp -r "$tmp/run-$style" "$BENCH_KEEP/$style"
    cp -r "$tmp/index" "$BENCH_KEEP/index"
  fi
  kill "$server"
  wait "$server" 2>/dev/null || true
done

python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
out = {}
for style in ("short", "sentence", "wrong", "planned"):
    run = json.load(open(f"{tmp}/{style}.json"))
    slots = run["slots_used"]
    accepted = run["accepted"]
    key = "false_accept_rate" if style == "wrong" else "pipeline_recall"
    out[style] = {
        "slots": slots,
        "accepted": accepted,
        key: round(accepted / slots, 3) if slots else 0,
        "rejects_by_reason": run["counts_by_reason"],
        "server": json.load(open(f"{tmp}/{style}.stats.json")),
    }
    if style == "planned":
        fit = out[style]["server"].get("question_for_sentence", 0)
        out[style]["recall_where_a_question_fits"] = round(min(accepted, fit) / fit, 3) if fit else 0
print(json.dumps(out, indent=2))
PY
