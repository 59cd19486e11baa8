/* Winograd F(4x4, 3x3) and F(2x2, 3x3) input and output transforms, one
 * vector of CX_VW channels at a time (contract: layers/conv_winograd.h;
 * matrices in conv_winograd.c). Columns first, then rows; the 6x6
 * intermediate stays in registers or L1. Channels past the last multiple of
 * CX_VW go to the scalar transforms.
 *
 * Written once for every vector ISA: avx2/f32-wino-avx2.c and
 * avx512/f32-wino-avx512.c define the vector type, width and operations
 * (CX_V, CX_VW, CX_VLOAD, CX_VSTORE, CX_VADD, CX_VSUB, CX_VFMADD, CX_VFMSUB,
 * CX_VFNMADD, CX_VSET1, CX_VMIN, CX_VMAX) and CX_FN(name), which appends the
 * ISA suffix, then include this file. */
#if !defined(CX_V) || !defined(CX_VW) || !defined(CX_FN)
#error "define the vector macros (see the header comment) before including this file"
#endif
#include "layers/conv_winograd.h"

/* The channels past the last whole vector go to the scalar transform, with
 * every pixel pointer advanced to channel c. npix: pixels of the input
 * patch (in) or of the output tile (out). */
static inline void cx_wino_in_tail(cx_f32_wino_in_fn scalar, int npix, size_t c, size_t channels,
                                   const float *const *in, float *out, size_t os)
{
    const float *p[36];
    for (int i = 0; i < npix; i++) p[i] = in[i] + c;
    scalar(channels - c, p, out + c, os);
}

static inline void cx_wino_out_tail(cx_f32_wino_out_fn scalar, int npix, size_t c, size_t channels, const float *m,
                                    size_t ms, const float *bias, float *const *out, const float *const *res,
                                    float min, float max)
{
    float *o[16];
    const float *r[16];
    for (int i = 0; i < npix; i++) {
        o[i] = out[i] + c;
        r[i] = res ? res[i] + c : NULL;
    }
    scalar(channels - c, m + c, ms, bias + c, o, res ? r : NULL, min, max);
}

/* one output pixel: + bias, + residual (if any), clamp, store */
static inline void cx_wino_store(float *o, CX_V y, CX_V vb, const float *r, CX_V vmin, CX_V vmax)
{
    CX_V v = CX_VADD(y, vb);
    if (r) v = CX_VADD(v, CX_VLOAD(r));
    CX_VSTORE(o, CX_VMIN(vmax, CX_VMAX(vmin, v)));
}

/* o = B^T d for one column of 6 vectors (factored form of conv_winograd.c) */
#define CX_BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                          \
    do {                                                                                \
        const CX_V a_ = CX_VSUB(d1, d3), b_ = CX_VSUB(d2, d4);                          \
        const CX_V b1_ = CX_VSUB(d3, d5);                                               \
        const CX_V p_ = CX_VADD(a_, b_), q_ = CX_VSUB(a_, b_);                          \
        o0 = CX_VFNMADD(v15, a_, CX_VSUB(CX_VSUB(d0, d2), b_));                         \
        o1 = CX_VFMSUB(v15, CX_VADD(d2, d3), p_);                                       \
        o2 = CX_VFMSUB(v15, CX_VSUB(d2, d3), q_);                                       \
        o3 = CX_VFMADD(v2, a_, b_);                                                     \
        o4 = CX_VFNMADD(v2, b_, a_);                                                    \
        o5 = CX_VFNMADD(v15, b_, CX_VSUB(a_, b1_));                                     \
    } while (0)

/* The input transform of both variants, per channel vector: B^T applied to
 * each of the ALPHA columns of the input patch, then to each resulting row,
 * frequencies stored os apart. BT(x, y) maps ALPHA vectors x[] to ALPHA
 * vectors y[]. */
#define CX_WINO_IN_BODY(ALPHA, BT, SCALAR_FN)                                            \
    do {                                                                                \
        size_t c = 0;                                                                   \
        for (; c + CX_VW <= channels; c += CX_VW) {                                     \
            CX_V t[ALPHA][ALPHA];                                                       \
            _Pragma("GCC unroll 6")                                                     \
            for (int s = 0; s < ALPHA; s++) {                                           \
                CX_V d[ALPHA], u[ALPHA];                                                \
                _Pragma("GCC unroll 6")                                                 \
                for (int r = 0; r < ALPHA; r++) d[r] = CX_VLOAD(in[r * ALPHA + s] + c); \
                BT(d, u);                                                               \
                _Pragma("GCC unroll 6")                                                 \
                for (int r = 0; r < ALPHA; r++) t[r][s] = u[r];                         \
            }                                                                           \
            _Pragma("GCC unroll 6")                                                     \
            for (int i = 0; i < ALPHA; i++) {                                           \
                CX_V o[ALPHA];                                                          \
                BT(t[i], o);                                                            \
                float *op = out + (size_t)(ALPHA * i) * os + c;                         \
                _Pragma("GCC unroll 6")                                                 \
                for (int r = 0; r < ALPHA; r++) CX_VSTORE(op + (size_t)r * os, o[r]);   \
            }                                                                           \
        }                                                                               \
        if (c < channels) cx_wino_in_tail(SCALAR_FN, ALPHA * ALPHA, c, channels, in, out, os); \
    } while (0)

