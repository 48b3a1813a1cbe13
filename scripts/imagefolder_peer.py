"""Image-folder data and PyTorch/torchvision peer figures for `genie evaluate --data` and `genie bench --workload loader`.

  fashion DIR [--split test|train] [--flat]   Fashion-MNIST written as grayscale JPEGs (quality 90), in class
                                              folders 0..9 (or flat, names in IDX order, for --real-folder)
  large DIR N                                 N generated RGB JPEGs of ImageNet-like sizes (about 500x375, from
                                              upscaled Fashion-MNIST images, tinted), in 10 class folders
  top1 DIR [--resize R --crop C]              PyTorch's top-1 of models/resnet20.safetensors on the folder through
                                              Grayscale/[Resize/CenterCrop]/ToTensor/Normalize (torchvision ImageFolder)
  loader DIR [--resize 256 --crop 224] [--workers 2] [--batch 64]
                                              torchvision ImageFolder + DataLoader throughput (RGB, ImageNet mean/std)
Prints one JSON object. Run with /usr/bin/python3 (python3-torchvision).
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import load  # noqa: E402
from genie_reference import resnet20_from_state  # noqa: E402

MNIST = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def idx(name):
    data = gzip.open(os.path.join(MNIST, name)).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def fashion(a):
    prefix = "t10k" if a.split == "test" else "train"
    images, labels = idx(f"{prefix}-images-idx3-ubyte.gz"), idx(f"{prefix}-labels-idx1-ubyte.gz")
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = a.dir if a.flat else os.path.join(a.dir, str(label))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image, "L").save(os.path.join(folder, f"{i:05d}.jpg"), quality=90)
    return {"images": len(labels), "dir": a.dir}


def large(a):
    images = idx("t10k-images-idx3-ubyte.gz")
    rng = np.random.default_rng(0)
    for i in range(a.n):
        h, w = [(375, 500), (500, 375), (333, 500), (400, 400), (480, 640)][i % 5]
        gray = Image.fromarray(images[i % len(images)], "L").resize((w, h), Image.BILINEAR)
        g = np.asarray(gray).astype(np.int32)
        rgb = np.stack([g, g * (7 + i % 4) // 10, np.clip(255 - g, 0, 255)], -1)
        rgb = np.clip(rgb + rng.integers(-12, 12, rgb.shape), 0, 255).astype(np.uint8)
        folder = os.path.join(a.dir, f"class{i % 10}")
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(rgb, "RGB").save(os.path.join(folder, f"{i:06d}.jpg"), quality=90)
    return {"images": a.n, "dir": a.dir}


def top1(a):
    torch.set_num_threads(2)
    state, meta = load(os.path.join(ROOT, "models", "resnet20.safetensors"))
    model = resnet20_from_state(state).eval()
    extra = [transforms.Resize(a.resize), transforms.CenterCrop(a.crop)] if a.resize else []
    t = transforms.Compose([transforms.Grayscale()] + extra + [transforms.ToTensor(),
                           transforms.Normalize([float(meta["mean"])], [float(meta["std"])])])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder(a.dir, transform=t), batch_size=500, num_workers=2)
    hits = n = 0
    with torch.no_grad():
        for x, y in loader:
            hits += (model(x).argmax(1) == y).sum().item()
            n += len(y)
    return {"top1": 100 * hits / n, "images": n}


def loader(a):
    torch.set_num_threads(2)
    t = transforms.Compose([transforms.Resize(a.resize), transforms.CenterCrop(a.crop), transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    data = torch.utils.data.DataLoader(datasets.ImageFolder(a.dir, transform=t), batch_size=a.batch, num_workers=a.workers)
    start = time.perf_counter()
    n = sum(len(y) for _, y in data)
    seconds = time.perf_counter() - start
    return {"workload": "loader", "images": n, "seconds": seconds, "images_per_second": n / seconds,
            "workers": a.workers, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["fashion", "large", "top1", "loader"])
    p.add_argument("dir")
    p.add_argument("n", nargs="?", type=int, default=1000)
    p.add_argument("--split", default="test")
    p.add_argument("--flat", action="store_true")
    p.add_argument("--resize", type=int)
    p.add_argument("--crop", type=int)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    a = p.parse_args()
    if a.what == "loader":
        a.resize, a.crop = a.resize or 256, a.crop or 224
    print(json.dumps({"fashion": fashion, "large": large, "top1": top1, "loader": loader}[a.what](a)))


if __name__ == "__main__":
    main()
