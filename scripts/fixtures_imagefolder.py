"""Writes small image folders in torchvision's ImageFolder layout and what torchvision makes of them.

Tests/Fixtures/imagefolder/: 40 Fashion-MNIST test images (4 per class, class folders "0".."9"), 28x28, as
baseline, progressive, RGB (4:2:0 and 4:4:4), grayscale and CMYK JPEGs and gray, RGB and palette PNGs, one in
a nested folder. Tests/Fixtures/imagefolder_rgb/: non-square colour images (JPEG and PNG) of a few sizes.
Tests/Fixtures/imagefolder_expected.safetensors holds, in ImageFolder order:
- gray/plain, gray/resize32_crop28: U8 [40, 1, 28, 28], ToTensor()'s output * 255 (exact) after
  Grayscale() and, for the second, Resize(32) + CenterCrop(28);
- logits/plain, logits/resize32_crop28: F32 [40, 10], models/resnet20.safetensors (its PyTorch twin in
  genie_reference.py) on those after Normalize(0.286, 0.353); labels: I64 [40];
- rgb/decoded/K, rgb/resize27/K, rgb/resize27_crop24/K: U8 [3, H, W] of the K-th file of imagefolder_rgb
  through convert("RGB"), + Resize(27), + CenterCrop(24); rgb/files lists them in metadata.
Run from anywhere with /usr/bin/python3 (python3-torchvision, python3-pil).
"""
import gzip
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import FIXTURES, load, save  # noqa: E402
from genie_reference import resnet20_from_state  # noqa: E402

MNIST = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.abspath(__file__)) + "/.."


def idx(name):
    data = gzip.open(os.path.join(MNIST, name)).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def tinted(gray, k):
    """A colour version of a gray image: channels differ (so RGB-to-L conversion matters), luma stays close."""
    g = gray.astype(np.int32)
    return np.stack([g, g * (9 + k % 2) // 10, np.clip(g * 12 // 10, 0, 255)], -1).astype(np.uint8)


def write(image_gray, k, path_base):
    """Writes test image k in one of eight formats, cycling; returns the path."""
    kind = k % 8
    rgb = Image.fromarray(tinted(image_gray, k), "RGB")
    gray = Image.fromarray(image_gray, "L")
    if kind == 0:
        return save_image(gray, path_base + ".jpg", quality=90)  # baseline grayscale
    if kind == 1:
        return save_image(rgb, path_base + ".jpeg", quality=85)  # baseline RGB 4:2:0
    if kind == 2:
        return save_image(rgb, path_base + ".JPG", quality=90, progressive=True)  # progressive RGB
    if kind == 3:
        return save_image(rgb, path_base + ".jpg", quality=95, subsampling=0)  # 4:4:4
    if kind == 4:
        return save_image(rgb.convert("CMYK"), path_base + ".jpg", quality=90)  # CMYK (Adobe, inverted)
    if kind == 5:
        return save_image(gray, path_base + ".png")
    if kind == 6:
        return save_image(rgb, path_base + ".png")
    return save_image(rgb.quantize(64), path_base + ".png")  # palette


def save_image(image, path, **options):
    image.save(path, **options)
    return path


def main():
    torch.set_num_threads(2)
    folder = os.path.join(FIXTURES, "imagefolder")
    shutil.rmtree(folder, ignore_errors=True)
    images, labels = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    taken = {c: 0 for c in range(10)}
    k = 0
    for i in range(len(labels)):
        c = int(labels[i])
        if taken[c] == 4:
            continue
        taken[c] += 1
        sub = os.path.join(folder, str(c), "nested") if taken[c] == 4 and c == 3 else os.path.join(folder, str(c))
        os.makedirs(sub, exist_ok=True)
        write(images[i], k, os.path.join(sub, f"t{i:05d}"))
        k += 1
        if k == 40:
            break

    state, _ = load(os.path.join(ROOT, "models", "resnet20.safetensors"))
    model = resnet20_from_state(state).eval()
    out = {}
    for key, extra in (("plain", []), ("resize32_crop28", [transforms.Resize(32), transforms.CenterCrop(28)])):
        pixels = datasets.ImageFolder(folder, transform=transforms.Compose([transforms.Grayscale()] + extra + [transforms.ToTensor()]))
        batch = torch.stack([pixels[j][0] for j in range(len(pixels))])
        out[f"gray/{key}"] = (batch * 255).round().to(torch.uint8)
        with torch.no_grad():
            out[f"logits/{key}"] = model(transforms.Normalize([0.286], [0.353])(batch))
        out["labels"] = torch.tensor(pixels.targets)
        print(key, "top-1 on the folder:", (out[f"logits/{key}"].argmax(1) == out["labels"]).float().mean().item())

    rgb_folder = os.path.join(FIXTURES, "imagefolder_rgb")
    shutil.rmtree(rgb_folder, ignore_errors=True)
    rng = np.random.default_rng(0)
    sizes = [(31, 45), (45, 31), (20, 20), (60, 41), (27, 33), (17, 26), (50, 50)]
    for j, (h, w) in enumerate(sizes):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * y) % 256], -1)
        noisy = np.clip(base + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        sub = os.path.join(rgb_folder, "ab"[j % 2])
        os.makedirs(sub, exist_ok=True)
        im = Image.fromarray(noisy, "RGB")
        [lambda p: save_image(im, p + ".jpg", quality=90),
         lambda p: save_image(im, p + ".jpg", quality=80, progressive=True),
         lambda p: save_image(im.convert("L"), p + ".jpg"),
         lambda p: save_image(im.convert("CMYK"), p + ".jpg"),
         lambda p: save_image(im.convert("RGBA"), p + ".png"),
         lambda p: save_image(im.quantize(32), p + ".png"),
         lambda p: save_image(im, p + ".jpeg", quality=75, subsampling=1)][j](os.path.join(sub, f"img{j}"))
    rgb = datasets.ImageFolder(rgb_folder)
    files = []
    for j, (path, _) in enumerate(rgb.samples):
        files.append(os.path.relpath(path, rgb_folder))
        image = rgb.loader(path)
        for key, t in (("decoded", []), ("resize27", [transforms.Resize(27)]),
                       ("resize27_crop24", [transforms.Resize(27), transforms.CenterCrop(24)])):
            tensor = transforms.Compose(t + [transforms.ToTensor()])(image)
            out[f"rgb/{key}/{j}"] = (tensor * 255).round().to(torch.uint8)
    save(os.path.join(FIXTURES, "imagefolder_expected.safetensors"), out, {"rgb_files": ",".join(files)})
    total = sum(os.path.getsize(os.path.join(r, f)) for d in (folder, rgb_folder) for r, _, fs in os.walk(d) for f in fs)
    print("image bytes:", total, "expected file:", os.path.getsize(os.path.join(FIXTURES, "imagefolder_expected.safetensors")))


if __name__ == "__main__":
    main()
