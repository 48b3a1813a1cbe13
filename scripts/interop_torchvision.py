"""Trains torchvision's mobilenet_v2 (width 0.25, 1 input channel, torchvision's stem stride 2) on Fashion-MNIST
in PyTorch, exports it with export_torchvision.py and records PyTorch's test top-1 in its metadata, for the
interop test (Tests/ModelsTests/TorchvisionInteropTests.swift): genie must evaluate it to the same top-1.

Usage: /usr/bin/python3 scripts/interop_torchvision.py [--epochs 2]   (writes Tests/Fixtures/torchvision_mobilenet_v2.safetensors)
"""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def images(split):
    x = idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    return torch.from_numpy((x - MEAN) / STD), torch.from_numpy(idx(f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.25)
    stem = model.features[0][0]
    model.features[0][0] = torch.nn.Conv2d(1, stem.out_channels, 3, stride=2, padding=1, bias=False)
    x, y = images("train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    for epoch in range(args.epochs):
        model.train()
        for batch in torch.randperm(len(x)).split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()
    tx, ty = images("t10k")
    with torch.no_grad():
        predictions = torch.cat([model(b).argmax(1) for b in tx.split(500)])
    top1 = (predictions == ty).float().mean().item() * 100
    print(f"PyTorch test top-1: {top1:.2f}%")
    checkpoint = "/tmp/torchvision_mobilenet_v2.pth"
    torch.save(model.state_dict(), checkpoint)
    out = os.path.join(HERE, "..", "Tests", "Fixtures", "torchvision_mobilenet_v2.safetensors")
    subprocess.run([sys.executable, os.path.join(HERE, "export_torchvision.py"), "mobilenet_v2", out,
                    "--weights", checkpoint, "--metadata", f"pytorch_top1={top1:.2f}", "width_mult=0.25",
                    "in_channels=1", "stem_stride=2", f"epochs={args.epochs}"], check=True)


if __name__ == "__main__":
    main()
