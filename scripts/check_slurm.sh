#!/usr/bin/env bash
# Proof of the Slurm recipe (deploy/slurm) on a real, single-node Slurm started here from Debian's slurm-wlm and
# munge (installed if missing; needs root): writes a slurm.conf for this host, starts munged, slurmctld and slurmd,
# then
#   1. runs the same steps without Slurm (unsharded `genie distill`, `genie quantize --calib`) as the reference;
#   2. submits deploy/slurm/submit.sh, cancels shard 1 once its first batch is saved (scancel), cancels the merge
#      job left waiting on it, and submits again: finished shards exit at once, shard 1 resumes from its batch;
#   3. checks that the merged images and the quantized model are the reference's, byte for byte (`cmp`), and
#      prints each shard's time and peak memory (/usr/bin/time inside the job).
# Stops the daemons and removes its files on exit. Needs a release build (swift build -c release).
# Budget (environment): SHARDS [4] IMAGES [128] BATCH [16] DISTILL_ITERATIONS [60] ITERATIONS [40] CPUS per task [1].
# SCALING="M:C ..." then also times the distillation array alone with M shards of C cores each, on the same budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export SHARDS=${SHARDS:-4} IMAGES=${IMAGES:-128} BATCH=${BATCH:-16} DISTILL_ITERATIONS=${DISTILL_ITERATIONS:-60}
export ITERATIONS=${ITERATIONS:-40} CPUS=${CPUS:-1} WEIGHTS=models/resnet20.safetensors SEED=0 EVALUATE=1
genie=$(pwd)/.build/release/genie
[ -x "$genie" ] || { echo "check_slurm.sh: no $genie; run swift build -c release first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "check_slurm.sh: starts slurmctld, slurmd and munged as root; run it as root" >&2; exit 1; }
if ! dpkg -s slurmctld slurmd slurm-client munge >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi
start=$SECONDS

work=$(mktemp -d /tmp/genie-slurm.XXXXXX)
chmod 755 "$work"
stop() {
    if [ -f "$work/slurmctld.pid" ]; then scancel --quiet --user=root 2>/dev/null || true; sleep 1; fi
    local pids=()
    for file in "$work"/slurmd.pid "$work"/slurmctld.pid "$work"/munge/munged.pid; do
        [ -f "$file" ] && pids+=("$(cat "$file")")
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 20); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.5; done  # until all have exited
    rm -rf "$work"
}
trap stop EXIT

# --- the cluster: munge with its own key and socket, slurmctld and slurmd on this host, no accounting, no cgroups
mkdir -m 700 "$work/munge"
mkdir "$work/state" "$work/spool" "$work/logs" "$work/bin"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
munged --force --socket="$work/munge/socket" --key-file="$work/munge/munge.key" --log-file="$work/munge/munged.log" \
    --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed"
