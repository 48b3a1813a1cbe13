"""Writes Tests/Fixtures/optim.safetensors: PyTorch 1.13 optimizer and schedule trajectories.

p0 [5,4] and grads g0..g3 [5,4]; for each optimizer config, the parameter after each of 4 steps
(`<name>.step<k>`). Schedules: the learning rate after each step (`cosine.lr`, `plateau.lr` for the
losses `plateau.losses`, `exponential.lr`).
"""
import os

import torch
from fixtures import FIXTURES, save

torch.manual_seed(0)
p0 = torch.randn(5, 4)
grads = [torch.randn(5, 4) for _ in range(4)]
out = {"p0": p0}
for k, g in enumerate(grads):
    out[f"g{k}"] = g

configs = {
    "sgd_plain": lambda p: torch.optim.SGD([p], lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4),
    "adam": lambda p: torch.optim.Adam([p], lr=0.01),
    "adam_wd": lambda p: torch.optim.Adam([p], lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
}
for name, make in configs.items():
    p = p0.clone().requires_grad_(True)
    opt = make(p)
    for k, g in enumerate(grads):
        p.grad = g.clone()
        opt.step()
        out[f"{name}.step{k}"] = p.detach().clone()

p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=0.5)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
lrs = []
for _ in range(10):
    opt.step()
    cos.step()
    lrs.append(opt.param_groups[0]["lr"])
out["cosine.lr"] = torch.tensor(lrs)

opt = torch.optim.SGD([p], lr=0.1)
exp = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)
lrs = []
for _ in range(5):
    opt.step()
    exp.step()
    lrs.append(opt.param_groups[0]["lr"])
out["exponential.lr"] = torch.tensor(lrs)

opt = torch.optim.Adam([p], lr=0.1)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=3, min_lr=1e-4)
losses = [5, 4, 4, 4, 4, 4, 3.9999, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
lrs = []
for loss in losses:
    plateau.step(loss)
    lrs.append(opt.param_groups[0]["lr"])
out["plateau.losses"] = torch.tensor(losses, dtype=torch.float32)
out["plateau.lr"] = torch.tensor(lrs)
save(os.path.join(FIXTURES, "optim.safetensors"), out)
