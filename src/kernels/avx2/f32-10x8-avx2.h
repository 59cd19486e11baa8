/* The 10-row x 8-column f32 tile shared by cx_f32_igemm_ukernel_10x8__avx2
 * (one group per call) and cx_f32_gconv_ukernel_10x8__avx2 (all groups of a
 * row tile per call): igemm contract (kernels.h) plus aoff, a float offset
 * added to every A pointer (the group's first channel).
 *
 * One ymm accumulator per row (10 of the 16 ymm), one for the k step's
 * weights, one or two for broadcast A values. Per k step: 1 weight load, 10
 * broadcast loads, 10 FMAs. 10 independent FMA chains cover 2 pipes x 4-5
 * cycles of latency; rows are read at [a_i + k*4] with one shared index
 * running from -kc to 0, so the 10 A pointers, w and k fit the general
 * registers and there are no per-row pointer increments. (Measured on Zen 5:
 * 8 rows ran within noise of 10; 12-14 the same or slower.)
 *
 * Rows >= mr are computed (their pointers are valid) but neither read from
 * the residual nor stored. Edge columns (nc % 8) read the residual with a
 * masked load and store through a 4/2/1 cascade (AVX2 masked stores are slow
 * on AMD). */
#ifndef CX_F32_10X8_AVX2_H
#define CX_F32_10X8_AVX2_H
#include "kernels/intrin.h"
#include "kernels/kernels.h"

/* stores the first n (1..7) floats of v at c */
static inline void cx_store_tail8(float *c, size_t n, __m256 v)
{
    __m128 x = _mm256_castps256_ps128(v);
    if (n & 4) {
        _mm_storeu_ps(c, x);
        x = _mm256_extractf128_ps(v, 1);
        c += 4;
    }
    if (n & 2) {
        _mm_storel_pi((__m64 *)c, x);
        x = _mm_movehl_ps(x, x);
        c += 2;
    }
    if (n & 1) _mm_store_ss(c, x);
}

#define CX_10X8_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#define CX_10X8_ACC(i) __m256 vacc##i = vbias;
#define CX_10X8_APTR(i) const float *a##i = ap[i] + aend;
#define CX_10X8_FMA(i) vacc##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a##i + k), vw, vacc##i);
#define CX_10X8_OUT(i)                                                                       \
    if (i < mr) {                                                                            \
        __m256 v = vacc##i;                                                                  \
        if (res) {                                                                           \
            const float *r = res + i * r_stride;                                             \
            v = _mm256_add_ps(v, full ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, vmask));  \
        }                                                                                    \
        v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));                                     \
        if (full)                                                                            \
            _mm256_storeu_ps(c + i * c_stride, v);                                           \
        else                                                                                 \
            cx_store_tail8(c + i * c_stride, nc, v);                                         \
    }

/* Computes the mr x nc block; returns w advanced past its panels. */
static inline const float *cx_f32_tile_10x8(size_t mr, size_t nc, size_t kc, size_t ks,
                                            const float *const *a, size_t aoff, const float *w,
                                            float *c, size_t c_stride, const float *res,
                                            size_t r_stride, __m256 vmin, __m256 vmax)
{
    const size_t aend = aoff + kc;
    const ptrdiff_t nk = -(ptrdiff_t)kc;
    for (;;) {
        const __m256 vbias = _mm256_loadu_ps(w);
        CX_10X8_ROWS(CX_10X8_ACC)
        w += 8;

        const float *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            CX_10X8_ROWS(CX_10X8_APTR)
            ap += 10;
            for (ptrdiff_t k = nk; k != 0; k++) {
                const __m256 vw = _mm256_loadu_ps(w);
                w += 8;
                CX_10X8_ROWS(CX_10X8_FMA)
            }
        }

        const int full = nc >= 8;
        const __m256i vmask = _mm256_cmpgt_epi32(_mm256_set1_epi32(full ? 8 : (int)nc),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        CX_10X8_ROWS(CX_10X8_OUT)
        if (nc <= 8) return w;
        nc -= 8;
        c += 8;
        if (res) res += 8;
    }
}

#endif
