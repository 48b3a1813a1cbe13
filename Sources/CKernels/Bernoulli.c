// The QDrop and dropout mask loop: sixteen xoshiro128** generators (D. Blackman, S. Vigna, "Scrambled linear
// pseudorandom number generators", 2021), one per lane of a 16-wide vector, stepped together. Written with clang's
// vector types and compiled like VectorMath.c's loops for the baseline and, on x86-64, AVX2 and AVX-512F; every variant
// gives the same floats. Its naive twin is the generator one lane at a time (Tests/TensorsTests/RandomTests.swift).
#include "CKernels.h"
#include <stdint.h>

typedef uint32_t u32x16 __attribute__((ext_vector_type(16)));

/// The loop of one variant, `attributes` its target attribute. Products by 5 and 9 are written as shifts and adds:
/// SSE2 has no 32-bit vector multiply.
#define BERNOULLI_LOOP(name, attributes)                                                                   \
    attributes static void bernoulli_##name(const uint32_t *state, uint32_t threshold, float *out, long n) {  \
        u32x16 s0, s1, s2, s3;                                                                           \
        __builtin_memcpy(&s0, state, 64);                                                                \
        __builtin_memcpy(&s1, state + 16, 64);                                                           \
        __builtin_memcpy(&s2, state + 32, 64);                                                           \
        __builtin_memcpy(&s3, state + 48, 64);                                                           \
        for (long i = 0; i < n; i += 16) {                                                               \
            u32x16 m = s1 + (s1 << 2);                                                                   \
            u32x16 r = (m << 7) | (m >> 25);                                                             \
            r = r + (r << 3);                                                                            \
            u32x16 t = s1 << 9;                                                                          \
            s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;                                                      \
            s2 ^= t;                                                                                     \
            s3 = (s3 << 11) | (s3 >> 21);                                                                \
            u32x16 bits = (u32x16)(r < threshold) & 0x3F800000u; /* 1.0f where below, 0.0f elsewhere */  \
            if (n - i >= 16) __builtin_memcpy(out + i, &bits, 64);                                       \
            else __builtin_memcpy(out + i, &bits, (unsigned long)(n - i) * 4);                           \
        }                                                                                                \
    }

BERNOULLI_LOOP(baseline, )

#if defined(__x86_64__)
BERNOULLI_LOOP(avx2, __attribute__((target("avx2"))))
BERNOULLI_LOOP(avx512, __attribute__((target("avx512f"))))
#endif

void ck_bernoulli(int variant, const uint32_t *state, uint32_t threshold, float *out, long n) {
#if defined(__x86_64__)
    if (variant == CK_VARIANT_AVX512 && ck_variant_supported(variant)) return bernoulli_avx512(state, threshold, out, n);
    if (variant == CK_VARIANT_AVX2 && ck_variant_supported(variant)) return bernoulli_avx2(state, threshold, out, n);
#endif
    (void)variant;
    bernoulli_baseline(state, threshold, out, n);
}
