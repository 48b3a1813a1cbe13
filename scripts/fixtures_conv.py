"""Writes Tests/Fixtures/conv.safetensors: PyTorch 1.13 golden values for conv2d.

Each case `<c>` has input `<c>.x`, weight `<c>.w`, bias `<c>.b`, its settings `<c>.config` =
[stride, padding, groups], output `<c>.y`, a fixed output-gradient probe `<c>.g` and the gradients
`<c>.dx`, `<c>.dw`, `<c>.db` of `sum(y * g)`. Run with /usr/bin/python3 from anywhere.
"""
import os

import torch
import torch.nn.functional as F
from fixtures import FIXTURES, save

torch.manual_seed(0)
CASES = {
    "rgb": ((2, 3, 9, 9), 16, 3, 1, 1, 1),           # (input shape, out channels, kernel, stride, padding, groups)
    "down": ((1, 16, 6, 6), 16, 3, 2, 1, 1),
    "depthwise": ((2, 32, 5, 5), 32, 3, 1, 1, 32),
    "grouped": ((1, 24, 7, 7), 8, 1, 1, 0, 2),
    "gray7x7": ((2, 1, 12, 12), 16, 7, 2, 3, 1),
}
out = {}
for name, (shape, o, k, stride, padding, groups) in CASES.items():
    x = torch.randn(*shape, requires_grad=True)
    w = (torch.randn(o, shape[1] // groups, k, k) * 0.3).requires_grad_()
    b = torch.randn(o, requires_grad=True)
    y = F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    g = torch.randn_like(y)
    dx, dw, db = torch.autograd.grad((y * g).sum(), [x, w, b])
    out.update({f"{name}.x": x, f"{name}.w": w, f"{name}.b": b, f"{name}.y": y, f"{name}.g": g,
                f"{name}.dx": dx, f"{name}.dw": dw, f"{name}.db": db,
                f"{name}.config": torch.tensor([stride, padding, groups], dtype=torch.float32)})
save(os.path.join(FIXTURES, "conv.safetensors"), out)
