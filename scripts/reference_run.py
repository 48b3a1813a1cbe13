"""The whole zero-shot run in PyTorch with this project's port of GENIE's reference (genie_reference.py): the peer
of `genie run` (scripts/whole_run.sh runs both on the same settings).

  MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
      /usr/bin/python3 scripts/reference_run.py --weights models/resnet20.safetensors [model flags] \
      [--images 256] [--distill-iterations 500] [--iterations 1000] [--wbits 4] [--abits 4] [--seed 0]

The model flags are genie's (--arch, --num-classes, --in-channels, --image-size, --mean, --std, --width-mult,
--stem-stride), read as genie reads them: they override the weights file's metadata; a file without a recorded
model (a torchvision export) holds torchvision's definition, so MobileNetV2's stem stride is then 2.

1. Full-precision top-1 on Fashion-MNIST's test set (Debian's dataset-fashion-mnist), or on the image folder --data
   read as genie reads it (--resize, --crop: torchvision's Resize and CenterCrop), normalized as the spec says.
2. GENIE-D: `distill` of the port, --images images in batches of 128 (the last one smaller, as genie splits
   them), --distill-iterations per batch, swing convolution on every strided convolution (GENIE's rule, genie's
   `--method genie-paper`; genie's default leaves maps below 14x14 unswung).
3. GENIE-M over all units in genie's order and boundaries (docs/METHOD.md, "Reconstruction units"): every
   residual block and every MobileNetV2 inverted residual is one unit, every other conv or linear layer its own
   (the stem conv, MobileNetV2's last 1x1 conv, the classifier). Bits as genie's `quantize`: the first layer 8-bit
   weights with its input (the image) unquantized, the second layer's input 8-bit, the last layer W8A8, every other
   layer --wbits/--abits. Each unit is reconstructed by the port's `reconstruct_block` on its teacher input and
   output (the full-precision model's) and its student input (the output of the units already quantized, in hard
   mode); its activation step sizes start from its first 32 student inputs; mini-batch N/32, QDrop 0.5,
   --iterations per unit, the paper's learning rates and rounding schedule (genie's `--method genie`).
4. The quantized model's top-1.
Prints one JSON line (fp_top1, top1, distill_seconds, reconstruct_seconds, evaluate_seconds, total_seconds,
unit_seconds and unit_output_error per unit: the relative MSE of genie's unit report, ...); progress goes to
standard error. total_seconds, like genie's, starts once the model
and the test set are loaded.
"""
import argparse
import copy
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
from torchvision import datasets, transforms
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genie_reference as G  # noqa: E402
from fixtures import load  # noqa: E402
from interop_torchvision import idx  # noqa: E402
from peer_bench import ARCHS, THREADS, Net, unit_data, warn_without_malloc_env  # noqa: E402

#: The quantized unit of each block type (the port's resnet20 blocks are BasicBlocks of its own).
BLOCKS = {BasicBlock: G.QuantBasicBlock, G.BasicBlock: G.QuantBasicBlock, Bottleneck: G.QuantBottleneck,
          InvertedResidual: G.QuantInvertedResidual}


def model_spec(a, metadata):
    """genie's ModelSpec for the file and flags: the recorded spec (or torchvision's defaults: 10 classes,
    1x28x28, stem stride 2) with the flags applied."""
    recorded = all(k in metadata for k in ("arch", "num_classes", "in_channels", "image_size"))
    floats = lambda s: [float(v) for v in s.split(",")]  # noqa: E731
    spec = {"arch": metadata.get("arch"), "num_classes": 10, "in_channels": 1, "image_size": 28, "width_mult": 1.0,
            "stem_stride": 2, "mean": [0.2860], "std": [0.3530]}
    if recorded:
        spec.update(num_classes=int(metadata["num_classes"]), in_channels=int(metadata["in_channels"]),
                    image_size=int(metadata["image_size"]), width_mult=float(metadata.get("width_mult", 1)),
                    mean=floats(metadata.get("mean", "0.2860")), std=floats(metadata.get("std", "0.3530")))
        spec["stem_stride"] = int(metadata["stem_stride"]) if "stem_stride" in metadata else (
            1 if spec["image_size"] <= 64 else 2)
    for key in ("arch", "num_classes", "in_channels", "image_size", "width_mult", "stem_stride", "mean", "std"):
        if getattr(a, key) is not None:
            spec[key] = getattr(a, key)
    if spec["arch"] not in ARCHS:
        sys.exit(f"{a.weights}: architecture {spec['arch']!r} is not one of {', '.join(ARCHS)} (give --arch)")
    for key in ("mean", "std"):
        if len(spec[key]) == 1:
            spec[key] = spec[key] * spec["in_channels"]
    return spec


