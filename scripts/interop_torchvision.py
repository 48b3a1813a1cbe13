"""Trains a torchvision classifier (1 input channel, 10 classes, torchvision's own stem) on Fashion-MNIST in
PyTorch, exports it with export_torchvision.py and records PyTorch's test top-1 and the genie model flags in its
metadata. Models trained elsewhere behave differently from genie's own: these are the outside models the tests
and BENCHMARKS.md use.

Usage: /usr/bin/python3 scripts/interop_torchvision.py [--arch mobilenet_v2] [--width-mult 0.25] [--epochs 2]
       [--out Tests/Fixtures/torchvision_mobilenet_v2.safetensors]
The defaults write the interop fixture (Tests/ModelsTests/TorchvisionInteropTests.swift: genie must evaluate it
to the same top-1). `--arch resnet18 --epochs 4 --out runs/tv_resnet18.safetensors` makes the ResNet-18 of
BENCHMARKS.md (genie flags: --arch resnet18 --in-channels 1 --num-classes 10). `--arch regnet_x_600mf_half
--onnx models/regnet_x_600mf_half.onnx` and `--arch mnasnet0_5 --onnx models/mnasnet0_5.onnx` write ONNX exports
(with their batch norms, as docs/ONNX.md says) of architectures genie reads only from ONNX: RegNetX-600MF's design
(depth 16, w_a 36.97, w_m 2.24) at half its widths (w_0 24 instead of 48, group width 8 instead of 24) to keep
the file small, and torchvision's MNASNet 0.5. `--trained FILE.safetensors --onnx OUT.onnx` exports a model this
script trained before (e.g. the interop fixture) to ONNX without training it again.
"""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.regnet import BlockParams, RegNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import load  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def images(split):
    x = idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    return torch.from_numpy((x - MEAN) / STD), torch.from_numpy(idx(f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64))


def build(arch, width_mult):
    """torchvision's model with its stem conv taking one channel (same kernel, stride and padding)."""
    if arch == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2(num_classes=10, width_mult=width_mult)
        stem = model.features[0][0]
        model.features[0][0] = torch.nn.Conv2d(1, stem.out_channels, 3, stride=2, padding=1, bias=False)
        return model, ["width_mult=%g" % width_mult, "stem_stride=2"]
    if arch == "regnet_x_600mf_half":
        model = RegNet(BlockParams.from_init_params(depth=16, w_0=24, w_a=18.5, w_m=2.24, group_width=8), num_classes=10)
        model.stem[0] = torch.nn.Conv2d(1, model.stem[0].out_channels, 3, stride=2, padding=1, bias=False)
        return model, []
    if arch == "mnasnet0_5":
        model = torchvision.models.mnasnet0_5(num_classes=10)
        model.layers[0] = torch.nn.Conv2d(1, model.layers[0].out_channels, 3, stride=2, padding=1, bias=False)
        for m in model.modules():  # torchvision's BN momentum 0.0003 suits 600 epochs; in 3 the running stats stay near 0/1
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
        return model, []
    model = getattr(torchvision.models, arch)(num_classes=10)
    stem = model.conv1
    model.conv1 = torch.nn.Conv2d(1, stem.out_channels, 7, stride=2, padding=3, bias=False)
    return model, []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="mobilenet_v2", choices=["mobilenet_v2", "resnet18", "resnet50", "regnet_x_600mf_half", "mnasnet0_5"])
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--trained", help="a state dict this script wrote (safetensors): export it, do not train")
    parser.add_argument("--onnx", help="write an ONNX export (batch norms kept, dynamic batch) instead of safetensors")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "Tests", "Fixtures", "torchvision_mobilenet_v2.safetensors"))
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model, flags = build(args.arch, args.width_mult)
    x, y = images("train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    if args.trained:
        model.load_state_dict(load(args.trained)[0])
        args.epochs = 0
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(x)).split(128):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}/{args.epochs} done, training loss {total / len(x):.4f}", flush=True)
    model.eval()
    tx, ty = images("t10k")
    with torch.no_grad():
        predictions = torch.cat([model(b).argmax(1) for b in tx.split(500)])
    top1 = (predictions == ty).float().mean().item() * 100
    print(f"PyTorch test top-1: {top1:.2f}%")
    if args.onnx:
        torch.onnx.export(model, tx[:1], args.onnx, training=torch.onnx.TrainingMode.PRESERVE, opset_version=13,
                          input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        print(f"{args.onnx}: {os.path.getsize(args.onnx)} bytes, PyTorch test top-1 {top1:.2f}% (genie flags: --mean {MEAN} --std {STD})")
        return
    checkpoint = f"/tmp/torchvision_{args.arch}.pth"
    torch.save(model.state_dict(), checkpoint)
    subprocess.run([sys.executable, os.path.join(HERE, "export_torchvision.py"), args.arch, args.out,
                    "--weights", checkpoint, "--metadata", f"pytorch_top1={top1:.2f}", "in_channels=1",
                    f"epochs={args.epochs}", *flags], check=True)


if __name__ == "__main__":
    main()
