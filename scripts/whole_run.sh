#!/usr/bin/env bash
# The whole zero-shot run, genie against this project's PyTorch port of GENIE's reference (issues 16 and 18), one
# after the other on the same model, image count, budget, bits and seed: `genie run`, then scripts/reference_run.py.
# Prints a Markdown table row: each side's seconds per phase (distill, reconstruct, evaluate) and in all, the
# reference's total over genie's, and both sides' full-precision and quantized top-1; then, unit by unit, both
# sides' output error (relative MSE of the unit's output against the full-precision model's on each side's own
# calibration images, as genie's unit report measures it) and both sides' seconds (collecting the unit's data,
# its iterations, freezing it) with their ratio.
# Usage: scripts/whole_run.sh WEIGHTS "MODEL FLAGS" SEED IMAGES DISTILL_ITERS ITERS [WBITS ABITS]
# e.g.   scripts/whole_run.sh models/resnet20.safetensors "" 0 256 500 1000 4 4        (the quick budget)
#        scripts/whole_run.sh runs/tv_resnet18.safetensors "--arch resnet18 --in-channels 1 --num-classes 10" 1 256 500 2000 2 4
# (after `swift build -c release`; GENIE=path picks another genie; THREADS=1 runs both sides on one thread, for
# accuracy runs side by side, whose seconds then measure nothing). Both JSON records and logs are kept in
# runs/whole-NAME-wWaA-sSEED-nIMAGES-dDISTILL_ITERS-rITERS/.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
[ $# -ge 6 ] || { sed -n '8,10p' "$0" >&2; exit 64; }
weights=$1 flags=$2 seed=$3 images=$4 distill_iterations=$5 iterations=$6 wbits=${7:-4} abits=${8:-4}
genie=${GENIE:-.build/release/genie}
threads=${THREADS:-2}
file=$(basename "$weights")
dir=runs/whole-${file%.*}-w${wbits}a$abits-s$seed-n$images-d$distill_iterations-r$iterations
rm -rf "$dir/genie"  # genie run resumes a folder it finds: start afresh
mkdir -p "$dir"
read -r -a model <<< "$flags --weights $weights"
budget=(--images "$images" --distill-iterations "$distill_iterations" --iterations "$iterations"
        --wbits "$wbits" --abits "$abits" --seed "$seed")

OMP_NUM_THREADS=$threads $genie run "${model[@]}" "${budget[@]}" --out "$dir/genie" --json > "$dir/genie.json" 2> "$dir/genie.log"
MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
  /usr/bin/python3 scripts/reference_run.py "${model[@]}" "${budget[@]}" --threads "$threads" > "$dir/reference.json" 2> "$dir/reference.log"

/usr/bin/python3 - "$dir" "$file" <<'EOF'
import json, sys
folder, name = sys.argv[1:]
g = json.load(open(f"{folder}/genie.json"))
r = json.loads(open(f"{folder}/reference.json").read().strip().splitlines()[-1])
p = g["phase_seconds"]
print("| model | W/A | seed | images, distill, rec. iterations | genie distill / reconstruct / evaluate s | genie total s (with its time estimate) "
      "| reference distill / reconstruct / evaluate s | reference total s | reference / genie | FP top-1 genie, reference "
      "| top-1 genie | top-1 reference |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {name} | W{g['wbits']}A{g['abits']} | {g['seed']} | {g['images']}, {g['distill_iterations']}, "
      f"{g['reconstruction_iterations']} | {p['distill']:.0f} / {p['reconstruct']:.0f} / {p['evaluate']:.0f} "
      f"| {g['seconds']:.0f} | {r['distill_seconds']:.0f} / {r['reconstruct_seconds']:.0f} / {r['evaluate_seconds']:.0f} "
      f"| {r['total_seconds']:.0f} | {r['total_seconds'] / g['seconds']:.2f}x | {g['fp_top1']:.2f}, {r['fp_top1']:.2f} "
      f"| {g['quant_top1']:.2f} | {r['top1']:.2f} |")
units = json.load(open(f"{folder}/genie/quantized.units.json"))["units"]
print("\n| unit | output error genie | output error reference | genie s | reference s | reference / genie |\n"
      "|---|---|---|---|---|---|")
for u in units:
    path, mine = u["path"], u.get("seconds", float("nan"))
    theirs = r["unit_seconds"].get(path, float("nan"))
    print(f"| {path} | {u['output_error']:.3e} | {r['unit_output_error'].get(path, float('nan')):.3e} "
          f"| {mine:.1f} | {theirs:.1f} | {theirs / mine:.2f}x |")
EOF