def load_model(path, spec):
    """The spec's network with the file's weights (num_batches_tracked optional), in eval mode."""
    state, _ = load(path)
    if spec["arch"] == "resnet20":
        return G.resnet20_from_state(state).eval()
    model = Net(spec["arch"], spec["in_channels"], spec["image_size"], spec["num_classes"], spec["width_mult"],
                spec["stem_stride"]).build()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{path}: state dict mismatch for {spec['arch']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


def test_batches(spec, a):
    """A function giving the test set in (images, labels) batches of 500: Fashion-MNIST's test split, or the image
    folder --data through torchvision's evaluation preprocessing (--resize, --crop), both normalized as the spec says."""
    if a.data:
        steps = [transforms.Grayscale()] if spec["in_channels"] == 1 else []
        steps += [transforms.Resize(a.resize)] if a.resize else []
        steps += [transforms.CenterCrop(a.crop)] if a.crop else []
        steps += [transforms.ToTensor(), transforms.Normalize(spec["mean"], spec["std"])]
        folder = datasets.ImageFolder(a.data, transform=transforms.Compose(steps))
        return lambda: torch.utils.data.DataLoader(folder, batch_size=500, num_workers=2)
    if (spec["in_channels"], spec["image_size"]) != (1, 28):
        sys.exit(f"the model expects {spec['in_channels']}x{spec['image_size']}x{spec['image_size']} inputs but "
                 "fashion-mnist images are 1x28x28; give an image folder (--data)")
    x = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype("float32") / 255)
    y = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype("int64"))
    x = (x - spec["mean"][0]) / spec["std"][0]
    return lambda: zip(x.split(500), y.split(500))


@torch.no_grad()
def top1(model, batches):
    model.eval()
    hits = count = 0
    for x, y in batches():
        hits += (model(x).argmax(1) == y).sum().item()
        count += len(y)
    return 100 * hits / count


def units(model):
    """genie's reconstruction units of the zoo's networks, in forward order: each residual block or inverted
    residual whole, every other conv or linear layer alone."""
    found, inside = [], set()
    for path, m in model.named_modules():
        if any(path.startswith(p + ".") for p in inside):
            continue
        if type(m) in BLOCKS:
            found.append((path, m))
            inside.add(path)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            found.append((path, m))
    return found


def quantized_unit(module, index, count, wbits, abits):
    """The port's quantized form of unit `index` of `count`, with genie's 8-bit first and last layers (the stem is
    unit 0, the second layer the first of unit 1, the classifier the last unit)."""
    a_in = None if index == 0 else 8 if index in (1, count - 1) else abits
    if type(module) in BLOCKS:
        return BLOCKS[type(module)](module, w_bits=wbits, a_bits=abits, a_bits_in=a_in)
    return G.QuantLayer(module, w_bits=8 if index in (0, count - 1) else wbits, a_bits_in=a_in)


def reconstruct(teacher, images, a, log):
    """GENIE-M over all units; returns the quantized model and each unit's seconds."""
    student = copy.deepcopy(teacher).eval()
    found = units(teacher)
    seconds = {}
    for k, (path, unit) in enumerate(found):
        t0 = time.perf_counter()
        x_fp, y_fp = unit_data(teacher, unit, images, chunk=32)
        x_q, _ = unit_data(student, student.get_submodule(path), images, chunk=32)
        q = quantized_unit(unit, k, len(found), a.wbits, a.abits)
        losses = G.reconstruct_block(q, x_fp, y_fp, x_q, a.iterations, round_weight=1.0, seed=a.seed * 1000 + k)
        G.replace_module(student, path, q)
        seconds[path] = time.perf_counter() - t0
        log(f"unit {k + 1}/{len(found)} {path} ({type(q).__name__}): loss {losses[-1]:.4f}, {seconds[path]:.1f} s")
    return student.eval(), seconds


