// Winograd's F(2x2, 3x3) convolution (A. Lavin, S. Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
// for 3x3 kernels at stride 1 and padding 1 on nChw8c activations, with its data and weight gradients: each 2x2
// output tile takes 16 products per pair of channels where the direct algorithm takes 36. oneDNN 2.6 has Winograd
// kernels only for AVX-512; these are genie's for AVX2 CPUs. Tiles are taken a block at a time: transformed into a
// scratch that stays in the core's L2 cache, multiplied there as 16 small matrix products, transformed back.
// Written once with vector extensions and compiled for the baseline and, on x86-64, AVX2+FMA (per-function target
// attributes; the products are fused into FMAs there). The naive twin is `NaiveConvolution` in Kernels
// (Tests/TensorsTests/WinogradTests.swift).
#include "CKernels.h"
#include <stdlib.h>

// The baseline build passes the 8-float vectors between always-inlined functions only, so no ABI is crossed.
#pragma clang diagnostic ignored "-Wpsabi"

/// Eight floats at any alignment: one channel block of an nChw8c tensor.
typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8 splat(float s) { return (v8){s, s, s, s, s, s, s, s}; }
INLINE v8 load(const float *p) { return *(const v8 *)p; }
INLINE void store(float *p, v8 v) { *(v8 *)p = v; }

/// The tiles of one image: `rows x cols` tiles of 2x2 outputs over an `h x w` map.
struct tiling {
    long channels_in, channels_out, h, w, rows, cols, per_image, block;
};

INLINE struct tiling make_tiling(long c, long o, long h, long w) {
    struct tiling t = {c, o, h, w, (h + 1) / 2, (w + 1) / 2, 0, 0};
    t.per_image = t.rows * t.cols;
    // Tiles per block: the block's transformed inputs and outputs (16 floats per tile and channel) within 192 KB,
    // a multiple of 6 (the product's row block), at most 24 (at 16 channels, 96 tiles took 10-25% longer).
    long b = 192 * 1024 / (16 * 4 * (c + o));
    b = b < 6 ? 6 : b > 24 ? 24 : b;
    t.block = b / 6 * 6;
    return t;
}

/// B^T d B for a 4x4 tile `d` (row-major), in place.
INLINE void input_transform(v8 d[16]) {
    for (int j = 0; j < 4; j++) {
        v8 d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
        d[j] = d0 - d2, d[4 + j] = d1 + d2, d[8 + j] = d2 - d1, d[12 + j] = d1 - d3;
    }
    for (int i = 0; i < 4; i++) {
        v8 *r = d + 4 * i, d0 = r[0], d1 = r[1], d2 = r[2], d3 = r[3];
        r[0] = d0 - d2, r[1] = d1 + d2, r[2] = d2 - d1, r[3] = d1 - d3;
    }
}

/// The position of tile `t`: its image and its top-left output.
struct tile { long n, y, x; };

INLINE struct tile locate(const struct tiling *g, long t) {
    struct tile p = {t / g->per_image, t % g->per_image / g->cols * 2, t % g->cols * 2};
    return p;
}

/// The tile after `p`.
INLINE void advance(const struct tiling *g, struct tile *p) {
    p->x += 2;
    if (p->x < g->w) return;
    p->x = 0, p->y += 2;
    if (p->y < g->h) return;
    p->y = 0, p->n += 1;
}

/// Prefetches, for writing when `write`, the two rows `first` and `first + 1` below tile `at`'s top at its columns:
/// those the next row of tiles touches first, a row of tiles ahead. Without it the maps, which stream from L3, stalled
/// the transforms: at 16 channels they took 3-4 times their time in cache (BENCHMARKS.md, "The maps from L3").
INLINE void prefetch_rows(const float *plane, struct tile at, long first, long h, long w, int write) {
    if (at.y + first + 1 >= h) return;
    const float *row = plane + ((at.y + first) * w + at.x) * 8;
    if (write) __builtin_prefetch(row, 1), __builtin_prefetch(row + w * 8, 1);
    else __builtin_prefetch(row), __builtin_prefetch(row + w * 8);
}

