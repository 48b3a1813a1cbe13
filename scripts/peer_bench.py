"""PyTorch peer timings of the GENIE workloads (see --help), on the zoo's networks: ResNet-20 with 1x28x28 inputs
by default, or torchvision's resnet18, resnet50 and mobilenet_v2 built as genie's zoo builds them (--arch,
--image-size, --in-channels, --classes; the same flags as `genie bench`).

Run it with /usr/bin/python3 and the malloc settings below (glibc reads them at start-up, so they must be in the
environment of the process; the script warns on stderr when they are missing):

  MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
      /usr/bin/python3 scripts/peer_bench.py --workload distill --batch 128 --iterations 10 --json

Workloads (one timed iteration each):
  forward      eval-mode forward, no grad.
  distill      one GENIE-D iteration: generator (latent 256, c1 128, c2 64, init size/4) forward, model forward
               with swing convs (every strided conv) and BN-input hooks (all BNs), BNS loss, backward to z and the
               generator (model frozen), Adam step on z and on the generator, ReduceLROnPlateau step (and the
               ExponentialLR step every 100th iteration).
  train        one SGD step (lr 0.1, momentum 0.9, nesterov, weight decay 5e-4), train-mode BN, cross entropy.
  reconstruct  one GENIE-M iteration on the first block (layer1.0; features.1 in MobileNetV2) at W4A4:
               soft-quantized weights of its convs, LSQ quantizer with QDrop on each conv input (the block-input
               quantizer is shared with the shortcut, which calls it again with its own mask), block-input QDrop
               mix of X_q / X_fp, rec loss (sum over channels, mean over batch and space) + rounding loss (t past
               warm-up: beta annealing active), backward to s, V, s_a, both Adam steps, the cosine step.
               N = 32 * batch stored samples.
images/s = batch / median seconds per iteration, after --warmup untimed iterations.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genie_reference as G  # noqa: E402

IMPORT_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # python + torch alone

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "2000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000",
              "MALLOC_TOP_PAD_": "536870912"}
THREADS = 2
ARCHS = ["resnet20", "resnet18", "resnet50", "mobilenet_v2"]  # the zoo's (Sources/Models/Zoo.swift)


def warn_without_malloc_env():
    """Whether the malloc settings are in the environment; warns on stderr when they are not."""
    missing = [k for k, v in MALLOC_ENV.items() if os.environ.get(k) != v]
    if missing:
        print("warning: malloc settings missing (" + ", ".join(missing) + "); PyTorch runs 1.4-1.9x slower. Use: "
              + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()), file=sys.stderr)
    return not missing


class Net:
    """The network the flags name: architecture, input channels, image size, classes (and MobileNetV2's width
    multiplier and stem stride, None for ModelSpec's rule)."""

    def __init__(self, arch, in_channels, image, classes, width_mult=1.0, stem_stride=None):
        self.arch, self.in_channels, self.image, self.classes = arch, in_channels, image, classes
        self.width_mult, self.stem_stride = width_mult, stem_stride

    def build(self):
        """torchvision's network with genie's zoo changes: the stem takes in_channels, and MobileNetV2's stem
        stride is 1 up to 64x64 inputs (ModelSpec's rule, which keeps 28x28 maps large enough)."""
        if self.arch == "resnet20":
            return G.resnet20(self.classes, self.in_channels)
        if self.arch == "mobilenet_v2":
            m = torchvision.models.mobilenet_v2(num_classes=self.classes, width_mult=self.width_mult)
        else:
            m = getattr(torchvision.models, self.arch)(num_classes=self.classes)
        stem_path = "conv1" if self.arch.startswith("resnet") else "features.0.0"
        old = m.get_submodule(stem_path)
        stride = old.stride if self.arch.startswith("resnet") or self.image > 64 else 1
        stride = self.stem_stride or stride
        stem = nn.Conv2d(self.in_channels, old.out_channels, old.kernel_size, stride, old.padding, bias=False)
        nn.init.kaiming_normal_(stem.weight, mode="fan_out")
        G.replace_module(m, stem_path, stem)
        return m

    def with_stats(self, seed=0):
        torch.manual_seed(seed)
        return G.set_nontrivial_bn_stats(self.build(), self.image, seed)

    def images(self, n, generator=None):
        return torch.randn(n, self.in_channels, self.image, self.image, generator=generator)


def setup_forward(net, batch):
    m = net.with_stats().eval()
    x = net.images(batch)

    def step():
        with torch.no_grad():
            m(x)
    return step


def setup_distill(net, batch):
    m = net.with_stats()
    dmodel = G.DistillModel(m, swing=True, rng=np.random.default_rng(0))
    run = G.DistillBatch(dmodel, G.Generator(net.image, net.in_channels, 256, 128, 64), torch.randn(batch, 256))
    return lambda: run.step()


def setup_train(net, batch):
    m = net.with_stats().train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = net.images(batch)
    y = torch.randint(0, net.classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    return step


class _Captured(Exception):
    """Stops the forward pass once the unit has run."""


@torch.no_grad()
def unit_data(m, unit, images, chunk=64):
    """The unit's input and output over images (run in chunks, each forward stopped after the unit)."""
    xs, ys = [], []

    def hook(_, inp, out):
        xs.append(inp[0].clone())
        ys.append(out.clone())
        raise _Captured
    handle = unit.register_forward_hook(hook)
    for i in range(0, images.shape[0], chunk):
        try:
            m(images[i:i + chunk])
        except _Captured:
            pass
    handle.remove()
    return torch.cat(xs), torch.cat(ys)


def setup_reconstruct(net, batch):
    m = net.with_stats().eval()
    n = 32 * batch
    g = torch.Generator().manual_seed(1)
    img = F.avg_pool2d(net.images(n, generator=g), 3, 1, 1) * 3
    unit = m.features[1] if net.arch == "mobilenet_v2" else m.layer1[0]
    x_fp, y_fp = unit_data(m, unit, img)
    del img
    step8 = x_fp.abs().max() / 255
    x_q = torch.round(x_fp / step8) * step8  # stand-in for the upstream-quantized input
    # W4A4 everywhere as the workload is defined; in the full pipeline the first block's input quantizer is
    # 8-bit when its input is the stem's output (METHOD.md, "What is quantized"), which does not change the cost.
    kind = {"BasicBlock": G.QuantBasicBlock, "Bottleneck": G.QuantBottleneck,
            "InvertedResidual": G.QuantInvertedResidual}[type(unit).__name__]
    qblock = kind(unit, w_bits=4, a_bits=4)
    T = 20000
    rec = G.Reconstructor(qblock, x_fp, y_fp, x_q, T, round_weight=1.0, generator=g)
    t = [T // 2]  # past the 0.2*T warm-up: rounding loss with annealed beta

    def step():
        t[0] += 1
        rec.step(t[0])
    return step


SETUPS = {"forward": setup_forward, "distill": setup_distill, "train": setup_train, "reconstruct": setup_reconstruct}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=sorted(SETUPS))
    ap.add_argument("--arch", default="resnet20", choices=ARCHS, help="the network (default resnet20)")
    ap.add_argument("--image-size", type=int, default=28, help="input height and width (default 28)")
    ap.add_argument("--in-channels", type=int, default=1, help="input channels (default 1)")
    ap.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    ap.add_argument("--batch", type=int, default=None, help="default 128 (32 for reconstruct)")
    ap.add_argument("--iterations", type=int, default=10, help="timed iterations (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2, the measured setting)")
    a = ap.parse_args()
    if a.image_size < 8 or (a.workload == "distill" and a.image_size % 4):
        ap.error(f"--image-size must be at least 8 (a multiple of 4 for distill), got {a.image_size}")
    if a.in_channels < 1 or a.classes < 1:
        ap.error("--in-channels and --classes must be positive")
    malloc_env = warn_without_malloc_env()
    torch.set_num_threads(a.threads)
    batch = a.batch or (32 if a.workload == "reconstruct" else 128)
    step = SETUPS[a.workload](Net(a.arch, a.in_channels, a.image_size, a.classes), batch)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    out = {"workload": a.workload, "arch": a.arch, "image_size": a.image_size, "in_channels": a.in_channels,
           "classes": a.classes, "batch": batch, "images_per_second": batch / med, "median_ms": med * 1e3,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch_version": torch.__version__, "threads": torch.get_num_threads(),
           "iterations": a.iterations, "malloc_env": malloc_env, "import_rss_mb": IMPORT_RSS_MB}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{a.workload} {a.arch} {a.in_channels}x{a.image_size}x{a.image_size}: batch {batch}, {out['images_per_second']:.1f} images/s, median {med * 1e3:.2f} ms "
              f"over {a.iterations} iterations (min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f}), "
              f"peak RSS {out['peak_rss_mb']:.0f} MB (after import {IMPORT_RSS_MB:.0f}), torch {torch.__version__}, {out['threads']} threads")


if __name__ == "__main__":
    main()
