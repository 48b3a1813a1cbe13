#!/usr/bin/env bash
# Runs the four engine workloads with genie and with the PyTorch peer in one run and prints a Markdown
# table with the ratio. Usage: scripts/bench_engine.sh [iterations] [repeats]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-10}
repeats=${2:-3}
export MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
echo "| workload | batch | genie img/s | PyTorch 1.13 img/s | ratio | genie peak RSS MB | PyTorch peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
for workload in forward train distill reconstruct; do
  batch=128; [ "$workload" = reconstruct ] && batch=32
  ours=(); theirs=(); our_rss=(); their_rss=()
  for _ in $(seq "$repeats"); do
    out=$(.build/release/genie bench --workload "$workload" --batch-size "$batch" --iterations "$iterations" --json)
    ours+=("$(echo "$out" | field images_per_second)"); our_rss+=("$(echo "$out" | field peak_rss_mb)")
    out=$(/usr/bin/python3 scripts/peer_bench.py --workload "$workload" --batch "$batch" --iterations "$iterations" --json 2>/dev/null)
    theirs+=("$(echo "$out" | field images_per_second)"); their_rss+=("$(echo "$out" | field peak_rss_mb)")
  done
  a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
  ra=$(printf '%s\n' "${our_rss[@]}" | median); rb=$(printf '%s\n' "${their_rss[@]}" | median)
  printf '| %s | %d | %.0f | %.0f | %.2fx | %.0f | %.0f |\n' "$workload" "$batch" "$a" "$b" "$(echo "$a / $b" | bc -l)" "$ra" "$rb"
done