@torch.no_grad()
def output_errors(teacher, student, paths, images):
    """genie's unit report measure: for each unit, the relative MSE sum((y_q - y)^2) / sum(y^2) of its output in the
    quantized model against the full-precision model's on the calibration images (the error accumulated up to and
    including the unit)."""
    error, reference, outputs = dict.fromkeys(paths, 0.0), dict.fromkeys(paths, 0.0), {}

    def keep(path):
        return lambda _, __, y: outputs.__setitem__(path, y.clone())

    def compare(path):
        def hook(_, __, y):
            error[path] += (y - outputs[path]).pow(2).sum().item()
            reference[path] += outputs[path].pow(2).sum().item()
        return hook
    for batch in images.split(32):
        for model, make in ((teacher, keep), (student, compare)):
            handles = [model.get_submodule(p).register_forward_hook(make(p)) for p in paths]
            model(batch)
            for h in handles:
                h.remove()
    return {p: error[p] / reference[p] for p in paths}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="safetensors file with PyTorch state-dict keys")
    ap.add_argument("--arch", choices=ARCHS)
    ap.add_argument("--num-classes", dest="num_classes", type=int)
    ap.add_argument("--in-channels", dest="in_channels", type=int)
    ap.add_argument("--image-size", dest="image_size", type=int)
    ap.add_argument("--mean", type=float, nargs="+")
    ap.add_argument("--std", type=float, nargs="+")
    ap.add_argument("--width-mult", dest="width_mult", type=float)
    ap.add_argument("--stem-stride", dest="stem_stride", type=int, choices=[1, 2])
    ap.add_argument("--data", help="an image folder (torchvision's ImageFolder layout) to measure top-1 on, as genie's")
    ap.add_argument("--resize", type=int, help="image files: resize the shorter side to N first (torchvision's Resize)")
    ap.add_argument("--crop", type=int, help="image files: then center-crop to N x N (torchvision's CenterCrop)")
    ap.add_argument("--images", type=int, default=256, help="distilled images, a multiple of 32 (default 256)")
    ap.add_argument("--distill-iterations", type=int, default=500, help="per batch of 128 (default 500)")
    ap.add_argument("--iterations", type=int, default=1000, help="reconstruction iterations per unit (default 1000)")
    ap.add_argument("--wbits", type=int, default=4)
    ap.add_argument("--abits", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2, the measured setting)")
    a = ap.parse_args()
    if a.images < 32 or a.images % 32:
        ap.error(f"--images must be a positive multiple of 32 (GENIE-M's slices of 32), got {a.images}")
    if min(a.distill_iterations, a.iterations) < 1 or not (2 <= min(a.wbits, a.abits) <= max(a.wbits, a.abits) <= 8):
        ap.error("the iterations must be positive and the bits in 2...8")
    malloc_env = warn_without_malloc_env()
    torch.set_num_threads(a.threads)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731

    spec = model_spec(a, load(a.weights)[1])
    model = load_model(a.weights, spec)
    test = test_batches(spec, a)
    start = time.perf_counter()
    fp = top1(model, test)
    evaluate_s = time.perf_counter() - start
    log(f"full precision: {fp:.2f}%; GENIE-D: {a.images} images, {a.distill_iterations} iterations per batch")

    t0 = time.perf_counter()
    history = []
    images = G.distill(model, a.images, 128, a.distill_iterations, a.seed, swing=True, image_size=spec["image_size"],
                       history=history)
    distill_s = time.perf_counter() - t0
    log(f"GENIE-M: W{a.wbits}A{a.abits}, {a.iterations} iterations per unit")

    t0 = time.perf_counter()
    quantized, unit_seconds = reconstruct(model, images, a, log)
    errors = output_errors(model, quantized, list(unit_seconds), images)  # genie's phase includes its unit report
    reconstruct_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    q = top1(quantized, test)
    evaluate_s += time.perf_counter() - t0
    print(json.dumps({
        "arch": spec["arch"], "wbits": a.wbits, "abits": a.abits, "images": a.images,
        "distill_iterations": a.distill_iterations, "iterations": a.iterations, "seed": a.seed,
        "fp_top1": fp, "top1": q, "distill_seconds": distill_s, "reconstruct_seconds": reconstruct_s,
        "evaluate_seconds": evaluate_s, "total_seconds": time.perf_counter() - start, "unit_seconds": unit_seconds,
        "unit_output_error": errors,
        "distill_final_loss": [h["final_loss"] for h in history], "threads": torch.get_num_threads(),
        "torch_version": torch.__version__, "malloc_env": malloc_env,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
