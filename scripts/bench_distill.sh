#!/usr/bin/env bash
# Times issue 4's acceptance distillation end to end with genie and with the PyTorch peer (the reference's
# GENIE-D, scripts/peer_distill.py) in one run, on the committed resnet20, and prints a Markdown table row.
# Usage: scripts/bench_distill.sh [images] [iterations]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-256} iterations=${2:-1000}
export MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ours=$(/usr/bin/time -f '%M' -o "$out/rss" .build/release/genie distill --weights models/resnet20.safetensors \
  --images "$images" --batch-size 128 --iterations "$iterations" --seed 0 --out "$out/images.safetensors" --json 2>/dev/null)
theirs=$(/usr/bin/python3 scripts/peer_distill.py --weights models/resnet20.safetensors --images "$images" --batch 128 \
  --iterations "$iterations" --seed 0 --json 2>/dev/null)
a=$(echo "$ours" | field seconds) b=$(echo "$theirs" | field seconds)
echo "| images | iterations | genie s | PyTorch s | speed-up | genie loss first -> last | genie peak RSS MB | PyTorch peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|"
printf '| %d | %d | %.0f | %.0f | %.2fx | %.3f -> %.4f | %.0f | %.0f |\n' "$images" "$iterations" "$a" "$b" \
  "$(echo "$b / $a" | bc -l)" "$(echo "$ours" | field initial_loss)" "$(echo "$ours" | field final_loss)" \
  "$(echo "$(cat "$out/rss") / 1024" | bc -l)" "$(echo "$theirs" | field peak_rss_mb)"
