"""PyTorch peer for the conv micro-benchmark: conv 128x16x28x28, 3x3, pad 1, 16->16.

Run: MALLOC_MMAP_THRESHOLD_=2000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=536870912 \
     /usr/bin/python3 scripts/bench_conv_peer.py
Prints median ms and GFLOP/s of forward, backward-data and backward-weights (2 threads). With
`--single`: one thread, timed by its CPU time (robust when other processes share the cores).
"""
import sys
import time

import torch

single = "--single" in sys.argv
torch.set_num_threads(1 if single else 2)
clock = time.thread_time if single else time.perf_counter
n, c, o, hw = 128, 16, 16, 28
flop = 2 * n * o * c * hw * hw * 9
x = torch.randn(n, c, hw, hw, requires_grad=True)
w = torch.randn(o, c, 3, 3, requires_grad=True)
g = torch.randn(n, o, hw, hw)


def median_ms(f, runs=20):
    f()
    times = []
    for _ in range(runs):
        t = clock()
        f()
        times.append((clock() - t) * 1e3)
    return sorted(times)[len(times) // 2]


def bwd(input_mask):
    return lambda: torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, input_mask)


with torch.no_grad():
    fwd = median_ms(lambda: torch.nn.functional.conv2d(x, w, padding=1))
bwd_data = median_ms(bwd([True, False, False]))
bwd_weights = median_ms(bwd([False, True, False]))
for name, ms in [("forward", fwd), ("backward-data", bwd_data), ("backward-weights", bwd_weights)]:
    print(f"torch {torch.__version__} {name:17s} {ms:7.3f} ms {flop / ms / 1e6:6.1f} GFLOP/s")
