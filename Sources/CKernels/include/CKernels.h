#ifndef CKERNELS_H
#define CKERNELS_H

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

#endif
