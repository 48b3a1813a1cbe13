#!/usr/bin/env python3
"""How distilled images compare with real ones, as the model sees them (BENCHMARKS.md, "The images' own statistics").

Usage: /usr/bin/python3 scripts/image_statistics.py WEIGHTS IMAGES.safetensors [IMAGES.safetensors ...]

For 256 Fashion-MNIST training images (normalized as the model's file says) and each file of distilled images
(`genie distill` output, tensor "images"), prints:
- the spread of the images' own statistics: the standard deviation across images of each image's mean, and the
  mean and standard deviation across images of each image's standard deviation (channel 0);
- the model's predictions: images per class, mean top probability;
- for every 4th batch norm (and the last): the share of its input's variance that lies between images, the variance
  over images of each image's channel mean over the channel's variance over (N, H, W), averaged over channels;
- for the same batch norms: the effective rank (the exponential of the entropy of the normalized singular values) of
  the images' channel means and of the whole maps (one row per image and position), and the correlation of each
  channel between vertically neighbouring positions, averaged over channels;
- for every 1x1 convolution whose weight has weak directions (right singular vectors with singular values below a tenth
  of the largest, so that the convolution hardly sees its input along them): the share of its input's variance that
  lies along them.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_run as R  # noqa: E402
from fixtures import load  # noqa: E402
from interop_torchvision import idx  # noqa: E402


def effective_rank(rows):
    """exp(entropy) of the normalized singular values of `rows` (one observation per row), centred."""
    s = torch.linalg.svdvals((rows - rows.mean(0, keepdim=True)).double())
    p = s[s > 0] / s.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def weak_directions(conv):
    """The weak directions of the 1x1 `conv`'s weight, one per row: its right singular vectors whose singular values
    are below a tenth of the largest (zero for the inputs beyond its outputs' count); None if it has none."""
    _, s, vh = torch.linalg.svd(conv.weight.detach().double().flatten(1), full_matrices=True)
    strength = torch.cat([s, s.new_zeros(vh.shape[0] - len(s))])
    weak = strength < 0.1 * strength.max()
    return vh[weak] if weak.any() else None


def weak_share(directions, a):
    """The share of the variance of `a` (N, C, H, W) that lies along `directions` (one per row)."""
    x = a.permute(0, 2, 3, 1).reshape(-1, a.shape[1]).double()
    x = x - x.mean(0, keepdim=True)
    return float((x @ directions.T).pow(2).sum() / x.pow(2).sum())


def neighbour_correlation(a):
    """Each channel's correlation between vertically neighbouring positions of `a` (N, C, H, W), averaged."""
    if a.shape[2] < 2:
        return float("nan")
    c = a - a.mean((0, 2, 3), keepdim=True)
    return ((c[:, :, 1:] * c[:, :, :-1]).mean((0, 2, 3)) / (c * c).mean((0, 2, 3)).clamp_min(1e-12)).mean().item()


def model_of(path):
    _, metadata = load(path)
    flags = type("Flags", (), {k: None for k in ("arch", "num_classes", "in_channels", "image_size", "width_mult",
                                                 "stem_stride", "mean", "std")})()
    flags.weights = path
    spec = R.model_spec(flags, metadata)
    return spec, R.load_model(path, spec)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    spec, model = model_of(sys.argv[1])
    norms = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    pointwise = [(n, m, d) for n, m in model.named_modules()
                 if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups == 1
                 and (d := weak_directions(m)) is not None]
    inputs = {}
    for n, m in norms + [(n, m) for n, m, _ in pointwise]:
        m.register_forward_hook(lambda mod, inp, out, n=n: inputs.__setitem__(n, inp[0]))
    real = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)[:256].astype("float32") / 255)
    sets = {"real (256 training images)": (real - spec["mean"][0]) / spec["std"][0]}
    for path in sys.argv[2:]:
        tensors, _ = load(path)
        if "images" not in tensors:
            sys.exit(f"{path}: no tensor named 'images' (not a file of distilled images)")
        sets[path] = tensors["images"]
    shown = [n for i, (n, _) in enumerate(norms) if i % 4 == 0 or i == len(norms) - 1]
    rows, weak = {}, {}
    for name, x in sets.items():
        with torch.no_grad():
            p = model(x).softmax(1)
        s0, m0 = torch.std_mean(x[:, 0], dim=(1, 2))
        print(f"{name}: {len(x)} images")
        print(f"  each image's mean: sd across images {m0.std():.3f}; its std: mean {s0.mean():.3f}, sd {s0.std():.3f}")
        print(f"  predicted classes {torch.bincount(p.argmax(1), minlength=p.shape[1]).tolist()}, "
              f"mean top probability {p.max(1).values.mean():.3f}")
        rows[name] = []
        for n in shown:
            a = inputs[n]
            means = a.mean((2, 3))
            total = a.transpose(0, 1).reshape(a.shape[1], -1).var(1)
            rows[name].append(((means.var(0) / total.clamp_min(1e-12)).mean().item(),
                               effective_rank(means),
                               effective_rank(a.permute(0, 2, 3, 1).reshape(-1, a.shape[1])),
                               neighbour_correlation(a)))
        weak[name] = [weak_share(d, inputs[n]) for n, _, d in pointwise]
    labels = [name.split(" ")[0].rsplit("/", 1)[-1].removesuffix(".safetensors")[:18] for name in sets]

    def table(title, layers, values, cell, column="batch norm"):
        print(title)
        print(f"  {column:24s} " + " ".join(f"{label:>18s}" for label in labels))
        for j, n in layers:
            print(f"  {n:24s} " + " ".join(cell(values[name][j]) for name in sets))

    table("share of each batch norm's input variance between images:", enumerate(shown), rows, lambda r: f"{r[0]:18.3f}")
    table("effective rank of the channel means / of the whole maps / neighbour correlation:", enumerate(shown), rows,
          lambda r: "{:5.1f} /{:5.1f} /{:5.2f}".format(*r[1:]))
    if pointwise:
        table("share of each 1x1 convolution's input variance along its weight's weak directions:",
              enumerate(n for n, _, _ in pointwise), weak, lambda r: f"{r:18.3f}", "convolution")


if __name__ == "__main__":
    main()