/// Transforms the 4x4 input tiles of block tiles `t0 ..< t0 + count` into `v[pos][tile][channel]` (16 x block x C).
INLINE void transform_inputs(const struct tiling *g, const float *x, long t0, long count, float *v) {
    long c = g->channels_in, cb_count = c / 8, stride = g->block * c, h = g->h, w = g->w;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        int inside = at.y >= 1 && at.y + 2 < h && at.x >= 1 && at.x + 2 < w;
        for (long cb = 0; cb < cb_count; cb++) {
            const float *plane = x + ((at.n * cb_count + cb) * h) * w * 8;
            prefetch_rows(plane, at, 3, h, w, 0);
            v8 d[16];
            if (inside) {
                const float *corner = plane + ((at.y - 1) * w + at.x - 1) * 8;
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) d[4 * i + j] = load(corner + (i * w + j) * 8);
            } else {
                for (int i = 0; i < 4; i++) {
                    long y = at.y - 1 + i;
                    for (int j = 0; j < 4; j++) {
                        long xx = at.x - 1 + j;
                        d[4 * i + j] = (y >= 0 && y < h && xx >= 0 && xx < w) ? load(plane + (y * w + xx) * 8)
                                                                              : splat(0);
                    }
                }
            }
            input_transform(d);
            for (int p = 0; p < 16; p++) store(v + p * stride + k * c + cb * 8, d[p]);
        }
    }
}

/// m[pos][tile][o] = Σ_c v[pos][tile][c] · u[pos][c][o] for the block's `rows` tiles (a multiple of 6).
INLINE void multiply(const struct tiling *g, const float *v, const float *u, long rows, float *m) {
    _Pragma("clang fp contract(fast)")
    long c = g->channels_in, o = g->channels_out;
    for (int p = 0; p < 16; p++) {
        const float *vp = v + p * g->block * c, *up = u + p * c * o;
        float *mp = m + p * g->block * o;
        for (long r0 = 0; r0 < rows; r0 += 6) {
            const float *a = vp + r0 * c;
            long ob = 0;
            for (; ob + 16 <= o; ob += 16) {
                v8 s00 = splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00;
                v8 s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
                for (long k = 0; k < c; k++) {
                    v8 u0 = load(up + k * o + ob), u1 = load(up + k * o + ob + 8), b;
                    b = splat(a[k]), s00 += b * u0, s01 += b * u1;
                    b = splat(a[c + k]), s10 += b * u0, s11 += b * u1;
                    b = splat(a[2 * c + k]), s20 += b * u0, s21 += b * u1;
                    b = splat(a[3 * c + k]), s30 += b * u0, s31 += b * u1;
                    b = splat(a[4 * c + k]), s40 += b * u0, s41 += b * u1;
                    b = splat(a[5 * c + k]), s50 += b * u0, s51 += b * u1;
                }
                float *d = mp + r0 * o + ob;
                store(d, s00), store(d + 8, s01), store(d + o, s10), store(d + o + 8, s11);
                store(d + 2 * o, s20), store(d + 2 * o + 8, s21), store(d + 3 * o, s30), store(d + 3 * o + 8, s31);
                store(d + 4 * o, s40), store(d + 4 * o + 8, s41), store(d + 5 * o, s50), store(d + 5 * o + 8, s51);
            }
            for (; ob < o; ob += 8) {
                v8 s[6] = {splat(0), splat(0), splat(0), splat(0), splat(0), splat(0)};
                for (long k = 0; k < c; k++) {
                    v8 u0 = load(up + k * o + ob);
                    for (int r = 0; r < 6; r++) s[r] += splat(a[r * c + k]) * u0;
                }
                for (int r = 0; r < 6; r++) store(mp + (r0 + r) * o + ob, s[r]);
            }
        }
    }
}

