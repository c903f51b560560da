#!/usr/bin/env bash
# One step of a quarry job split across machines, under any scheduler. quarry itself reads
# the shard index with --shard auto/N: a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX,
# a Slurm job array sets SLURM_ARRAY_TASK_ID. There is no coordinator: every shard writes
# its own directory under QUARRY_WORK (a volume every machine sees), and a merge step joins
# them once all are done (the scheduler's dependency: Slurm afterok, kubectl wait).
#
#   QUARRY_STAGE      index | merge-index | generate | merge-run
#   QUARRY_SHARDS     N, the number of shards [Slurm: SLURM_ARRAY_TASK_COUNT]
#   QUARRY_WORK       the shared directory: index-shards/, index/, runs/<QUARRY_RUN>/
#   QUARRY_CORPUS     index: the corpus (files or directories, space-separated)
#   QUARRY_VECTORS    merge-index: where the merged index keeps its vectors, e.g.
#                     qdrant://qdrant:6334/books (a Qdrant cluster); default embedded
#   QUARRY_TASK       generate, merge-run: qa, followup, conversation, dpo or pretrain [qa]
#   QUARRY_RUN        generate, merge-run: the run's name [QUARRY_TASK]
#   QUARRY_N          generate, merge-run: records wanted over all shards
#   QUARRY_BASE_URL   generate, merge-run: the OpenAI-compatible URL every model server is behind
#   QUARRY_LLM_MODEL  generate, merge-run: the served model's name
#   QUARRY_ARGS       generate, merge-run: more `quarry generate` arguments (--seed 7 --budget 2 …)
#   QUARRY_SCRATCH    a machine-local directory [/tmp/quarry]; see below
#
# Embedded Qdrant lets one process at a time open an index, so when the index keeps its
# vectors in embedded Qdrant, each generating shard works on a copy at
# $QUARRY_SCRATCH/index (the same path on every machine, so that the shards' configs match);
# run one shard per machine then. With the vectors in a Qdrant server (QUARRY_VECTORS at
# merge-index), every shard reads $QUARRY_WORK/index in place.
set -euo pipefail
stage=${QUARRY_STAGE:?set QUARRY_STAGE to index, merge-index, generate or merge-run}
work=${QUARRY_WORK:?set QUARRY_WORK to a directory every shard sees}
shards=${QUARRY_SHARDS:-${SLURM_ARRAY_TASK_COUNT:-}}
task=${QUARRY_TASK:-qa}
run=${QUARRY_RUN:-$task}
scratch=${QUARRY_SCRATCH:-/tmp/quarry}
quarry=${QUARRY_BIN:-quarry}

# The index a generating process reads: a local copy when its vectors are embedded.
index_for_generation() {
  if [ -d "$work/index/vectors" ]; then
    rm -rf "$scratch/index.tmp" && mkdir -p "$scratch"
    cp -r "$work/index" "$scratch/index.tmp"
    rm -rf "$scratch/index" && mv "$scratch/index.tmp" "$scratch/index"
    echo "$scratch/index"
  else
    echo "$work/index"
  fi
}

generate_args() {
  # shellcheck disable=SC2086  # QUARRY_ARGS is a list of arguments
  echo "$task" --index "$1" --n "${QUARRY_N:?set QUARRY_N}" \
    --base-url "${QUARRY_BASE_URL:?set QUARRY_BASE_URL}" --llm-model "${QUARRY_LLM_MODEL:-default}" ${QUARRY_ARGS:-}
}

case "$stage" in
  index)
    i=${JOB_COMPLETION_INDEX:-${SLURM_ARRAY_TASK_ID:?no shard index: run as a Kubernetes Indexed Job or a Slurm job array}}
    # shellcheck disable=SC2086  # QUARRY_CORPUS may name several paths
    exec "$quarry" index ${QUARRY_CORPUS:?set QUARRY_CORPUS} --out "$work/index-shards/shard-$i" \
      --shard "auto/${shards:?set QUARRY_SHARDS}"
    ;;
  merge-index)
    args=()
    [ -n "${QUARRY_VECTORS:-}" ] && args=(--vectors "$QUARRY_VECTORS")
    exec "$quarry" merge "$work"/index-shards/shard-* --out "$work/index" "${args[@]}"
    ;;
  generate)
    i=${JOB_COMPLETION_INDEX:-${SLURM_ARRAY_TASK_ID:?no shard index: run as a Kubernetes Indexed Job or a Slurm job array}}
    index=$(index_for_generation)
    # shellcheck disable=SC2046  # the arguments are words
    exec "$quarry" generate $(generate_args "$index") --out "$work/runs/$run/shard-$i" --shard "auto/${shards:?set QUARRY_SHARDS}"
    ;;
  merge-run)
    index=$(index_for_generation)
    status=0
    "$quarry" merge "$work/runs/$run"/shard-* --out "$work/runs/$run/merged" --index "$index" || status=$?
    if [ "$status" -eq 1 ]; then
      # The shards stopped short of --n records: finish the merged run here, as one process.
      # shellcheck disable=SC2046
      exec "$quarry" generate $(generate_args "$index") --out "$work/runs/$run/merged"
    fi
    exit "$status"
    ;;
  *)
    echo "QUARRY_STAGE=$stage: expected index, merge-index, generate or merge-run" >&2
    exit 2
    ;;
esac
