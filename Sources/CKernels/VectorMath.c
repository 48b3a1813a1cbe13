// The sigmoid and |a|^β loops of GENIE-M's soft weight quantizer and rounding regularizer, and the error terms of the
// quantizers' step-size searches (|x − Q(x)|^2.4), written without calls so
// that clang vectorizes them, and compiled three times on x86-64 (baseline, AVX2+FMA, AVX-512F) through per-function
// target attributes; ck_best_variant picks one from the CPU's features. Their naive twins are libm's expf and powf
// (`VectorMath.naiveSigmoid`, `naiveAbsPower` and `naiveQuantizationError` in Kernels), which
// Tests/TensorsTests/VectorMathTests.swift compares them with.
#include "CKernels.h"
#include <stdint.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint32_t float_bits(float x) { uint32_t b; __builtin_memcpy(&b, &x, sizeof b); return b; }
ALWAYS_INLINE float float_from_bits(uint32_t b) { float x; __builtin_memcpy(&x, &b, sizeof x); return x; }
ALWAYS_INLINE uint64_t double_bits(double x) { uint64_t b; __builtin_memcpy(&b, &x, sizeof b); return b; }
ALWAYS_INLINE double double_from_bits(uint64_t b) { double x; __builtin_memcpy(&x, &b, sizeof x); return x; }

/// c[0] + c[1]·x + … + c[n−1]·x^(n−1) by Horner's rule (unrolled: n and c are constants where it is inlined).
ALWAYS_INLINE float polynomial_float(float x, const float *c, int n) {
    float p = c[n - 1];
    for (int k = n - 2; k >= 0; k--) p = p * x + c[k];
    return p;
}

/// `polynomial_float` in double.
ALWAYS_INLINE double polynomial_double(double x, const double *c, int n) {
    double p = c[n - 1];
    for (int k = n - 2; k >= 0; k--) p = p * x + c[k];
    return p;
}

/// 1/k! for k = 0 … 9: the Taylor coefficients of e^r.
static const double exp_taylor[10] = {1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                      1.0 / 362880};
static const float exp_taylor_float[8] = {1, 1, 1.0f / 2, 1.0f / 6, 1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
/// 1/(2k + 1) for k = 0 … 7: atanh(s)/s as a series in s².
static const double atanh_series[8] = {1, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15};

/// e^x in float by Cody and Waite's range reduction (W. J. Cody, W. Waite, "Software Manual for the Elementary
/// Functions", 1980): x = k·ln 2 + r with k an integer and |r| ≤ ln 2 / 2, ln 2 split into 355/512, whose products with
/// k are exact, and the remainder ln 2 − 355/512; then e^r by its Taylor polynomial to degree 7 (truncation under 1e-8
/// relative) and 2^k written into exponent bits. 2^k is applied as two factors, so that results from the denormals
/// to overflow (inf) come out with one rounding. Adding 1.5·2^23 rounds to an integer held in the low mantissa bits.
ALWAYS_INLINE float exp_float(float x) {
    x = x > 89.0f ? 89.0f : x;  // e^89 overflows, e^-104 rounds to 0; the comparisons keep a NaN
    x = x < -104.0f ? -104.0f : x;
    const float round_magic = 12582912.0f;
    float t = x * 1.44269504f + round_magic;
    float k = t - round_magic;
    float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    float p = polynomial_float(r, exp_taylor_float, 8);
    int32_t ki = (int32_t)(float_bits(t) - float_bits(round_magic));  // -150 ... 128
    int32_t half = ki / 2;
    float s1 = float_from_bits((uint32_t)(half + 127) << 23), s2 = float_from_bits((uint32_t)(ki - half + 127) << 23);
    return p * s1 * s2;
}

ALWAYS_INLINE float sigmoid_one(float x) { return 1.0f / (1.0f + exp_float(-x)); }

/// log2 of a positive finite float, in double: a = 2^e·m with m in [√½, √2), and ln m = 2·atanh(s) for
/// s = (m − 1)/(m + 1), |s| ≤ 0.172, by the series atanh s = s + s³/3 + s⁵/5 + … to s¹⁵ (truncation under 1e-13).
/// Denormal inputs are scaled by 2^24 first.
ALWAYS_INLINE double log2_of_float(float a) {
    int denormal = a < 1.17549435e-38f;
    uint32_t b = float_bits(denormal ? a * 16777216.0f : a);
    int32_t e = (int32_t)(b - 0x3f3504f3u) >> 23;  // 0x3f3504f3: the bits of √½
    double m = float_from_bits(b - ((uint32_t)e << 23));
    double s = (m - 1) / (m + 1), s2 = s * s;
    double q = polynomial_double(s2, atanh_series, 8);
    const double two_over_ln2 = 2.8853900817779268;  // 2 / ln 2
    return (double)(e - (denormal ? 24 : 0)) + s * q * two_over_ln2;
}

/// 2^y rounded to float, in double: y = k + f with k an integer and |f| ≤ ½ (adding 1.5·2^52 rounds), 2^f = e^(f·ln 2)
/// by its Taylor polynomial to degree 9 (truncation under 1e-11), 2^k into exponent bits. The one rounding to float at
/// the end gives denormals and overflow (inf).
ALWAYS_INLINE float exp2_to_float(double y) {
    y = y > 130.0 ? 130.0 : y;
    y = y < -160.0 ? -160.0 : y;
    const double round_magic = 6755399441055744.0;
    double t = y + round_magic;
    double k = t - round_magic;
    double r = (y - k) * 0.69314718055994531;
    double p = polynomial_double(r, exp_taylor, 10);
    uint64_t ki = double_bits(t) - double_bits(round_magic);  // k, two's complement, in -160 ... 130
    return (float)(p * double_from_bits((ki + 1023) << 52));
}

/// |x|^β as exp2(β·log2 |x|), in double so that the float result is within a rounding of powf's; 0 at x = 0, and
/// inf and NaN passed through.
ALWAYS_INLINE float abs_power_one(float x, double beta) {
    float a = float_from_bits(float_bits(x) & 0x7fffffffu);
    float p = exp2_to_float(beta * log2_of_float(a));
    return a > 0 && a < __builtin_inff() ? p : (a == 0 ? 0.0f : a);
}

/// x rounded to the nearest integer, ties to even: adding and subtracting 2^23 rounds |x| < 2^23 (a float of 2^23
/// or more is an integer already).
ALWAYS_INLINE float round_even(float x) {
    float big = x < 0 ? -8388608.0f : 8388608.0f;
    return float_from_bits(float_bits(x) & 0x7fffffffu) < 8388608.0f ? (x + big) - big : x;
}

/// |x − s·(clamp(round(x/s) + z, lower, upper) − z)|^norm: one term of a step-size search's error. The product and
/// difference are not fused, so that x − Q(x) has the naive twin's bits in every variant.
ALWAYS_INLINE float quantization_error_one(float x, float s, float z, float lower, float upper, double norm) {
#pragma clang fp contract(off)
    float c = round_even(x / s) + z;
    c = c < lower ? lower : c;
    c = c > upper ? upper : c;
    return abs_power_one(x - s * (c - z), norm);
}

/// The loops of one variant, `attributes` its target attribute.
#define VARIANT_LOOPS(name, attributes)                                                  \
    attributes static void sigmoid_##name(const float *x, float *y, long n) {            \
        for (long i = 0; i < n; i++) y[i] = sigmoid_one(x[i]);                           \
    }                                                                                    \
    attributes static void abs_power_##name(const float *a, float beta, float *y, long n) { \
        double b = beta;                                                                 \
        for (long i = 0; i < n; i++) y[i] = abs_power_one(a[i], b);                      \
    }                                                                                    \
    attributes static void quantization_error_##name(const float *x, const struct ck_grid *g, float *y, long n) { \
        float s = g->step, z = g->zero_point, lower = g->lower, upper = g->upper;        \
        double norm = g->norm;                                                           \
        for (long i = 0; i < n; i++) y[i] = quantization_error_one(x[i], s, z, lower, upper, norm); \
    }

