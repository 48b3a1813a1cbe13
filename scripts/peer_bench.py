"""PyTorch peer timings of the GENIE workloads on ResNet-20 with 1x28x28 inputs (see --help).

Run it with /usr/bin/python3 and the malloc settings below (glibc reads them at start-up, so they must be in the
environment of the process; the script warns on stderr when they are missing):

  MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
      /usr/bin/python3 scripts/peer_bench.py --workload distill --batch 128 --iterations 10 --json

Workloads (one timed iteration each):
  forward      eval-mode forward, no grad.
  distill      one GENIE-D iteration: generator (latent 256, c1 128, c2 64, init 7x7) forward, model forward with
               swing convs (4 stride-2 convs) and BN-input hooks (all 21 BNs), BNS loss, backward to z and the
               generator (model frozen), Adam step on z and on the generator, ReduceLROnPlateau step (and the
               ExponentialLR step every 100th iteration).
  train        one SGD step (lr 0.1, momentum 0.9, nesterov, weight decay 5e-4), train-mode BN, cross entropy.
  reconstruct  one GENIE-M iteration on layer1.0 at W4A4: soft-quantized weights of both convs, LSQ quantizer with
               QDrop on each conv input (the block-input quantizer is shared with the Identity shortcut, which
               calls it again with its own mask), block-input QDrop mix of X_q / X_fp, rec loss (sum over
               channels, mean over batch and space) + rounding loss (t past warm-up: beta annealing active),
               backward to s, V, s_a, both Adam steps, the cosine step. N = 32 * batch stored samples.
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
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genie_reference as G  # noqa: E402

IMPORT_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # python + torch alone

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "2000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000",
              "MALLOC_TOP_PAD_": "536870912"}
THREADS = 2
IMAGE = 28


def model_with_stats(seed=0):
    torch.manual_seed(seed)
    m = G.resnet20(10, 1)
    return G.set_nontrivial_bn_stats(m, IMAGE, seed)


def setup_forward(batch):
    m = model_with_stats().eval()
    x = torch.randn(batch, 1, IMAGE, IMAGE)

    def step():
        with torch.no_grad():
            m(x)
    return step


def setup_distill(batch):
    m = model_with_stats()
    dmodel = G.DistillModel(m, swing=True, rng=np.random.default_rng(0))
    run = G.DistillBatch(dmodel, G.Generator(IMAGE, 1, 256, 128, 64), torch.randn(batch, 256))
    return lambda: run.step()


def setup_train(batch):
    m = model_with_stats().train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 1, IMAGE, IMAGE)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    return step


def setup_reconstruct(batch):
    m = model_with_stats().eval()
    n = 32 * batch
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        img = F.avg_pool2d(torch.randn(n, 1, IMAGE, IMAGE, generator=g), 3, 1, 1) * 3
        x_fp = m.relu(m.bn1(m.conv1(img)))
        y_fp = m.layer1[0](x_fp.clone())
        step8 = x_fp.max() / 255
        x_q = torch.round(x_fp / step8) * step8  # stand-in for the upstream-quantized input
    # W4A4 everywhere as the workload is defined; in the full pipeline layer1.0.conv1 is the 2nd quantized op and
    # its input quantizer would be 8-bit (METHOD.md, "What is quantized"), which does not change the cost.
    qblock = G.QuantBasicBlock(m.layer1[0], w_bits=4, a_bits=4)
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
    ap.add_argument("--batch", type=int, default=None, help="default 128 (32 for reconstruct)")
    ap.add_argument("--iterations", type=int, default=10, help="timed iterations (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed iterations first (default 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2, the measured setting)")
    a = ap.parse_args()
    missing = [k for k, v in MALLOC_ENV.items() if os.environ.get(k) != v]
    if missing:
        print("warning: malloc settings missing (" + ", ".join(missing) + "); PyTorch runs 1.4-1.9x slower. Use: "
              + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()), file=sys.stderr)
    torch.set_num_threads(a.threads)
    batch = a.batch or (32 if a.workload == "reconstruct" else 128)
    step = SETUPS[a.workload](batch)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    out = {"workload": a.workload, "batch": batch, "images_per_second": batch / med, "median_ms": med * 1e3,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch_version": torch.__version__, "threads": torch.get_num_threads(),
           "iterations": a.iterations, "malloc_env": not missing, "import_rss_mb": IMPORT_RSS_MB}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{a.workload}: batch {batch}, {out['images_per_second']:.1f} images/s, median {med * 1e3:.2f} ms "
              f"over {a.iterations} iterations (min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f}), "
              f"peak RSS {out['peak_rss_mb']:.0f} MB (after import {IMPORT_RSS_MB:.0f}), torch {torch.__version__}, {out['threads']} threads")


if __name__ == "__main__":
    main()