/// A^T m A for block tiles `t0 ..< t0 + count`, plus the bias, written where the 2x2 outputs fall inside the map.
INLINE void transform_outputs(const struct tiling *g, const float *m, const float *bias, long t0, long count,
                              float *y) {
    long o = g->channels_out, ob_count = o / 8, stride = g->block * o;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        for (long ob = 0; ob < ob_count; ob++) {
            v8 q[16];
            for (int p = 0; p < 16; p++) q[p] = load(m + p * stride + k * o + ob * 8);
            v8 r[8];  // A^T q: 2 rows of 4
            for (int j = 0; j < 4; j++) {
                r[j] = q[j] + q[4 + j] + q[8 + j];
                r[4 + j] = q[4 + j] - q[8 + j] - q[12 + j];
            }
            v8 b = bias ? load(bias + ob * 8) : splat(0);
            float *plane = y + ((at.n * ob_count + ob) * g->h) * g->w * 8;
            prefetch_rows(plane, at, 2, g->h, g->w, 1);
            for (int i = 0; i < 2; i++) {
                long yy = at.y + i;
                if (yy >= g->h) break;
                v8 *ri = r + 4 * i;
                store(plane + (yy * g->w + at.x) * 8, ri[0] + ri[1] + ri[2] + b);
                if (at.x + 1 < g->w) store(plane + (yy * g->w + at.x + 1) * 8, ri[1] - ri[2] - ri[3] + b);
            }
        }
    }
}

INLINE void forward_body(const float *x, const float *u, const float *bias, float *y, long c, long o, long h, long w,
                         long t_begin, long t_end) {
    struct tiling g = make_tiling(c, o, h, w);
    float *v = calloc((size_t)(16 * g.block * (c + o)), sizeof(float)), *m = v + 16 * g.block * c;
    for (long t0 = t_begin; t0 < t_end; t0 += g.block) {
        long count = t_end - t0 < g.block ? t_end - t0 : g.block;
        transform_inputs(&g, x, t0, count, v);
        multiply(&g, v, u, (count + 5) / 6 * 6, m);
        transform_outputs(&g, m, bias, t0, count, y);
    }
    free(v);
}

/// A dy A^T for the 2x2 output-gradient tiles of block tiles `t0 ..< t0 + count` (zero outside the map), into
/// `e[pos][tile][o]`; adds their sum of dy to `db` unless it is NULL.
INLINE void transform_gradients(const struct tiling *g, const float *dy, long t0, long count, float *e, float *db) {
    long o = g->channels_out, ob_count = o / 8, stride = g->block * o;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        for (long ob = 0; ob < ob_count; ob++) {
            const float *plane = dy + ((at.n * ob_count + ob) * g->h) * g->w * 8;
            prefetch_rows(plane, at, 2, g->h, g->w, 0);
            v8 q[4];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    long yy = at.y + i, xx = at.x + j;
                    q[2 * i + j] = (yy < g->h && xx < g->w) ? load(plane + (yy * g->w + xx) * 8) : splat(0);
                }
            }
            if (db) store(db + ob * 8, load(db + ob * 8) + q[0] + q[1] + q[2] + q[3]);
            v8 r[8];  // A q: 4 rows of 2
            for (int j = 0; j < 2; j++) {
                r[j] = q[j], r[2 + j] = q[j] + q[2 + j], r[4 + j] = q[j] - q[2 + j], r[6 + j] = -q[2 + j];
            }
            for (int i = 0; i < 4; i++) {
                v8 a = r[2 * i], b = r[2 * i + 1];
                float *d = e + (4 * i) * stride + k * o + ob * 8;
                store(d, a), store(d + stride, a + b), store(d + 2 * stride, a - b), store(d + 3 * stride, -b);
            }
        }
    }
}

