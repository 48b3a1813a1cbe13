#!/usr/bin/env bash
# Image-folder loader throughput, genie against torchvision's ImageFolder + DataLoader (2 workers), in one run:
# both read the whole folder once per repeat through Resize(256), CenterCrop(224), ToTensor, Normalize (batch 64),
# alternating, after one untimed pass each (page cache). Prints a Markdown row with the medians and the ratio.
# Usage: scripts/bench_loader.sh DIR [repeats]   (after swift build -c release; make DIR with
#        /usr/bin/python3 scripts/imagefolder_peer.py large DIR 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
repeats=${2:-3}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
ours() { .build/release/genie bench --workload loader --data "$dir" --resize 256 --crop 224 --batch-size 64 --json 2>/dev/null; }
theirs() { /usr/bin/python3 scripts/imagefolder_peer.py loader "$dir" --resize 256 --crop 224 --workers 2 --batch 64 2>/dev/null; }
ours >/dev/null; theirs >/dev/null
a=(); b=(); ra=(); rb=()
for _ in $(seq "$repeats"); do
  out=$(ours); a+=("$(echo "$out" | field images_per_second)"); ra+=("$(echo "$out" | field peak_rss_mb)")
  out=$(theirs); b+=("$(echo "$out" | field images_per_second)"); rb+=("$(echo "$out" | field peak_rss_mb)")
done
n=$(find "$dir" -type f | wc -l)
x=$(printf '%s\n' "${a[@]}" | median); y=$(printf '%s\n' "${b[@]}" | median)
echo "| images | genie img/s | torchvision (2 workers) img/s | ratio | genie peak RSS MB | torchvision main-process peak RSS MB |"
echo "|---|---|---|---|---|---|"
printf '| %d | %.0f | %.0f | %.2fx | %.0f | %.0f |\n' "$n" "$x" "$y" "$(echo "$x / $y" | bc -l)" \
  "$(printf '%s\n' "${ra[@]}" | median)" "$(printf '%s\n' "${rb[@]}" | median)"
echo "all genie: ${a[*]}; all torchvision: ${b[*]}"
