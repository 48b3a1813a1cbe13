#!/usr/bin/env bash
# Speed at ImageNet size: forward, distill and reconstruct on ResNet-18 and MobileNetV2 at 3x224x224 (1000
# classes), genie and the PyTorch peer (scripts/peer_bench.py) alternating in one run. Prints a Markdown table:
# images/s (median over the repeats), their ratio, and the peak memory of each process (maximum resident set
# size from /usr/bin/time, which counts set-up such as the reconstruct workload's stored activations).
# Usage: scripts/bench_sizes.sh [iterations] [repeats] [warmup]        (after swift build -c release)
# Environment: ARCHS (resnet18 mobilenet_v2), WORKLOADS (forward distill reconstruct), SIZE (224),
#              FORWARD_BATCH (128), DISTILL_BATCH (128, GENIE's), RECONSTRUCT_BATCH (32, GENIE's).
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-3}
repeats=${2:-2}
warmup=${3:-1}
size=${SIZE:-224}
export MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
images_per_second() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['images_per_second'])"; }
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
# Runs one command with its flags; prints "images/s peak-RSS-MB".
measure() {
  local out
  out=$(/usr/bin/time -f %M -o "$rss" "$@" 2>/dev/null)
  echo "$(echo "$out" | images_per_second) $(awk '{printf "%.0f", $1 / 1024}' "$rss")"
}
echo "| model | workload | batch | genie img/s | PyTorch 1.13 img/s | ratio | genie peak RSS MB | PyTorch peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|"
for arch in ${ARCHS:-resnet18 mobilenet_v2}; do
  for workload in ${WORKLOADS:-forward distill reconstruct}; do
    case $workload in
      forward) batch=${FORWARD_BATCH:-128} ;;
      distill) batch=${DISTILL_BATCH:-128} ;;
      reconstruct) batch=${RECONSTRUCT_BATCH:-32} ;;
    esac
    model=(--arch "$arch" --image-size "$size" --in-channels 3 --classes 1000 --iterations "$iterations" --warmup "$warmup" --json)
    ours=(); theirs=(); our_rss=(); their_rss=()
    for _ in $(seq "$repeats"); do
      read -r speed memory < <(measure .build/release/genie bench --workload "$workload" --batch-size "$batch" "${model[@]}")
      ours+=("$speed"); our_rss+=("$memory")
      read -r speed memory < <(measure /usr/bin/python3 scripts/peer_bench.py --workload "$workload" --batch "$batch" "${model[@]}")
      theirs+=("$speed"); their_rss+=("$memory")
      echo "  $arch $workload: genie ${ours[-1]} img/s ${our_rss[-1]} MB, PyTorch ${theirs[-1]} img/s ${their_rss[-1]} MB" >&2
    done
    a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
    ra=$(printf '%s\n' "${our_rss[@]}" | median); rb=$(printf '%s\n' "${their_rss[@]}" | median)
    printf '| %s %dx%d | %s | %d | %.1f | %.1f | %.2fx | %.0f | %.0f |\n' "$arch" "$size" "$size" "$workload" "$batch" \
      "$a" "$b" "$(echo "$a / $b" | bc -l)" "$ra" "$rb"
  done
done
