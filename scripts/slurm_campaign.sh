#!/usr/bin/env bash
# A fuzz campaign as a Slurm array job: task k of N runs shard k/N, and `attncert fuzz merge`
# summarises the shards' JSON lines afterwards. The shards together are exactly the campaign a
# single machine would run with the same --cases and --seed.
#
#   sbatch --array=0-15 scripts/slurm_campaign.sh                       # 16 shards
#   attncert fuzz merge runs/                                           # then, anywhere
#
# Environment (all optional): THEOREM (default c6.1), RELAX (comma-separated ids), CASES
# (default 1000000), SEED (default 1), OUT (default runs), ATTNCERT (the binary).
#SBATCH --job-name=attncert-fuzz
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
k=${SLURM_ARRAY_TASK_ID:?run as an array job: sbatch --array=0-15 $0}
n=${SLURM_ARRAY_TASK_COUNT:?run as an array job}
relax=()
if [ -n "${RELAX:-}" ]; then relax=(--relax "$RELAX"); fi
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-2}
"${ATTNCERT:-attncert}" fuzz --theorem "${THEOREM:-c6.1}" "${relax[@]}" \
    --cases "${CASES:-1000000}" --seed "${SEED:-1}" --shard "$k/$n" --out "${OUT:-runs}"
