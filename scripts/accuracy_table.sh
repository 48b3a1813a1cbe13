#!/usr/bin/env bash
# Fills one model's rows of the accuracy table in BENCHMARKS.md (issue 5): full precision, rtn, GENIE-M on
# noise / pixels (ZeroQ) / GENIE-D without swing / GENIE-D swinging only maps of 14x14 and more / genie's GENIE-D
# (that, without the per-image term) / GENIE-D, brecq on GENIE-D, and GENIE-M on real images (few-shot), at W4A4,
# W3A3 and W2A4, with one seed (distillation and quantization both) and one budget for every row.
# Usage: scripts/accuracy_table.sh WEIGHTS [images] [distill-iterations] [reconstruction-iterations] [seed]
# (after `swift build -c release`). Files go to runs/table-NAME-sSEED/; finished files are reused, so an
# interrupted run continues where it stopped. Prints the Markdown table at the end; scripts/mean_spread.py
# combines the tables of several seeds.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
weights=$1 images=${2:-256} distill_iterations=${3:-500} iterations=${4:-1000} seed=${5:-0}
genie=${GENIE:-.build/release/genie}  # GENIE=path runs another build (e.g. a copy, while rebuilding)
dir=runs/table-$(basename "$weights" .safetensors)-s$seed
mkdir -p "$dir"
top1() { /usr/bin/python3 -c "import json,sys; print('%.2f' % json.loads(sys.stdin.read().strip().splitlines()[-1])['top1'])"; }

distill() {  # name, flags...
  local name=$1; shift
  [ -f "$dir/$name.safetensors" ] || $genie distill --weights "$weights" --images "$images" --batch-size 128 \
    --iterations "$distill_iterations" --seed "$seed" --out "$dir/$name.safetensors" "$@" >&2
}
distill genie-d --method genie-paper  # GENIE's swing rule (every strided convolution), the paper's row
distill genie-d-no-swing --no-swing --image-term-weight 1  # the swing ablations keep GENIE's loss
distill genie-d-swing14 --swing-min-side 14 --image-term-weight 1
distill genie-d-default  # genie's default: swing on maps of 14x14 and more, no per-image term
distill pixels --method pixels
distill noise --method noise

quantize() {  # row file, flags...: prints the quantized model's top-1
  local out=$1; shift
  [ -f "$out" ] || $genie quantize --weights "$weights" --iterations "$iterations" --seed "$seed" --out "$out" "$@" >&2
  $genie evaluate --quantized "$out" --json | top1
}

rows=("full precision" "rtn (GENIE-D data)" "GENIE-M on noise" "GENIE-M on pixels (ZeroQ)"
      "GENIE-M on GENIE-D without swing" "GENIE-M on GENIE-D, swing on maps of 14x14 and more"
      "GENIE-M on genie's GENIE-D (swing on maps of 14x14 and more, no per-image term)"
      "GENIE-M on GENIE-D (zero-shot GENIE)" "brecq on GENIE-D"
      "GENIE-M on $images real images (few-shot)")
declare -A cell
fp=$($genie evaluate --weights "$weights" --json | top1)
for bits in 4/4 3/3 2/4; do
  w=${bits%/*} a=${bits#*/} tag=w${bits%/*}a${bits#*/}
  q=(--wbits "$w" --abits "$a")
  cell[0,$tag]=$fp
  cell[1,$tag]=$(quantize "$dir/rtn-$tag.safetensors" "${q[@]}" --method rtn --calib "$dir/genie-d.safetensors")
  cell[2,$tag]=$(quantize "$dir/noise-$tag.safetensors" "${q[@]}" --calib "$dir/noise.safetensors")
  cell[3,$tag]=$(quantize "$dir/pixels-$tag.safetensors" "${q[@]}" --calib "$dir/pixels.safetensors")
  cell[4,$tag]=$(quantize "$dir/no-swing-$tag.safetensors" "${q[@]}" --calib "$dir/genie-d-no-swing.safetensors")
  cell[5,$tag]=$(quantize "$dir/swing14-$tag.safetensors" "${q[@]}" --calib "$dir/genie-d-swing14.safetensors")
  cell[6,$tag]=$(quantize "$dir/default-$tag.safetensors" "${q[@]}" --calib "$dir/genie-d-default.safetensors")
  cell[7,$tag]=$(quantize "$dir/genie-$tag.safetensors" "${q[@]}" --calib "$dir/genie-d.safetensors")
  cell[8,$tag]=$(quantize "$dir/brecq-$tag.safetensors" "${q[@]}" --method brecq --calib "$dir/genie-d.safetensors")
  cell[9,$tag]=$(quantize "$dir/real-$tag.safetensors" "${q[@]}" --real "$images")
done

echo "| $(basename "$weights" .safetensors) | W4A4 | W3A3 | W2A4 |"
echo "|---|---|---|---|"
for i in "${!rows[@]}"; do
  echo "| ${rows[$i]} | ${cell[$i,w4a4]} | ${cell[$i,w3a3]} | ${cell[$i,w2a4]} |"
done
