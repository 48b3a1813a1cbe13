#!/usr/bin/env bash
# Submits zero-shot GENIE to Slurm: an array job of `genie distill --shard K/SHARDS` tasks (distill.sbatch), then,
# once every task has succeeded (--dependency=afterok), one job that merges the shards, quantizes with GENIE-M and
# evaluates (quantize.sbatch). Prints the two job ids. Settings come from the environment (defaults in brackets):
#   WEIGHTS              model weights (safetensors)                         [models/resnet20.safetensors]
#   OUT                  output folder, on a file system every node sees    [runs/slurm]
#   IMAGES BATCH DISTILL_ITERATIONS  GENIE-D budget                          [1024 128 4000]
#   SHARDS               array tasks; task K distills batches K, K+SHARDS, ... [IMAGES/BATCH, one batch per task]
#   WBITS ABITS ITERATIONS  GENIE-M bits and iterations per unit             [4 4 20000]
#   SEED [0]   CPUS: cores per task [2]   EVALUATE: 0 skips the Fashion-MNIST evaluation [1]
#   GENIE                genie executable                                    [.build/release/genie, else genie on PATH]
# sbatch's own variables (SBATCH_PARTITION, SBATCH_TIMELIMIT, SBATCH_ACCOUNT, ...) pass through.
# Submitting again with the same settings resumes: a finished shard exits at once, a killed one continues after its
# last finished batch (OUT/shards/*.partial/), the quantization after its last finished unit.
# Logs: OUT/logs/distill-K.log per task, OUT/logs/quantize.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
WEIGHTS=$(realpath -e "${WEIGHTS:-models/resnet20.safetensors}") || { echo "submit.sh: no weights file" >&2; exit 1; }
OUT=$(realpath -m "${OUT:-runs/slurm}")
export WEIGHTS OUT IMAGES=${IMAGES:-1024} BATCH=${BATCH:-128} DISTILL_ITERATIONS=${DISTILL_ITERATIONS:-4000}
batches=$(( (IMAGES + BATCH - 1) / BATCH ))
export SHARDS=${SHARDS:-$batches}
if [ "$SHARDS" -lt 1 ] || [ "$SHARDS" -gt "$batches" ]; then
    echo "submit.sh: SHARDS=$SHARDS, but the distillation has $batches batches (IMAGES/BATCH): give 1 to $batches" >&2
    exit 1
fi
export WBITS=${WBITS:-4} ABITS=${ABITS:-4} ITERATIONS=${ITERATIONS:-20000} SEED=${SEED:-0} EVALUATE=${EVALUATE:-1}
CPUS=${CPUS:-2}
if [ -z "${GENIE:-}" ]; then
    GENIE=$(realpath -e "$here/../../.build/release/genie" 2>/dev/null || command -v genie) \
        || { echo "submit.sh: no genie executable: build it (swift build -c release) or set GENIE" >&2; exit 1; }
fi
export GENIE
mkdir -p "$OUT/shards" "$OUT/logs"
array=$(sbatch --parsable --job-name=genie-distill --array=0-$((SHARDS - 1)) --cpus-per-task="$CPUS" \
    --output="$OUT/logs/distill-%a.log" --open-mode=append "$here/distill.sbatch")
final=$(sbatch --parsable --job-name=genie-quantize --dependency=afterok:"$array" --cpus-per-task="$CPUS" \
    --output="$OUT/logs/quantize.log" --open-mode=append "$here/quantize.sbatch")
echo "$array $final"