/// du[pos][o][c] += Σ_tile e[pos][tile][o] · v[pos][tile][c] over the block's `count` tiles.
INLINE void accumulate(const struct tiling *g, const float *e, const float *v, long count, float *du) {
    _Pragma("clang fp contract(fast)")
    long c = g->channels_in, o = g->channels_out;
    for (int p = 0; p < 16; p++) {
        const float *ep = e + p * g->block * o, *vp = v + p * g->block * c;
        float *dp = du + p * o * c;
        for (long o0 = 0; o0 < o; o0 += 4) {
            long cb = 0;
            for (; cb + 16 <= c; cb += 16) {
                v8 s00 = splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
                for (long k = 0; k < count; k++) {
                    const float *a = ep + k * o + o0;
                    v8 v0 = load(vp + k * c + cb), v1 = load(vp + k * c + cb + 8), b;
                    b = splat(a[0]), s00 += b * v0, s01 += b * v1;
                    b = splat(a[1]), s10 += b * v0, s11 += b * v1;
                    b = splat(a[2]), s20 += b * v0, s21 += b * v1;
                    b = splat(a[3]), s30 += b * v0, s31 += b * v1;
                }
                float *d = dp + o0 * c + cb;
                store(d, load(d) + s00), store(d + 8, load(d + 8) + s01);
                store(d + c, load(d + c) + s10), store(d + c + 8, load(d + c + 8) + s11);
                store(d + 2 * c, load(d + 2 * c) + s20), store(d + 2 * c + 8, load(d + 2 * c + 8) + s21);
                store(d + 3 * c, load(d + 3 * c) + s30), store(d + 3 * c + 8, load(d + 3 * c + 8) + s31);
            }
            for (; cb < c; cb += 8) {
                v8 s[4] = {splat(0), splat(0), splat(0), splat(0)};
                for (long k = 0; k < count; k++) {
                    v8 v0 = load(vp + k * c + cb);
                    for (int r = 0; r < 4; r++) s[r] += splat(ep[k * o + o0 + r]) * v0;
                }
                for (int r = 0; r < 4; r++) store(dp + (o0 + r) * c + cb, load(dp + (o0 + r) * c + cb) + s[r]);
            }
        }
    }
}

INLINE void weight_gradient_body(const float *x, const float *dy, float *du, float *db, long c, long o, long h,
                                 long w, long t_begin, long t_end) {
    struct tiling g = make_tiling(c, o, h, w);
    float *v = calloc((size_t)(16 * g.block * (c + o)), sizeof(float)), *e = v + 16 * g.block * c;
    for (long t0 = t_begin; t0 < t_end; t0 += g.block) {
        long count = t_end - t0 < g.block ? t_end - t0 : g.block;
        transform_inputs(&g, x, t0, count, v);
        transform_gradients(&g, dy, t0, count, e, db);
        accumulate(&g, e, v, count, du);
    }
    free(v);
}

static void forward_baseline(const float *x, const float *u, const float *bias, float *y, long c, long o, long h,
                             long w, long t_begin, long t_end) {
    forward_body(x, u, bias, y, c, o, h, w, t_begin, t_end);
}