#define CX_BT6_V(x, y) CX_BT6(x[0], x[1], x[2], x[3], x[4], x[5], y[0], y[1], y[2], y[3], y[4], y[5])

void CX_FN(cx_f32_wino4x3_in)(size_t channels, const float *const *in, float *out, size_t os)
{
    const CX_V v2 = CX_VSET1(2.0f), v15 = CX_VSET1(1.5f);
    CX_WINO_IN_BODY(6, CX_BT6_V, cx_f32_wino4x3_in__scalar);
}

/* y = A^T m for one column of 6 vectors */
#define CX_AT6(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                  \
    do {                                                                                \
        const CX_V s12_ = CX_VADD(m1, m2), d12_ = CX_VSUB(m1, m2);                      \
        y0 = CX_VADD(CX_VFMADD(v8, m3, CX_VADD(m0, s12_)), m4);                         \
        y1 = CX_VFNMADD(v2, m4, CX_VFMADD(v4, m3, d12_));                               \
        y2 = CX_VFMADD(v4, m4, CX_VFMADD(v2, m3, s12_));                                \
        y3 = CX_VADD(CX_VFNMADD(v8, m4, CX_VADD(d12_, m3)), m5);                        \
    } while (0)

/* The output transform of both variants, per channel vector: A^T applied
 * to each of the ALPHA columns of the tile's M (frequencies strided by ms),
 * then to each resulting row, then bias, residual and clamp on the M x M
 * pixels. AT(x, y) maps ALPHA vectors x[] to M vectors y[]. */
#define CX_WINO_OUT_BODY(M, ALPHA, AT, SCALAR_FN)                                        \
    do {                                                                                \
        const CX_V vmin = CX_VSET1(min), vmax = CX_VSET1(max);                          \
        size_t c = 0;                                                                   \
        for (; c + CX_VW <= channels; c += CX_VW) {                                     \
            CX_V u[M][ALPHA];                                                           \
            _Pragma("GCC unroll 6")                                                     \
            for (int j = 0; j < ALPHA; j++) {                                           \
                CX_V x[ALPHA], t[M];                                                    \
                _Pragma("GCC unroll 6")                                                 \
                for (int i = 0; i < ALPHA; i++) x[i] = CX_VLOAD(m + (size_t)(i * ALPHA + j) * ms + c); \
                AT(x, t);                                                               \
                _Pragma("GCC unroll 4")                                                 \
                for (int a = 0; a < M; a++) u[a][j] = t[a];                             \
            }                                                                           \
            const CX_V vb = CX_VLOAD(bias + c);                                         \
            _Pragma("GCC unroll 4")                                                     \
            for (int a = 0; a < M; a++) {                                               \
                CX_V y[M];                                                              \
                AT(u[a], y);                                                            \
                _Pragma("GCC unroll 4")                                                 \
                for (int b = 0; b < M; b++)                                             \
                    cx_wino_store(out[M * a + b] + c, y[b], vb, res ? res[M * a + b] + c : NULL, vmin, vmax); \
            }                                                                           \
        }                                                                               \
        if (c < channels)                                                               \
            cx_wino_out_tail(SCALAR_FN, M * M, c, channels, m, ms, bias, out, res, min, max); \
    } while (0)

#define CX_AT6_V(x, y) CX_AT6(x[0], x[1], x[2], x[3], x[4], x[5], y[0], y[1], y[2], y[3])

void CX_FN(cx_f32_wino4x3_out)(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    const CX_V v2 = CX_VSET1(2.0f), v4 = CX_VSET1(4.0f), v8 = CX_VSET1(8.0f);
    CX_WINO_OUT_BODY(4, 6, CX_AT6_V, cx_f32_wino4x3_out__scalar);
}

/* ---- F(2x2, 3x3): 4x4 tiles */

/* B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
#define CX_BT4_V(x, y)                                                                  \
    do {                                                                                \
        y[0] = CX_VSUB(x[0], x[2]);                                                     \
        y[1] = CX_VADD(x[1], x[2]);                                                     \
        y[2] = CX_VSUB(x[2], x[1]);                                                     \
        y[3] = CX_VSUB(x[1], x[3]);                                                     \
    } while (0)

void CX_FN(cx_f32_wino2x3_in)(size_t channels, const float *const *in, float *out, size_t os)
{
    CX_WINO_IN_BODY(4, CX_BT4_V, cx_f32_wino2x3_in__scalar);
}

/* A^T = [1 1 1 0; 0 1 -1 -1] */
#define CX_AT4_V(x, y)                                                                  \
    do {                                                                                \
        y[0] = CX_VADD(CX_VADD(x[0], x[1]), x[2]);                                      \
        y[1] = CX_VSUB(CX_VSUB(x[1], x[2]), x[3]);                                      \
    } while (0)

void CX_FN(cx_f32_wino2x3_out)(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    CX_WINO_OUT_BODY(2, 4, CX_AT4_V, cx_f32_wino2x3_out__scalar);
}
