"""Writes Tests/Fixtures/layers.safetensors: PyTorch 1.13 golden values for the layer ops.

Each op `<op>` has its inputs, its output(s) and, for a fixed output-gradient probe `<op>.g`, the gradients
`<op>.d<input>` of `sum(output * g)`. Run with /usr/bin/python3 from anywhere.
"""
import os

import torch
import torch.nn.functional as F
from fixtures import FIXTURES, save

torch.manual_seed(0)
out = {}


def grads(name, inputs, output, probe=None, shared=None):
    """Stores output, probe and the gradients of sum(output * probe) wrt the named inputs (the inputs
    themselves under `<name>.<input>`, or once under `<shared>.<input>` when several ops share them)."""
    g = torch.randn_like(output) if probe is None else probe
    total = (output * g).sum()
    got = torch.autograd.grad(total, list(inputs.values()))
    out[f"{name}.y"] = output.detach()
    out[f"{name}.g"] = g
    for (k, v), d in zip(inputs.items(), got):
        out[f"{shared or name}.{k}"] = v.detach()
        out[f"{name}.d{k}"] = d


# Batch norm, train mode, 4-D: output, gradients, batch statistics and the running-stat update.
x = (torch.randn(4, 16, 5, 5) * 2 + 3).requires_grad_()
w = (torch.rand(16) + 0.5).requires_grad_()
b = torch.randn(16).requires_grad_()
bn = torch.nn.BatchNorm2d(16, momentum=0.1)
with torch.no_grad():
    bn.weight.copy_(w)
    bn.bias.copy_(b)
    bn.running_mean.copy_(torch.randn(16) * 0.1)
    bn.running_var.copy_(torch.rand(16) + 0.5)
out["bn_train.running_mean0"] = bn.running_mean.clone()
out["bn_train.running_var0"] = bn.running_var.clone()
bn.train()
y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
grads("bn_train", {"x": x, "w": w, "b": b}, y)
bn(x.detach())
out["bn_train.running_mean1"] = bn.running_mean.clone()
out["bn_train.running_var1"] = bn.running_var.clone()
out["bn_train.mean"] = x.detach().mean(dim=(0, 2, 3))
out["bn_train.var"] = x.detach().var(dim=(0, 2, 3), unbiased=False)

# Batch norm, train mode, 2-D (BatchNorm1d), no affine.
x = (torch.randn(8, 6) - 1).requires_grad_()
grads("bn1d", {"x": x}, F.batch_norm(x, None, None, None, None, training=True, eps=1e-5))

# Batch norm, eval mode, 4-D.
x = torch.randn(2, 16, 4, 4).requires_grad_()
w = (torch.rand(16) + 0.5).requires_grad_()
b = torch.randn(16).requires_grad_()
rm, rv = torch.randn(16), torch.rand(16) + 0.5
out["bn_eval.mean"], out["bn_eval.var"] = rm, rv
grads("bn_eval", {"x": x, "w": w, "b": b}, F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5))

# Channel and spatial moments (torch.std_mean), unbiased and biased.
x = (torch.randn(2, 16, 4, 5) + 0.5).requires_grad_()
for unbiased in (True, False):
    tag = "u" if unbiased else "b"
    for name, dims in (("channel", (0, 2, 3)), ("spatial", (2, 3))):
        std, mean = torch.std_mean(x, dim=dims, unbiased=unbiased)
        gm, gs = torch.randn_like(mean), torch.randn_like(std)
        (dx,) = torch.autograd.grad((mean * gm).sum() + (std * gs).sum(), [x])
        key = f"{name}_{tag}"
        out[f"{key}.mean"], out[f"{key}.std"] = mean.detach(), std.detach()
        out[f"{key}.gm"], out[f"{key}.gs"], out[f"{key}.dx"] = gm, gs, dx
out["moments.x"] = x.detach()

# Pooling.
x = torch.randn(1, 16, 7, 7).requires_grad_()
grads("maxpool", {"x": x}, F.max_pool2d(x, 3, stride=2, padding=1), shared="pool")
grads("maxpool2", {"x": x}, F.max_pool2d(x, 2), shared="pool")
grads("avgpool", {"x": x}, F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True), shared="pool")
grads("adaptive1", {"x": x}, F.adaptive_avg_pool2d(x, 1), shared="pool")
grads("adaptive3", {"x": x}, F.adaptive_avg_pool2d(x, 3), shared="pool")

# Resampling.
x = torch.randn(1, 16, 4, 5).requires_grad_()
grads("upsample", {"x": x}, F.interpolate(x, scale_factor=2, mode="nearest"), shared="resample")
grads("reflect", {"x": x}, torch.nn.ReflectionPad2d(2)(x), shared="resample")

# Linear.
x = torch.randn(4, 7).requires_grad_()
w = torch.randn(5, 7).requires_grad_()
b = torch.randn(5).requires_grad_()
grads("linear", {"x": x, "w": w, "b": b}, F.linear(x, w, b))

# Losses.
x = (torch.randn(4, 10) * 3).requires_grad_()
grads("logsoftmax", {"x": x}, F.log_softmax(x, dim=-1))
x = (torch.randn(6, 10) * 3).requires_grad_()
labels = torch.tensor([3, 0, 9, 3, 5, 1])
out["ce.labels"] = labels
grads("ce", {"x": x}, F.cross_entropy(x, labels), probe=torch.tensor(1.0))
a, b = torch.randn(3, 4, 5).requires_grad_(), torch.randn(3, 4, 5).requires_grad_()
grads("mse", {"a": a, "b": b}, F.mse_loss(a, b), probe=torch.tensor(1.0))

save(os.path.join(FIXTURES, "layers.safetensors"), out)
print(len(out), "tensors")
