#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Vectorized float loops compiled for several instruction sets, one chosen at run time (Sources/CKernels/VectorMath.c).
/// Only Kernels imports this module; the libm loops they replace stay in Kernels as their naive twins (`VectorMath`).

/// The instruction sets a loop is compiled for: the baseline of the architecture (SSE2 on x86-64, NEON on arm64),
/// AVX2 with FMA, AVX-512F. Only the baseline exists off x86-64.
enum {
    CK_VARIANT_BASELINE = 0,
    CK_VARIANT_AVX2 = 1,
    CK_VARIANT_AVX512 = 2,
};

/// 1 when this CPU runs `variant`'s instructions, else 0.
int ck_variant_supported(int variant);

/// The widest variant this CPU runs.
int ck_best_variant(void);

/// `y[i] = 1 / (1 + e^(-x[i]))` for `i < n`, compiled for `variant` (the baseline when the CPU lacks it).
void ck_sigmoid(int variant, const float *x, float *y, long n);

/// `y[i] = |a[i]|^beta` for `i < n` and `beta > 0` (0 where `a[i]` is 0), compiled for `variant` (the baseline when
/// the CPU lacks it).
void ck_abs_power(int variant, const float *a, float beta, float *y, long n);

/// A quantization grid: x ↦ step·(clamp(round(x/step) + zero_point, lower, upper) − zero_point), round to nearest
/// even; and the power of the error a step-size search minimizes.
struct ck_grid {
    float step, zero_point, lower, upper, norm;
};

/// `y[i] = |x[i] − Q(x[i])|^norm` for `i < n` with Q `grid`'s quantizer, compiled for `variant` (the baseline when the
/// CPU lacks it).
void ck_quantization_error(int variant, const float *x, const struct ck_grid *grid, float *y, long n);

/// PyTorch 1.13's Adam hyperparameters at one step t: the step size `lr / (1 − β1^t)` and `√(1 − β2^t)`.
struct ck_adam {
    float beta1, beta2, epsilon, weight_decay, step_size, correction2_root;
};

/// Adam's update of `n` floats (`OptimizerKernels.adam`): `d = g + wd·p`, `m' = β1·m + (1 − β1)·d`,
/// `v' = β2·v + (1 − β2)·d²`, `p' = p − step_size·m' / (√v' / correction2_root + ε)`. An output may be its input's
/// array. Compiled for `variant` (the baseline when the CPU lacks it).
void ck_adam(int variant, const struct ck_adam *hyperparameters, const float *p, const float *g, const float *m,
             const float *v, float *new_p, float *new_m, float *new_v, long n);

/// Writes `n` floats, each 1.0 or 0.0: sixteen xoshiro128** generators, lane `l` starting from the state words
/// `state[l]`, `state[16 + l]`, `state[32 + l]`, `state[48 + l]`, are stepped together, and float `i` is 1.0 when the
/// draw of lane `i % 16` at step `i / 16` is below `threshold`. Compiled for `variant` (the baseline when the CPU
/// lacks it); every variant writes the same floats.
void ck_bernoulli(int variant, const uint32_t *state, uint32_t threshold, float *out, long n);

/// Winograd's F(m x m, 3x3) convolutions, m = 2 or 4, at stride 1 and padding 1 on nChw8c activations
/// (Sources/CKernels/Winograd.c). Tiles are m x m outputs, numbered image by image, row by row:
/// `ck_winograd_tiles(m, n, h, w)` of them for `n` maps of `h x w`; each takes `(m+2)^2` transformed values (`P`
/// below). Each call takes tiles `t_begin ..< t_end`, so threads can split them; `variant` as above.

/// The m x m tiles of `n` maps of `h x w`.
long ck_winograd_tiles(int m, long n, long h, long w);

/// Transforms PyTorch's `[o, c, 3, 3]` weights, output channels `o_begin ..< o_end` (multiples of 8, as `c` is), into
/// `u[P][c][o]` for `ck_winograd_forward` with `c` inputs and `o` outputs; `transposed` makes them the data
/// gradient's instead (`u[P][o][c]`, kernels rotated by 180 degrees).
void ck_winograd_weights(int m, const float *weights, long o, long c, int transposed, long o_begin, long o_end,
                         float *u);

/// `y = conv(x, weights) + bias` on the given tiles: `x` is `[n, c/8, h, w, 8]`, `y` is `[n, o/8, h, w, 8]`, `u` from
/// `ck_winograd_weights`, `bias` `[o]` or NULL; `c` and `o` multiples of 8.
void ck_winograd_forward(int variant, int m, const float *x, const float *u, const float *bias, float *y, long c,
                         long o, long h, long w, long t_begin, long t_end);

/// Adds the given tiles' share of the weight gradient, in the transformed domain, to `du[P][o][c]`, and, when `db`
/// is not NULL, their sum of `dy` to `db[o]`: `x` is `[n, c/8, h, w, 8]`, `dy` is `[n, o/8, h, w, 8]`.
void ck_winograd_weight_gradient(int variant, int m, const float *x, const float *dy, float *du, float *db, long c,
                                 long o, long h, long w, long t_begin, long t_end);

/// `[o, c, 3, 3]` weight gradient from `parts` accumulated `du[P][o][c]`, each followed by its `db[o]`, summed;
/// the sum of the `db` parts into `db` unless it is NULL.
void ck_winograd_finish_weight_gradient(int m, const float *du, long parts, long o, long c, float *dw, float *db);

/// Sets glibc's allocator to keep freed memory for reuse (Sources/CKernels/Memory.c): large blocks from the heap,
/// not a fresh mapping each (mmap threshold 2 GB); the heap not trimmed below 2 GiB of free memory; grown by 512 MB
/// more than asked. These are the `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` and `MALLOC_TOP_PAD_` values that
/// scripts/peer_bench.py gives PyTorch (its trim threshold is 4 GB; `mallopt` takes an int). A process started with
/// any of those variables, or with `GLIBC_TUNABLES`, keeps its own settings; off glibc this does nothing.
void ck_keep_freed_memory(void);

#endif
