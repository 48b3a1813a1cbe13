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

ImageNet-size runs: `--image-size 224 --start runs/tv_resnet18.safetensors --train-images 10000 --epochs 1
--folder runs/fashion_mnist_test --out runs/tv_resnet18_224.safetensors` fine-tunes the 28x28 ResNet-18 on images
upscaled as torchvision's Resize(256) and CenterCrop(224) would (bilinear), writes the test set as an image folder
of PNGs (class folders 0-9) and records PyTorch's top-1 on that folder read by torchvision's ImageFolder, Resize and
CenterCrop: what `genie ... --data runs/fashion_mnist_test --resize 256 --crop 224` reads (genie flags: --arch
resnet18 --in-channels 1 --num-classes 10 --image-size 224).
"""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import datasets, transforms
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


def upscaled(x, size):
    """Fashion-MNIST images as torchvision's Resize(size * 8 / 7) and CenterCrop(size) make them (bilinear)."""
    if size == 28:
        return x
    resized = F.interpolate(x, size=size * 8 // 7, mode="bilinear", align_corners=False)
    margin = (size * 8 // 7 - size) // 2
    return resized[:, :, margin:margin + size, margin:margin + size]


def write_folder(folder, size, count):
    """The first `count` test images as PNG files in ImageFolder's layout; PyTorch's loader of them, as genie's --data
    reads them."""
    raw = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[:count]
    labels = idx("t10k-labels-idx1-ubyte.gz", 8)[:count]
    for c in range(10):
        os.makedirs(os.path.join(folder, str(c)), exist_ok=True)
    for i, (image, label) in enumerate(zip(raw, labels)):
        Image.fromarray(image).save(os.path.join(folder, str(label), f"{i:05d}.png"))
    steps = [transforms.Grayscale(), transforms.Resize(size * 8 // 7), transforms.CenterCrop(size),
             transforms.ToTensor(), transforms.Normalize([MEAN], [STD])]
    return torch.utils.data.DataLoader(datasets.ImageFolder(folder, transform=transforms.Compose(steps)), batch_size=100)


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
    parser.add_argument("--image-size", type=int, default=28, help="train and test on images upscaled to N x N")
    parser.add_argument("--start", help="a state dict this script wrote (safetensors) to train further")
    parser.add_argument("--train-images", type=int, help="train on the first K training images (default: all)")
    parser.add_argument("--folder", help="write the test set there as PNG files and measure top-1 on them")
    parser.add_argument("--test-images", type=int, default=10000, help="the first K test images (default: all)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model, flags = build(args.arch, args.width_mult)
    x, y = images("train")
    x, y = x[:args.train_images], y[:args.train_images]
    # Fine-tuning a model trained at another size starts at a fifth of the rate.
    rate = 0.01 if args.start else 0.05
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=0.9, nesterov=True, weight_decay=5e-4)
    if args.trained or args.start:
        model.load_state_dict(load(args.trained or args.start)[0])
        args.epochs = 0 if args.trained else args.epochs
    batch_size = 128 if args.image_size == 28 else 32
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for step, batch in enumerate(torch.randperm(len(x)).split(batch_size)):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(upscaled(x[batch], args.image_size)), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            if args.image_size > 28 and step % 50 == 0:
                print(f"  step {step}, training loss {loss.item():.4f}", flush=True)
        print(f"epoch {epoch + 1}/{args.epochs} done, training loss {total / len(x):.4f}", flush=True)
    model.eval()
    if args.folder:
        test = write_folder(args.folder, args.image_size, args.test_images)
    else:
        tx, ty = (t[:args.test_images] for t in images("t10k"))
        test = ((upscaled(tx[i:i + 500], args.image_size), ty[i:i + 500]) for i in range(0, len(tx), 500))
    with torch.no_grad():
        right = sum((model(b).argmax(1) == t).sum().item() for b, t in test)
    top1 = right / args.test_images * 100
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
                    f"epochs={args.epochs}", *flags, *([f"image_size={args.image_size}"] if args.image_size != 28 else [])],
                   check=True)


if __name__ == "__main__":
    main()