static void weight_gradient_baseline(const float *x, const float *dy, float *du, float *db, long c, long o, long h,
                                     long w, long t_begin, long t_end) {
    weight_gradient_body(x, dy, du, db, c, o, h, w, t_begin, t_end);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void forward_avx2(const float *x, const float *u, const float *bias,
                                                            float *y, long c, long o, long h, long w, long t_begin,
                                                            long t_end) {
    forward_body(x, u, bias, y, c, o, h, w, t_begin, t_end);
}

__attribute__((target("avx2,fma"))) static void weight_gradient_avx2(const float *x, const float *dy, float *du,
                                                                    float *db, long c, long o, long h, long w,
                                                                    long t_begin, long t_end) {
    weight_gradient_body(x, dy, du, db, c, o, h, w, t_begin, t_end);
}
#endif

long ck_winograd_tiles(long n, long h, long w) { return n * ((h + 1) / 2) * ((w + 1) / 2); }

/// G g G^T for 8 kernels at once, lane l the 3x3 kernel at `k[l]` (rotated by 180 degrees when `rotated`).
INLINE void transform_kernels(const float *const k[8], int rotated, v8 u[16]) {
    float lanes[9][8];
    for (int l = 0; l < 8; l++)
        for (int i = 0; i < 9; i++) lanes[i][l] = k[l][rotated ? 8 - i : i];
    v8 g[9], r[12], half = splat(0.5f);
    for (int i = 0; i < 9; i++) g[i] = load(lanes[i]);
    for (int j = 0; j < 3; j++) {  // G g: 4 rows of 3
        r[j] = g[j], r[3 + j] = half * (g[j] + g[3 + j] + g[6 + j]);
        r[6 + j] = half * (g[j] - g[3 + j] + g[6 + j]), r[9 + j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {  // (G g) G^T
        const v8 *q = r + 3 * i;
        u[4 * i] = q[0], u[4 * i + 1] = half * (q[0] + q[1] + q[2]);
        u[4 * i + 2] = half * (q[0] - q[1] + q[2]), u[4 * i + 3] = q[2];
    }
}

void ck_winograd_weights(const float *weights, long o, long c, int transposed, long o_begin, long o_end, float *u) {
    long ui = transposed ? o : c, uo = transposed ? c : o;  // the transform's input and output channels
    // 8 x 8 kernels at a time, 8 side by side in the lanes, along u's rows (its last index).
    for (long a0 = o_begin; a0 < o_end; a0 += 8) {
        for (long b0 = 0; b0 < c; b0 += 8) {
            for (int row = 0; row < 8; row++) {
                const float *k[8];
                for (int l = 0; l < 8; l++)
                    k[l] = weights + (transposed ? (a0 + row) * c + b0 + l : (a0 + l) * c + b0 + row) * 9;
                long from = transposed ? a0 + row : b0 + row, to = transposed ? b0 : a0;
                v8 t[16];
                transform_kernels(k, transposed, t);
                for (int p = 0; p < 16; p++) store(u + (p * ui + from) * uo + to, t[p]);
            }
        }
    }
}

void ck_winograd_forward(int variant, const float *x, const float *u, const float *bias, float *y, long c, long o,
                         long h, long w, long t_begin, long t_end) {
#if defined(__x86_64__)
    if (variant >= CK_VARIANT_AVX2 && ck_variant_supported(CK_VARIANT_AVX2))
        return forward_avx2(x, u, bias, y, c, o, h, w, t_begin, t_end);
#endif
    (void)variant;
    forward_baseline(x, u, bias, y, c, o, h, w, t_begin, t_end);
}

void ck_winograd_weight_gradient(int variant, const float *x, const float *dy, float *du, float *db, long c, long o,
                                 long h, long w, long t_begin, long t_end) {
#if defined(__x86_64__)
    if (variant >= CK_VARIANT_AVX2 && ck_variant_supported(CK_VARIANT_AVX2))
        return weight_gradient_avx2(x, dy, du, db, c, o, h, w, t_begin, t_end);
#endif
    (void)variant;
    weight_gradient_baseline(x, dy, du, db, c, o, h, w, t_begin, t_end);
}

void ck_winograd_finish_weight_gradient(const float *du, long parts, long o, long c, float *dw, float *db) {
    long stride = 16 * o * c + o;  // one part: du, then db
    for (long a = 0; a < o; a++) {
        for (long b = 0; b < c; b++) {
            float q[16] = {0}, r[12];
            for (long k = 0; k < parts; k++)
                for (int p = 0; p < 16; p++) q[p] += du[k * stride + (p * o + a) * c + b];
            for (int j = 0; j < 4; j++) {  // G^T q: 3 rows of 4
                r[j] = q[j] + 0.5f * (q[4 + j] + q[8 + j]);
                r[4 + j] = 0.5f * (q[4 + j] - q[8 + j]);
                r[8 + j] = 0.5f * (q[4 + j] + q[8 + j]) + q[12 + j];
            }
            float *d = dw + (a * c + b) * 9;
            for (int i = 0; i < 3; i++) {  // (G^T q) G
                const float *s = r + 4 * i;
                d[3 * i] = s[0] + 0.5f * (s[1] + s[2]);
                d[3 * i + 1] = 0.5f * (s[1] - s[2]);
                d[3 * i + 2] = 0.5f * (s[1] + s[2]) + s[3];
            }
        }
    }
    for (long a = 0; db && a < o; a++) {
        db[a] = 0;
        for (long k = 0; k < parts; k++) db[a] += du[k * stride + 16 * o * c + a];
    }
}
