#!/usr/bin/env bash
# Zero-shot GENIE end to end on a model trained outside genie (a torchvision model trained in PyTorch by
# scripts/interop_torchvision.py), as a new user runs it: distill, quantize (GENIE-M, rtn, few-shot), evaluate
# and export every quantized file, at W2A4 and W4A4. Prints a Markdown table with the top-1 and the time of
# each phase; every command must succeed (a file the reader refuses fails the script).
# Usage: scripts/outside_model.sh WEIGHTS "MODEL FLAGS" [seed] [images] [distill-iterations] [iterations]
# e.g.   scripts/outside_model.sh runs/tv_resnet18.safetensors "--arch resnet18 --in-channels 1 --num-classes 10" 1
# or     scripts/outside_model.sh models/regnet_x_600mf_half.onnx "" 0 256 500 1000   (an ONNX export: no model flags)
# (after `swift build -c release`). Files go to runs/outside-NAME-sSEED/; finished files are reused.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
weights=$1 flags=$2 seed=${3:-1} images=${4:-256} distill_iterations=${5:-500} iterations=${6:-2000}
genie=${GENIE:-.build/release/genie}
file=$(basename "$weights"); dir=runs/outside-${file%.*}-s$seed
mkdir -p "$dir"
read -r -a model <<< "$flags --weights $weights --mean 0.2860 --std 0.3530"
field() { /usr/bin/python3 -c "import json,sys; print('%.${2:-2}f' % json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
seconds() { local start=$SECONDS; "$@" >&2; echo $((SECONDS - start)); }

fp=$($genie evaluate "${model[@]}" --json | field top1)
distill_s=-
[ -f "$dir/images.safetensors" ] || distill_s=$(seconds $genie distill "${model[@]}" --images "$images" --batch-size 128 \
  --iterations "$distill_iterations" --seed "$seed" --out "$dir/images.safetensors")
echo "| setting | top-1 | quantize s | evaluate s | export s |"
echo "|---|---|---|---|---|"
echo "| full precision | $fp | | | |"
echo "| GENIE-D ($images images, $distill_iterations iterations) | | ${distill_s} (distill) | | |"
for bits in 2/4 4/4; do
  w=${bits%/*} a=${bits#*/}
  for row in "genie --calib $dir/images.safetensors" "rtn --calib $dir/images.safetensors" "genie --real $images"; do
    read -r method calib source <<< "$row"
    name=$method-${calib#--}-w${w}a$a out=$dir/$name.safetensors q_s=-
    [ -f "$out" ] || q_s=$(seconds $genie quantize "${model[@]}" --wbits "$w" --abits "$a" --method "$method" \
      "$calib" "$source" --iterations "$iterations" --seed "$seed" --out "$out")
    start=$SECONDS; top1=$($genie evaluate --quantized "$out" --json | field top1); e_s=$((SECONDS - start))
    x_s=$(seconds $genie export --quantized "$out" --onnx "$dir/$name.onnx" --opset 21)
    echo "| W${w}A$a $method, ${calib#--} | $top1 | $q_s | $e_s | $x_s |"
  done
done
