#!/usr/bin/env bash
# Builds the libFuzzer target over the parsers (PNG, IDX, gzip, safetensors, JPEG) and runs it.
# Usage: Fuzz/run.sh [seconds, default 60] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out/corpus" "$out/crashes"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name FuzzParsers -I Sources/CZlib -I Sources/CTurboJPEG \
    Fuzz/FuzzParsers.swift Fuzz/TensorStub.swift Sources/Tensors/{SafeTensors,AtomicFile}.swift \
    Sources/Data/{DataError,Zlib,IDX,PNG,PNGDecoder,PNGImage,JPEG,ImageFile,ResizeCrop}.swift -o "$out/fuzz-parsers"
# Seed corpus: the committed fixtures, each prefixed with its parser's selector byte.
for f in Tests/Fixtures/png/*.png; do { printf '\x00'; cat "$f"; } > "$out/corpus/png-$(basename "$f")"; done
printf '\x01\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03\x01\x02\x03\x04\x05\x06' > "$out/corpus/idx"
{ printf '\x02'; printf '\x00\x00\x08\x01\x00\x00\x00\x03\x09\x00\x03' | gzip -c; } > "$out/corpus/gzip"
{ printf '\x03'; cat Tests/Fixtures/safetensors_dtypes.safetensors; } > "$out/corpus/safetensors"
for f in Tests/Fixtures/imagefolder_rgb/*/*.jp*; do { printf '\x04'; cat "$f"; } > "$out/corpus/jpeg-$(basename "$f")"; done
"$out/fuzz-parsers" "$out/corpus" -max_total_time="${1:-60}" -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes/" "${@:2}"
