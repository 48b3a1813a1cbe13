// Adam's update loop, compiled like VectorMath.c's loops for the baseline and, on x86-64, AVX2+FMA and AVX-512F. Its
// naive twin is PyTorch's rule for one scalar at a time (Tests/TensorsTests/OptimizerStepTests.swift,
// Tests/TensorsTests/VectorMathTests.swift). Products and sums are not fused (fp contract off) and the square root
// and quotient are IEEE's in every instruction set, so each variant gives the scalar rule's bits.
#include "CKernels.h"

/// The update of one variant, `attributes` its target attribute. An output may be its input's array (each element is
/// read before it is written), which `assume_safety` tells the vectorizer.
#define ADAM_LOOP(name, attributes)                                                                    \
    attributes static void adam_##name(const struct ck_adam *h, const float *p, const float *g,         \
                                       const float *m, const float *v, float *new_p, float *new_m,      \
                                       float *new_v, long n) {                                          \
        _Pragma("clang fp contract(off)")                                                              \
        float b1 = h->beta1, b2 = h->beta2, eps = h->epsilon, wd = h->weight_decay;                    \
        float step = h->step_size, root2 = h->correction2_root;                                        \
        _Pragma("clang loop vectorize(assume_safety)")                                                 \
        for (long i = 0; i < n; i++) {                                                                 \
            float d = g[i] + wd * p[i];                                                                \
            float mi = b1 * m[i] + (1 - b1) * d, vi = b2 * v[i] + (1 - b2) * d * d;                     \
            float pi = p[i];                                                                           \
            new_m[i] = mi;                                                                             \
            new_v[i] = vi;                                                                             \
            new_p[i] = pi - step * mi / (__builtin_elementwise_sqrt(vi) / root2 + eps);                \
        }                                                                                              \
    }

ADAM_LOOP(baseline, )

#if defined(__x86_64__)
ADAM_LOOP(avx2, __attribute__((target("avx2,fma"))))
ADAM_LOOP(avx512, __attribute__((target("avx512f"))))
#endif

void ck_adam(int variant, const struct ck_adam *h, const float *p, const float *g, const float *m, const float *v,
             float *new_p, float *new_m, float *new_v, long n) {
#if defined(__x86_64__)
    if (variant == CK_VARIANT_AVX512 && ck_variant_supported(variant)) return adam_avx512(h, p, g, m, v, new_p, new_m, new_v, n);
    if (variant == CK_VARIANT_AVX2 && ck_variant_supported(variant)) return adam_avx2(h, p, g, m, v, new_p, new_m, new_v, n);
#endif
    (void)variant;
    adam_baseline(h, p, g, m, v, new_p, new_m, new_v, n);
}