VARIANT_LOOPS(baseline, )

#if defined(__x86_64__)
VARIANT_LOOPS(avx2, __attribute__((target("avx2,fma"))))
VARIANT_LOOPS(avx512, __attribute__((target("avx512f"))))

int ck_variant_supported(int variant) {
    __builtin_cpu_init();
    switch (variant) {
    case CK_VARIANT_BASELINE: return 1;
    case CK_VARIANT_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_VARIANT_AVX512: return __builtin_cpu_supports("avx512f");
    default: return 0;
    }
}

void ck_sigmoid(int variant, const float *x, float *y, long n) {
    if (variant == CK_VARIANT_AVX512 && ck_variant_supported(variant)) sigmoid_avx512(x, y, n);
    else if (variant == CK_VARIANT_AVX2 && ck_variant_supported(variant)) sigmoid_avx2(x, y, n);
    else sigmoid_baseline(x, y, n);
}

void ck_abs_power(int variant, const float *a, float beta, float *y, long n) {
    if (variant == CK_VARIANT_AVX512 && ck_variant_supported(variant)) abs_power_avx512(a, beta, y, n);
    else if (variant == CK_VARIANT_AVX2 && ck_variant_supported(variant)) abs_power_avx2(a, beta, y, n);
    else abs_power_baseline(a, beta, y, n);
}

void ck_quantization_error(int variant, const float *x, const struct ck_grid *grid, float *y, long n) {
    if (variant == CK_VARIANT_AVX512 && ck_variant_supported(variant)) quantization_error_avx512(x, grid, y, n);
    else if (variant == CK_VARIANT_AVX2 && ck_variant_supported(variant)) quantization_error_avx2(x, grid, y, n);
    else quantization_error_baseline(x, grid, y, n);
}
#else
int ck_variant_supported(int variant) { return variant == CK_VARIANT_BASELINE; }
void ck_sigmoid(int variant, const float *x, float *y, long n) { (void)variant; sigmoid_baseline(x, y, n); }
void ck_abs_power(int variant, const float *a, float beta, float *y, long n) {
    (void)variant;
    abs_power_baseline(a, beta, y, n);
}
void ck_quantization_error(int variant, const float *x, const struct ck_grid *grid, float *y, long n) {
    (void)variant;
    quantization_error_baseline(x, grid, y, n);
}
#endif

int ck_best_variant(void) {
    return ck_variant_supported(CK_VARIANT_AVX512) ? CK_VARIANT_AVX512
         : ck_variant_supported(CK_VARIANT_AVX2)   ? CK_VARIANT_AVX2
                                                   : CK_VARIANT_BASELINE;
}
