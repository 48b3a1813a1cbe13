#!/usr/bin/env bash
# ONNX interop check (run by .ci/run after the tests): quantizes each model below with a small budget (32 training
# images, 20 iterations; calibrated on noise, the 2-bit ResNet-20 sat near 44% top-1, where int32 biases flipped
# enough of its narrow margins to fail the deployed comparison on one CPU), exports it with `genie export`,
# validates the ONNX files with the ONNX checker and runs them with onnxruntime on the Fashion-MNIST test set,
# comparing top-1 and every image's logits with `genie evaluate` (scripts/check_onnx.py).
# onnx, onnxruntime and numpy come from PyPI into a venv under .build (Debian's python3 is externally managed).
# Needs a release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per model: weights file, then quantizations as WBITSxABITS:OPSET. An ONNX file is an imported graph
# (its quantized file carries the graph; the export walks it), normalized as Fashion-MNIST.
models=(
    "models/resnet20.safetensors 4x4:13 2x4:21"
    "models/mobilenet_v2.safetensors 4x4:13 2x4:21"
    "Tests/Fixtures/onnx/mnasnet.onnx 4x4:13 2x4:21"
    "Tests/Fixtures/onnx/shufflenet_v2.onnx 4x4:13 2x4:21"
    "Tests/Fixtures/onnx/mobilenet_v2.onnx 4x4:13"
)

genie=.build/release/genie
venv=.build/onnx-venv
source scripts/python_venv.sh
python_venv "$venv" "onnx, onnxruntime, numpy" onnx onnxruntime numpy

work=$(mktemp -d /tmp/genie-onnx.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Runs a command with its progress bars (standard error) shown only if it fails.
quiet() { "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }; }
status=0
for line in "${models[@]}"; do
    read -r weights configs <<<"$line"
    name=$(basename "${weights%.*}")
    normalization=()
    [[ $weights == *.onnx ]] && normalization=(--mean 0.2860 --std 0.3530)
    for config in $configs; do
        bits=${config%%:*} opset=${config##*:}
        wbits=${bits%%x*} abits=${bits##*x}
        q="$work/${name}_w${wbits}a${abits}_opset${opset}"
        echo "== $name W${wbits}A${abits}, opset $opset"
        quiet "$genie" quantize --weights "$weights" "${normalization[@]}" --wbits "$wbits" --abits "$abits" --real 32 --iterations 20 \
            --out "$q.safetensors" >/dev/null
        quiet "$genie" evaluate --quantized "$q.safetensors" --json --logits "$q.logits.safetensors" >"$q.json"
        "$genie" export --quantized "$q.safetensors" --onnx "$q.onnx" --opset "$opset"
        "$genie" export --quantized "$q.safetensors" --onnx "$q.float-biases.onnx" --opset "$opset" --float-biases >/dev/null
        "$venv/bin/python" -u scripts/check_onnx.py "$q.logits.safetensors" "$q.json" \
            --exact "$q.float-biases.onnx" --deployed "$q.onnx" || status=1
    done
done
exit $status
