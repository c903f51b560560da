#!/usr/bin/env bash
# Index benchmark: prints one JSON report on stdout.
#   quality: nDCG@10, Recall@5/20/100, MRR, MAP on SQuAD dev and the HotpotQA sample,
#            for bm25, dense and hybrid, with int8 and fp32 embeddings;
#   speed:   embedding throughput (quarry vs raw ONNX Runtime), index build times,
#            re-index of unchanged input, query latency at ~10k and ~100k chunks.
# QUARRY_BENCH_ONLY=quality|embed|build|latency (comma-separated) runs a part.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUARRY_CACHE="${QUARRY_CACHE:-$HOME/.cache/quarry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARRY_CACHE/target}"
export QUARRY_SHARED_DATA="${QUARRY_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
scripts/fetch-models.sh >/dev/null
cargo build --release --locked -p quarry-cli >&2
quarry="$CARGO_TARGET_DIR/release/quarry"
beir="$QUARRY_CACHE/bench/beir"
python3 scripts/make-beir.py squad "$QUARRY_SHARED_DATA/squad/dev-v1.1.json" "$beir/squad" >&2
python3 scripts/make-beir.py hotpotqa "$QUARRY_SHARED_DATA/hotpotqa/hotpot_dev_distractor_v1.first53.json" "$beir/hotpotqa" >&2
export QUARRY_BENCH_SQUAD="$beir/squad"
out="$(mktemp -d)"
only="${QUARRY_BENCH_ONLY:-}"
if [ -z "$only" ] || [[ ",$only," == *",quality,"* ]]; then
  for set in squad hotpotqa; do
    for p in int8 fp32; do
      echo "bench: quality $set $p ..." >&2
      "$quarry" --quiet eval retrieval "$beir/$set" --mode all --precision "$p" > "$out/quality-$set-$p.json"
    done
  done
fi
speed_only="$(echo ",$only," | sed 's/,quality,/,/g; s/^,//; s/,$//')"
if [ -z "$only" ] || [ -n "$speed_only" ]; then
  QUARRY_BENCH_ONLY="$speed_only" cargo bench --locked -p quarry-index --bench index > "$out/speed.json"
fi
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
report = {"quality": {}}
for name in sorted(os.listdir(out)):
    path = os.path.join(out, name)
    if name.startswith("quality-"):
        _, dataset, precision = name[:-5].split("-")
        data = json.load(open(path))
        report["quality"].setdefault(dataset, {})[precision] = {
            mode: {k: round(v, 4) for k, v in m.items() if k in ("ndcg_at_10", "recall_at_5", "recall_at_20", "recall_at_100", "mrr", "map", "queries_per_s")}
            for mode, m in data["modes"].items()
        }
    elif name == "speed.json":
        report["speed"] = json.load(open(path))
print(json.dumps(report, indent=2))
PY
rm -rf "$out"
