"""End-to-end reference GENIE-D distillation timing (PyTorch peer) on a ResNet-20 with 1x28x28 inputs.

  MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
      /usr/bin/python3 scripts/peer_distill.py --images 256 --batch 128 --iterations 1000 --seed 0 \
      [--weights resnet20.safetensors] [--no-swing] [--save images.safetensors] [--threads 2] [--json]

Distils --images images in batches of --batch, --iterations GENIE-D iterations per batch (a fresh generator
and latents per batch; docs/METHOD.md), with swing convolutions unless --no-swing. The model comes from a
safetensors file with torchvision-style resnet20 keys (num_batches_tracked optional) when --weights is given,
else it is randomly initialised with non-trivial BN statistics (genie_reference.set_nontrivial_bn_stats).
Reports total seconds, image-iterations per second, each batch's initial and final BNS loss and seconds, and
peak RSS. --save writes the distilled images ("images", [N,C,H,W]) with scripts/fixtures.py.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import genie_reference as G  # noqa: E402
from peer_bench import MALLOC_ENV, THREADS, Net  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None, help="resnet20 safetensors file (default: random init)")
    ap.add_argument("--image-size", type=int, default=28)
    ap.add_argument("--no-swing", action="store_true")
    ap.add_argument("--save", default=None, help="write the images to this safetensors file")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2, the measured setting)")
    a = ap.parse_args()
    missing = [k for k, v in MALLOC_ENV.items() if os.environ.get(k) != v]
    if missing:
        print("warning: malloc settings missing; use " + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()),
              file=sys.stderr)
    torch.set_num_threads(a.threads)
    if a.weights:
        state, _ = fixtures.load(a.weights)
        model = G.resnet20_from_state(state)
    else:
        model = Net("resnet20", 1, 28, 10).with_stats(a.seed)
    history = []
    t0 = time.perf_counter()
    images = G.distill(model, a.images, a.batch, a.iterations, a.seed, swing=not a.no_swing,
                       image_size=a.image_size, history=history)
    seconds = time.perf_counter() - t0
    if a.save:
        fixtures.save(a.save, {"images": images}, {"seed": a.seed, "iterations": a.iterations,
                                                   "swing": not a.no_swing})
    out = {"images": images.shape[0], "batch": a.batch, "iterations": a.iterations, "seed": a.seed,
           "swing": not a.no_swing, "weights": a.weights, "seconds": seconds,
           "image_iterations_per_second": images.shape[0] * a.iterations / seconds,
           "batches": history, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch_version": torch.__version__, "threads": torch.get_num_threads(), "malloc_env": not missing}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"distilled {out['images']} images ({a.iterations} iterations/batch, swing {out['swing']}) in "
              f"{seconds:.1f} s, {out['image_iterations_per_second']:.1f} image-iterations/s, "
              f"peak RSS {out['peak_rss_mb']:.0f} MB")
        for i, h in enumerate(history):
            print(f"  batch {i}: loss {h['initial_loss']:.4f} -> {h['final_loss']:.4f} in {h['seconds']:.1f} s")


if __name__ == "__main__":
    main()
