#!/usr/bin/env bash
# Submits a whole quarry job to Slurm, from the repository root: the corpus indexed in
# SHARDS array tasks, the shard indexes merged, SHARDS generating tasks, the run merged.
# Each step starts only when the one before it ended well (afterok).
#
#   export QUARRY_WORK=/shared/quarry QUARRY_CORPUS=/shared/books \
#          QUARRY_BASE_URL=http://llm.cluster:8000/v1 QUARRY_LLM_MODEL=Qwen/Qwen2.5-7B-Instruct \
#          QUARRY_N=100000 QUARRY_VECTORS=qdrant://qdrant.cluster:6334/books
#   deploy/slurm/submit.sh 16
set -euo pipefail
shards=${1:?usage: deploy/slurm/submit.sh SHARDS}
last=$((shards - 1))
sb=deploy/slurm/quarry.sbatch
index=$(sbatch --parsable --array="0-$last" --export="ALL,QUARRY_STAGE=index" "$sb")
merged=$(sbatch --parsable --dependency="afterok:$index" --export="ALL,QUARRY_STAGE=merge-index,QUARRY_SHARDS=$shards" "$sb")
generate=$(sbatch --parsable --dependency="afterok:$merged" --array="0-$last" --export="ALL,QUARRY_STAGE=generate" "$sb")
run=$(sbatch --parsable --dependency="afterok:$generate" --export="ALL,QUARRY_STAGE=merge-run,QUARRY_SHARDS=$shards" "$sb")
echo "submitted: index $index → merge $merged → generate $generate → merge $run"
