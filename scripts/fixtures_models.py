"""Writes the model-zoo fixtures (run with /usr/bin/python3; needs python3-torchvision):

- Tests/Fixtures/model_keys.json: for torchvision resnet18, resnet50, mobilenet_v2 (defaults) and
  mobilenet_v2(num_classes=10) with a 1-channel stem, and this project's resnet20: the state-dict keys in
  order with their shapes.
- Tests/Fixtures/models.safetensors: for each of resnet20 (1x28x28, 10 classes), resnet18 (3x32x32, 10 classes),
  resnet50 (3x32x32, 10 classes) and mobilenet_v2 (1x28x28, 10 classes, stem stride 1), with *formula weights*
  (see `formula_state`, reproduced in Swift so no weights are stored): `<arch>.input` [2,C,H,W],
  `<arch>.logits` (eval mode) and `<arch>.input_grad`, the gradient of sum(logits * `<arch>.probe`) w.r.t. input.
"""
import json
import math
import os
import sys

import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import FIXTURES, save  # noqa: E402
from genie_reference import resnet20  # noqa: E402


def formula_state(model):
    """Deterministic weights from each entry's index k in state-dict order and flat position j."""
    state = {}
    for k, (name, t) in enumerate(model.state_dict().items()):
        j = torch.arange(t.numel(), dtype=torch.float64)
        wave = torch.sin(0.7 * j + 1.1 * k)
        if name.endswith("num_batches_tracked"):
            v = torch.zeros(t.shape, dtype=torch.int64)
        elif name.endswith("running_var"):
            v = (1.0 + 0.25 * (1 + wave)).reshape(t.shape)
        elif name.endswith("running_mean") or name.endswith("bias"):
            v = (0.1 * wave).reshape(t.shape)
        elif t.dim() == 1:  # BN weight
            v = (1.0 + 0.1 * wave).reshape(t.shape)
        else:
            fan_in = t.numel() // t.shape[0]
            v = (wave * math.sqrt(3.0 / fan_in)).reshape(t.shape)
        state[name] = v.to(t.dtype)
    return state


def mobilenet_small():
    m = torchvision.models.mobilenet_v2(num_classes=10)
    m.features[0][0] = nn.Conv2d(1, 32, 3, 1, 1, bias=False)
    return m


def main():
    torch.manual_seed(0)
    keys = {}
    for name, make in [("resnet18", torchvision.models.resnet18), ("resnet50", torchvision.models.resnet50),
                       ("mobilenet_v2", torchvision.models.mobilenet_v2), ("mobilenet_v2_small", mobilenet_small),
                       ("resnet20", resnet20)]:
        keys[name] = [[k, list(v.shape)] for k, v in make().state_dict().items()]
    with open(os.path.join(FIXTURES, "model_keys.json"), "w") as f:
        json.dump(keys, f, separators=(",", ":"))

    out = {}
    cases = [("resnet20", resnet20, (1, 28, 28)),
             ("resnet18", lambda: torchvision.models.resnet18(num_classes=10), (3, 32, 32)),
             ("resnet50", lambda: torchvision.models.resnet50(num_classes=10), (3, 32, 32)),
             ("mobilenet_v2", mobilenet_small, (1, 28, 28))]
    for name, make, shape in cases:
        model = make().double()
        model.load_state_dict(formula_state(model))
        model.eval()
        x = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
        logits = model(x)
        probe = torch.randn_like(logits)
        (logits * probe).sum().backward()
        out[f"{name}.input"] = x.detach().float()
        out[f"{name}.logits"] = logits.detach().float()
        out[f"{name}.probe"] = probe.float()
        out[f"{name}.input_grad"] = x.grad.float()
    save(os.path.join(FIXTURES, "models.safetensors"), out)


if __name__ == "__main__":
    main()