host=$(hostname -s)
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=genie-check
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/logs/slurmctld.log
SlurmdLogFile=$work/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=1
MinJobAge=600
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld
slurmd
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %t | grep -q idle || { echo "slurmd did not come up:"; tail -n 20 "$work"/logs/*.log; exit 1; }
echo "== Slurm $(sinfo --version | cut -d' ' -f2) up on $host ($(nproc) cores) after $((SECONDS - start)) s"

# The jobs run genie under /usr/bin/time, which adds its time and peak memory to each task's log.
cat >"$work/bin/genie" <<EOF
#!/bin/sh
exec /usr/bin/time -f "genie \$1: %e s, peak memory %M KiB" "$genie" "\$@"
EOF
chmod +x "$work/bin/genie"
export GENIE=$work/bin/genie OUT=$work/run

# --- 1. the reference: the same steps without Slurm, with the tasks' thread count
t=$SECONDS
mkdir "$work/reference"
OMP_NUM_THREADS=$CPUS "$genie" distill --weights "$WEIGHTS" --images "$IMAGES" --batch-size "$BATCH" \
    --iterations "$DISTILL_ITERATIONS" --seed "$SEED" --out "$work/reference/images.safetensors" 2>/dev/null
OMP_NUM_THREADS=$CPUS "$genie" quantize --weights "$WEIGHTS" --calib "$work/reference/images.safetensors" --wbits 4 \
    --abits 4 --iterations "$ITERATIONS" --seed "$SEED" --out "$work/reference/quantized.safetensors" 2>/dev/null
echo "== reference without Slurm: $((SECONDS - t)) s"

# Waits until no job of ours is pending or running except those waiting on a failed dependency.
wait_jobs() {
    while squeue -h -t PD,R,CG -o %r | grep -qv DependencyNeverSatisfied; do sleep 1; done
}

# --- 2. submit; cancel shard 1 after its first batch; the merge job can never run then: cancel it, submit again
t=$SECONDS
read -r array final < <(deploy/slurm/submit.sh)
echo "== submitted: distillation array $array ($SHARDS tasks, $CPUS cores each), merge and quantize $final"
first_batch=$(printf "%s/shards/shard-1-of-%d.safetensors.partial/batch-%05d.safetensors" "$OUT" "$SHARDS" 1)
until [ -f "$first_batch" ]; do
    squeue -h -j "${array}_1" -t PD,R 2>/dev/null | grep -q . || { echo "FAIL: shard 1 ended before it could be cancelled"; exit 1; }
    sleep 0.2
done
scancel "${array}_1"
wait_jobs
reason=$(squeue -h -j "$final" -o %r)
echo "== shard 1 cancelled after its first batch; job $final now waits with reason $reason: cancelled"
[ "$reason" = DependencyNeverSatisfied ] || { echo "FAIL: expected DependencyNeverSatisfied"; exit 1; }
scancel "$final"
first=$((SECONDS - t))
[ ! -e "$OUT/shards/shard-1-of-$SHARDS.safetensors" ] || { echo "FAIL: the cancelled shard wrote its file"; exit 1; }

t=$SECONDS
read -r array final < <(deploy/slurm/submit.sh)
echo "== submitted again: $array, $final"
wait_jobs
second=$((SECONDS - t))
state=$(scontrol show job "$final" | grep -o 'JobState=[A-Z]*')
echo "== first submission $first s, second $second s; merge and quantize job: $state"

# --- 3. the checks
status=0
check() { if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; status=1; fi; }
check "merge and quantize job completed" [ "$state" = JobState=COMPLETED ]
check "finished shards exit at once on re-submission" grep -q "already holds shard 0/$SHARDS" "$OUT/logs/distill-0.log"
check "the cancelled shard resumes from its saved batch" grep -q "batch 2/.*: already done" "$OUT/logs/distill-1.log"
check "merged images are the unsharded run's, byte for byte" cmp "$OUT/images.safetensors" "$work/reference/images.safetensors"
check "quantized model is the one made without Slurm, byte for byte" \
    cmp "$OUT/quantized.safetensors" "$work/reference/quantized.safetensors"
echo "== per task (time and peak memory of each genie call; the cancelled first try of shard 1 has none):"
grep -H "^genie " "$OUT"/logs/*.log | sed "s|$OUT/logs/||"
echo "== quantized top-1: $(grep -o '"top1":[0-9.]*' "$OUT/evaluate.json")"

for config in ${SCALING:-}; do
    t=$SECONDS
    SHARDS=${config%%:*} CPUS=${config##*:} OUT=$work/scaling-$config EVALUATE=0 deploy/slurm/submit.sh >/dev/null
    while squeue -h -n genie-distill | grep -q .; do sleep 0.5; done
    echo "== scaling: $IMAGES images in $(( (IMAGES + BATCH - 1) / BATCH )) batches, ${config%%:*} shards of ${config##*:} cores: distillation array $((SECONDS - t)) s"
    wait_jobs
done
echo "== check_slurm.sh: $((SECONDS - start)) s in all; $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
