#!/usr/bin/env python3
"""Where a quantized model's loss lies: one `genie quantize` file with part of another's learned values
(BENCHMARKS.md, "Weights or activations").

Usage: /usr/bin/python3 scripts/mix_quantized.py BASE OTHER OUT --activations
       /usr/bin/python3 scripts/mix_quantized.py BASE OTHER OUT --layers PREFIX [PREFIX ...]

Writes OUT: BASE's file (same model, bits and metadata) with OTHER's activation step sizes (`activation.N.scale`,
`--activations`), or with OTHER's weights (integer codes, step sizes, zero points) and biases of every layer whose
path starts with a PREFIX (`--layers features.7. classifier`). Both files must quantize the same model at the same
bits. Then `genie evaluate --quantized OUT`. Standard library only: every tensor keeps its bytes and dtype
(the files hold I32 and U8 tensors, which scripts/fixtures.py would widen or not read).
"""
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(size)), f.read()


def main(argv):
    mode, prefixes = (argv[3], argv[4:]) if len(argv) >= 4 else (None, [])
    if not (mode == "--activations" and not prefixes or mode == "--layers" and prefixes):
        sys.exit(__doc__)
    (base, base_data), (other, other_data) = read(argv[0]), read(argv[1])

    def from_other(key):
        if key.startswith("activation."):
            return mode == "--activations" and key.endswith(".scale")
        return any(key.startswith(p) for p in prefixes)

    header, blobs, offset = {}, [], 0
    for key, entry in base.items():
        if key == "__metadata__":
            continue
        source, data = (other, other_data) if from_other(key) else (base, base_data)
        if key not in source or source[key]["shape"] != entry["shape"]:
            sys.exit(f"{argv[1]}: tensor {key} is missing or has another shape than in {argv[0]}")
        start, end = source[key]["data_offsets"]
        blobs.append(data[start:end])
        header[key] = {"dtype": source[key]["dtype"], "shape": entry["shape"], "data_offsets": [offset, offset + end - start]}
        offset += end - start
    header["__metadata__"] = base["__metadata__"]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main(sys.argv[1:])
