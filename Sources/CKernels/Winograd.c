// Winograd's F(2x2, 3x3) and F(4x4, 3x3) convolutions (A. Lavin, S. Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for 3x3 kernels at stride 1 and padding 1 on nChw8c activations, with their data and weight
// gradients. An m x m output tile (m = 2 or 4) is computed from the (m+2) x (m+2) input tile around it with (m+2)^2
// products per pair of channels where the direct algorithm takes 9 m^2: 16 for 4 outputs, or 36 for 16. oneDNN 2.6
// has Winograd kernels only for AVX-512; these are genie's for AVX2 CPUs. Tiles are taken a block at a time:
// transformed into a scratch that stays in the core's L2 cache, multiplied there as (m+2)^2 small matrix products,
// transformed back. Written once with vector extensions, for both tile sizes (every `m` below is a constant where the
// bodies are inlined), and compiled for the baseline and, on x86-64, AVX2+FMA (per-function target attributes; the
// products are fused into FMAs there). The naive twin is `NaiveConvolution` in Kernels
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

// The one-dimensional transforms, each from `in[0], in[si], ...` to `out[0], out[so], ...`, for output tiles of side
// `m`: B^T (m+2 values to m+2) on input tiles, A^T (m+2 to m) on products, A (m to m+2) on output gradients, G (3 to
// m+2) on kernels and G^T (m+2 to 3) on the kernels' gradients. Lavin and Gray's matrices, at the points 0, ±1 (m = 2)
// and 0, ±1, ±2 (m = 4); applied along columns, then rows, they give the two-dimensional transforms.

INLINE void input_line(int m, const v8 *in, int si, v8 *out, int so) {
    _Pragma("clang fp contract(fast)")
    v8 d0 = in[0], d1 = in[si], d2 = in[2 * si], d3 = in[3 * si];
    if (m == 2) {
        out[0] = d0 - d2, out[so] = d1 + d2, out[2 * so] = d2 - d1, out[3 * so] = d1 - d3;
        return;
    }
    v8 d4 = in[4 * si], d5 = in[5 * si], four = splat(4), five = splat(5);
    v8 a = d4 - four * d2, b = d3 - four * d1, c = d4 - d2, e = splat(2) * (d3 - d1);
    out[0] = four * d0 - five * d2 + d4, out[so] = a + b, out[2 * so] = a - b;
    out[3 * so] = c + e, out[4 * so] = c - e, out[5 * so] = four * d1 - five * d3 + d5;
}

INLINE void output_line(int m, const v8 *in, int si, v8 *out, int so) {
    _Pragma("clang fp contract(fast)")
    v8 q0 = in[0], q1 = in[si], q2 = in[2 * si], q3 = in[3 * si];
    if (m == 2) {
        out[0] = q0 + q1 + q2, out[so] = q1 - q2 - q3;
        return;
    }
    v8 a = q1 + q2, b = q1 - q2, c = q3 + in[4 * si], d = q3 - in[4 * si];
    out[0] = q0 + a + c, out[so] = b + splat(2) * d, out[2 * so] = a + splat(4) * c;
    out[3 * so] = b + splat(8) * d + in[5 * si];
}

INLINE void gradient_line(int m, const v8 *in, int si, v8 *out, int so) {
    _Pragma("clang fp contract(fast)")
    v8 q0 = in[0], q1 = in[si];
    if (m == 2) {
        out[0] = q0, out[so] = q0 + q1, out[2 * so] = q0 - q1, out[3 * so] = -q1;
        return;
    }
    v8 q2 = in[2 * si], q3 = in[3 * si];
    v8 a = q0 + q2, b = q1 + q3, c = q0 + splat(4) * q2, d = splat(2) * q1 + splat(8) * q3;
    out[0] = q0, out[so] = a + b, out[2 * so] = a - b, out[3 * so] = c + d, out[4 * so] = c - d, out[5 * so] = q3;
}

INLINE void kernel_line(int m, const v8 *in, int si, v8 *out, int so) {
    _Pragma("clang fp contract(fast)")
    v8 g0 = in[0], g1 = in[si], g2 = in[2 * si];
    if (m == 2) {
        v8 half = splat(0.5f);
        out[0] = g0, out[so] = half * (g0 + g1 + g2), out[2 * so] = half * (g0 - g1 + g2), out[3 * so] = g2;
        return;
    }
    v8 a = g0 + g2, sixth = splat(1.0f / 6), c = splat(1.0f / 24) * g0 + sixth * g2, d = splat(1.0f / 12) * g1;
    out[0] = splat(0.25f) * g0, out[so] = -sixth * (a + g1), out[2 * so] = -sixth * (a - g1);
    out[3 * so] = c + d, out[4 * so] = c - d, out[5 * so] = g2;
}

INLINE void kernel_gradient_line(int m, const v8 *in, int si, v8 *out, int so) {
    _Pragma("clang fp contract(fast)")
    v8 q0 = in[0], q1 = in[si], q2 = in[2 * si], q3 = in[3 * si];
    if (m == 2) {
        v8 half = splat(0.5f);
        out[0] = q0 + half * (q1 + q2), out[so] = half * (q1 - q2), out[2 * so] = half * (q1 + q2) + q3;
        return;
    }
    v8 q4 = in[4 * si], sixth = splat(1.0f / 6), a = q1 + q2, b = q3 + q4;
    out[0] = splat(0.25f) * q0 - sixth * a + splat(1.0f / 24) * b;
    out[so] = sixth * (q2 - q1) + splat(1.0f / 12) * (q3 - q4);
    out[2 * so] = sixth * (b - a) + in[5 * si];
}

/// The tiles of one image: `rows x cols` tiles of `m x m` outputs over an `h x w` map, each with `positions`
/// (`(m+2)^2`) transformed values.
struct tiling {
    long m, positions, channels_in, channels_out, h, w, rows, cols, per_image, block;
};

INLINE struct tiling make_tiling(int m, long c, long o, long h, long w) {
    struct tiling t = {m, (m + 2) * (m + 2), c, o, h, w, (h + m - 1) / m, (w + m - 1) / m, 0, 0};
    t.per_image = t.rows * t.cols;
    // Tiles per block: the block's transformed inputs and outputs within 192 KB, a multiple of 6 (the product's row
    // block), at most 24 (at 16 channels, F(2x2)'s 96 tiles took 10-25% longer).
    long b = 192 * 1024 / (t.positions * 4 * (c + o));
    b = b < 6 ? 6 : b > 24 ? 24 : b;
    t.block = b / 6 * 6;
    return t;
}

/// The position of tile `t`: its image and its top-left output.
struct tile { long n, y, x; };

INLINE struct tile locate(const struct tiling *g, long t) {
    struct tile p = {t / g->per_image, t % g->per_image / g->cols * g->m, t % g->cols * g->m};
    return p;
}

/// The tile after `p`.
INLINE void advance(const struct tiling *g, struct tile *p) {
    p->x += g->m;
    if (p->x < g->w) return;
    p->x = 0, p->y += g->m;
    if (p->y < g->h) return;
    p->y = 0, p->n += 1;
}

/// Prefetches, for writing when `write`, the `m` rows from `first` below tile `at`'s top at its `m` columns: those the
/// next row of tiles touches first, a row of tiles ahead. Without it the maps, which stream from L3, stalled the
/// transforms: at 16 channels they took 3-4 times their time in cache (BENCHMARKS.md, "The maps from L3").
INLINE void prefetch_rows(const float *plane, struct tile at, int m, long first, long h, long w, int write) {
    for (long i = first; i < first + m && at.y + i < h; i++) {
        const float *row = plane + ((at.y + i) * w + at.x) * 8;
        for (int j = 0; j < m; j += 2) {  // a 64-byte line holds two pixels
            if (write) __builtin_prefetch(row + 8 * j, 1);
            else __builtin_prefetch(row + 8 * j);
        }
    }
}

/// Transforms the input tiles (B^T d B) of block tiles `t0 ..< t0 + count` into `v[pos][tile][channel]`.
INLINE void transform_inputs(const struct tiling *g, const float *x, long t0, long count, float *v) {
    long c = g->channels_in, cb_count = c / 8, stride = g->block * c, h = g->h, w = g->w;
    int m = (int)g->m, s = m + 2;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        int inside = at.y >= 1 && at.y + m < h && at.x >= 1 && at.x + m < w;
        for (long cb = 0; cb < cb_count; cb++) {
            const float *plane = x + ((at.n * cb_count + cb) * h) * w * 8;
            prefetch_rows(plane, at, m, m + 1, h, w, 0);
            v8 d[36], column[6], row[6];  // d = B^T x: m + 2 rows of m + 2
            for (int j = 0; j < s; j++) {
                long xx = at.x - 1 + j;
                if (inside) {
                    const float *top = plane + ((at.y - 1) * w + xx) * 8;
                    for (int i = 0; i < s; i++) column[i] = load(top + i * w * 8);
                } else {
                    for (int i = 0; i < s; i++) {
                        long y = at.y - 1 + i;
                        column[i] = y >= 0 && y < h && xx >= 0 && xx < w ? load(plane + (y * w + xx) * 8) : splat(0);
                    }
                }
                input_line(m, column, 1, d + j, s);
            }
            for (int i = 0; i < s; i++) {
                input_line(m, d + s * i, 1, row, 1);
                for (int j = 0; j < s; j++) store(v + (s * i + j) * stride + k * c + cb * 8, row[j]);
            }
        }
    }
}

/// q[pos][tile][o] = Σ_c v[pos][tile][c] · u[pos][c][o] for the block's `rows` tiles (a multiple of 6).
INLINE void multiply(const struct tiling *g, const float *v, const float *u, long rows, float *q) {
    _Pragma("clang fp contract(fast)")
    long c = g->channels_in, o = g->channels_out;
    for (int p = 0; p < g->positions; p++) {
        const float *vp = v + p * g->block * c, *up = u + p * c * o;
        float *qp = q + p * g->block * o;
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
                float *d = qp + r0 * o + ob;
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
                for (int r = 0; r < 6; r++) store(qp + (r0 + r) * o + ob, s[r]);
            }
        }
    }
}

/// A^T q A for block tiles `t0 ..< t0 + count`, plus the bias, written where the outputs fall inside the map.
INLINE void transform_outputs(const struct tiling *g, const float *q, const float *bias, long t0, long count,
                              float *y) {
    long o = g->channels_out, ob_count = o / 8, stride = g->block * o;
    int m = (int)g->m, s = m + 2;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        for (long ob = 0; ob < ob_count; ob++) {
            v8 r[24], column[6], out[4];  // r = A^T q: m rows of m + 2
            for (int j = 0; j < s; j++) {
                for (int i = 0; i < s; i++) column[i] = load(q + (s * i + j) * stride + k * o + ob * 8);
                output_line(m, column, 1, r + j, s);
            }
            v8 b = bias ? load(bias + ob * 8) : splat(0);
            float *plane = y + ((at.n * ob_count + ob) * g->h) * g->w * 8;
            prefetch_rows(plane, at, m, m, g->h, g->w, 1);
            for (int i = 0; i < m && at.y + i < g->h; i++) {
                output_line(m, r + s * i, 1, out, 1);
                float *line = plane + ((at.y + i) * g->w + at.x) * 8;
                for (int j = 0; j < m && at.x + j < g->w; j++) store(line + 8 * j, out[j] + b);
            }
        }
    }
}

INLINE void forward_body(int m, const float *x, const float *u, const float *bias, float *y, long c, long o, long h,
                         long w, long t_begin, long t_end) {
    struct tiling g = make_tiling(m, c, o, h, w);
    float *v = calloc((size_t)(g.positions * g.block * (c + o)), sizeof(float)), *q = v + g.positions * g.block * c;
    for (long t0 = t_begin; t0 < t_end; t0 += g.block) {
        long count = t_end - t0 < g.block ? t_end - t0 : g.block;
        transform_inputs(&g, x, t0, count, v);
        multiply(&g, v, u, (count + 5) / 6 * 6, q);
        transform_outputs(&g, q, bias, t0, count, y);
    }
    free(v);
}

/// A dy A^T for the output-gradient tiles of block tiles `t0 ..< t0 + count` (zero outside the map), into
/// `e[pos][tile][o]`; adds their sum of dy to `db` unless it is NULL.
INLINE void transform_gradients(const struct tiling *g, const float *dy, long t0, long count, float *e, float *db) {
    long o = g->channels_out, ob_count = o / 8, stride = g->block * o;
    int m = (int)g->m, s = m + 2;
    struct tile at = locate(g, t0);
    for (long k = 0; k < count; k++, advance(g, &at)) {
        for (long ob = 0; ob < ob_count; ob++) {
            const float *plane = dy + ((at.n * ob_count + ob) * g->h) * g->w * 8;
            prefetch_rows(plane, at, m, m, g->h, g->w, 0);
            v8 q[16], r[24], row[6], sum = splat(0);  // r = A q: m + 2 rows of m
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < m; j++) {
                    long yy = at.y + i, xx = at.x + j;
                    q[m * i + j] = (yy < g->h && xx < g->w) ? load(plane + (yy * g->w + xx) * 8) : splat(0);
                    sum += q[m * i + j];
                }
            }
            if (db) store(db + ob * 8, load(db + ob * 8) + sum);
            for (int j = 0; j < m; j++) gradient_line(m, q + j, m, r + j, m);
            for (int i = 0; i < s; i++) {
                gradient_line(m, r + m * i, 1, row, 1);
                for (int j = 0; j < s; j++) store(e + (s * i + j) * stride + k * o + ob * 8, row[j]);
            }
        }
    }
}

/// du[pos][o][c] += Σ_tile e[pos][tile][o] · v[pos][tile][c] over the block's `count` tiles.
INLINE void accumulate(const struct tiling *g, const float *e, const float *v, long count, float *du) {
    _Pragma("clang fp contract(fast)")
    long c = g->channels_in, o = g->channels_out;
    for (int p = 0; p < g->positions; p++) {
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

INLINE void weight_gradient_body(int m, const float *x, const float *dy, float *du, float *db, long c, long o, long h,
                                 long w, long t_begin, long t_end) {
    struct tiling g = make_tiling(m, c, o, h, w);
    float *v = calloc((size_t)(g.positions * g.block * (c + o)), sizeof(float)), *e = v + g.positions * g.block * c;
    for (long t0 = t_begin; t0 < t_end; t0 += g.block) {
        long count = t_end - t0 < g.block ? t_end - t0 : g.block;
        transform_inputs(&g, x, t0, count, v);
        transform_gradients(&g, dy, t0, count, e, db);
        accumulate(&g, e, v, count, du);
    }
    free(v);
}

// Each entry point inlines its body once per tile size, so `m` is a constant in each copy.
#define BY_TILE(m, body, ...) ((m) == 4 ? body(4, __VA_ARGS__) : body(2, __VA_ARGS__))

static void forward_baseline(int m, const float *x, const float *u, const float *bias, float *y, long c, long o,
                             long h, long w, long t_begin, long t_end) {
    BY_TILE(m, forward_body, x, u, bias, y, c, o, h, w, t_begin, t_end);
}

static void weight_gradient_baseline(int m, const float *x, const float *dy, float *du, float *db, long c, long o,
                                     long h, long w, long t_begin, long t_end) {
    BY_TILE(m, weight_gradient_body, x, dy, du, db, c, o, h, w, t_begin, t_end);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void forward_avx2(int m, const float *x, const float *u, const float *bias,
                                                            float *y, long c, long o, long h, long w, long t_begin,
                                                            long t_end) {
    BY_TILE(m, forward_body, x, u, bias, y, c, o, h, w, t_begin, t_end);
}

__attribute__((target("avx2,fma"))) static void weight_gradient_avx2(int m, const float *x, const float *dy,
                                                                    float *du, float *db, long c, long o, long h,
                                                                    long w, long t_begin, long t_end) {
    BY_TILE(m, weight_gradient_body, x, dy, du, db, c, o, h, w, t_begin, t_end);
}
#endif

long ck_winograd_tiles(int m, long n, long h, long w) { return n * ((h + m - 1) / m) * ((w + m - 1) / m); }

/// G g G^T for 8 kernels at once, lane l the 3x3 kernel at `k[l]` (rotated by 180 degrees when `rotated`).
INLINE void transform_kernels(int m, const float *const k[8], int rotated, v8 u[36]) {
    float lanes[9][8];
    for (int l = 0; l < 8; l++)
        for (int i = 0; i < 9; i++) lanes[i][l] = k[l][rotated ? 8 - i : i];
    int s = m + 2;
    v8 g[9], r[18];  // r = G g: m + 2 rows of 3
    for (int i = 0; i < 9; i++) g[i] = load(lanes[i]);
    for (int j = 0; j < 3; j++) kernel_line(m, g + j, 3, r + j, 3);
    for (int i = 0; i < s; i++) kernel_line(m, r + 3 * i, 1, u + s * i, 1);
}

void ck_winograd_weights(int m, const float *weights, long o, long c, int transposed, long o_begin, long o_end,
                         float *u) {
    long ui = transposed ? o : c, uo = transposed ? c : o;  // the transform's input and output channels
    int positions = (m + 2) * (m + 2);
    // 8 x 8 kernels at a time, 8 side by side in the lanes, along u's rows (its last index).
    for (long a0 = o_begin; a0 < o_end; a0 += 8) {
        for (long b0 = 0; b0 < c; b0 += 8) {
            for (int row = 0; row < 8; row++) {
                const float *k[8];
                for (int l = 0; l < 8; l++)
                    k[l] = weights + (transposed ? (a0 + row) * c + b0 + l : (a0 + l) * c + b0 + row) * 9;
                long from = transposed ? a0 + row : b0 + row, to = transposed ? b0 : a0;
                v8 t[36];
                BY_TILE(m, transform_kernels, k, transposed, t);
                for (int p = 0; p < positions; p++) store(u + (p * ui + from) * uo + to, t[p]);
            }
        }
    }
}

void ck_winograd_forward(int variant, int m, const float *x, const float *u, const float *bias, float *y, long c,
                         long o, long h, long w, long t_begin, long t_end) {
#if defined(__x86_64__)
    if (variant >= CK_VARIANT_AVX2 && ck_variant_supported(CK_VARIANT_AVX2))
        return forward_avx2(m, x, u, bias, y, c, o, h, w, t_begin, t_end);
#endif
    (void)variant;
    forward_baseline(m, x, u, bias, y, c, o, h, w, t_begin, t_end);
}

void ck_winograd_weight_gradient(int variant, int m, const float *x, const float *dy, float *du, float *db, long c,
                                 long o, long h, long w, long t_begin, long t_end) {
#if defined(__x86_64__)
    if (variant >= CK_VARIANT_AVX2 && ck_variant_supported(CK_VARIANT_AVX2))
        return weight_gradient_avx2(m, x, dy, du, db, c, o, h, w, t_begin, t_end);
#endif
    (void)variant;
    weight_gradient_baseline(m, x, dy, du, db, c, o, h, w, t_begin, t_end);
}

/// G^T q G for 8 input channels at once, written to their 3x3 kernels in `dw`.
INLINE void finish_kernels(int m, const v8 q[36], float *dw) {
    int s = m + 2;
    v8 r[18], out[9];  // r = G^T q: 3 rows of m + 2
    for (int j = 0; j < s; j++) kernel_gradient_line(m, q + j, s, r + j, s);
    for (int i = 0; i < 3; i++) kernel_gradient_line(m, r + s * i, 1, out + 3 * i, 1);
    for (int l = 0; l < 8; l++)
        for (int i = 0; i < 9; i++) dw[9 * l + i] = out[i][l];
}

void ck_winograd_finish_weight_gradient(int m, const float *du, long parts, long o, long c, float *dw, float *db) {
    long positions = (m + 2) * (m + 2), stride = positions * o * c + o;  // one part: du, then db
    for (long a = 0; a < o; a++) {
        for (long b = 0; b < c; b += 8) {
            v8 q[36];
            for (long p = 0; p < positions; p++) {
                q[p] = splat(0);
                for (long k = 0; k < parts; k++) q[p] += load(du + k * stride + (p * o + a) * c + b);
            }
            BY_TILE(m, finish_kernels, q, dw + (a * c + b) * 9);
        }
    }
    for (long a = 0; db && a < o; a++) {
        db[a] = 0;
        for (long k = 0; k < parts; k++) db[a] += du[k * stride + positions * o * c + a];
    }
}
