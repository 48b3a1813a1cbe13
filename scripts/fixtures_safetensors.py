"""Writes Tests/Fixtures/safetensors_dtypes.safetensors: one small tensor per dtype the reader supports."""
import torch
import os

from fixtures import FIXTURES, save

v = torch.tensor([1.5, -2.0, 3.25])
save(os.path.join(FIXTURES, "safetensors_dtypes.safetensors"),
     {"f32": v, "f16": v.half(), "bf16": v.bfloat16(), "i64": torch.tensor([[7], [-3]])},
     {"note": "dtype round trip"})
