"""Tiny safetensors reader/writer for golden fixtures (no dependency beyond torch).

save(path, {name: tensor}, metadata=None) writes F32 (floats) and I64 (integers) tensors;
load(path) returns ({name: tensor}, metadata). Run fixture scripts with /usr/bin/python3.
"""
import json
import os
import struct

import torch

#: Where fixture files go: Tests/Fixtures of the repository, whatever the working directory.
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")

_DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8", torch.float16: "F16", torch.bfloat16: "BF16"}
_TORCH = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype.is_floating_point and t.dtype not in (torch.float16, torch.bfloat16):
            t = t.float()
        elif not t.dtype.is_floating_point and t.dtype != torch.uint8:
            t = t.long()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dtype = _TORCH[info["dtype"]]
        raw = bytearray(data[a:b])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta
