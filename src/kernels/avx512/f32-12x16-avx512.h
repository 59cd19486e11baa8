/* The 12-row x 16-column f32 tile shared by cx_f32_igemm_ukernel_12x16__avx512
 * (one group per call) and cx_f32_gconv_ukernel_12x16__avx512 (all groups of
 * a row tile per call): igemm contract (kernels.h) plus aoff, a float offset
 * added to every A pointer (the group's first channel).
 *
 * One zmm accumulator per row. Per k step: 1 weight load and 12 FMAs whose A
 * operand is an embedded broadcast ({1to16}) straight from the row, so the
 * loop is 13 loads and 12 FMAs and nothing else on the vector side. 12 rows
 * keep 12 independent FMA chains in flight (2 pipes x 4 cycles = 8 needed)
 * and leave the 12 A pointers + w + k in the general registers: rows are read
 * at [a_i + k*4] with one shared index running from -kc to 0, so there are no
 * per-row pointer increments. (Measured on Zen 5: 8 and 10 rows run the same
 * in cache; 14 and more spill pointers and lose 10-40%.)
 *
 * Rows >= mr are computed (their pointers are valid) but neither read from
 * the residual nor stored. Edge columns use masked loads/stores. */
#ifndef CX_F32_12X16_AVX512_H
#define CX_F32_12X16_AVX512_H
#include "kernels/avx512/f32-mask-avx512.h"
#include "kernels/kernels.h"

#define CX_12X16_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define CX_12X16_ACC(i) __m512 vacc##i = vbias;
#define CX_12X16_APTR(i) const float *a##i = ap[i] + aend;
#define CX_12X16_FMA(i) vacc##i = _mm512_fmadd_ps(_mm512_set1_ps(a##i[k]), vw, vacc##i);
#define CX_12X16_OUT(i)                                                              \
    if (i < mr) {                                                                    \
        __m512 v = vacc##i;                                                          \
        if (res) v = _mm512_add_ps(v, cx_maskz_loadu16(m, res + i * r_stride));     \
        v = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));                             \
        if (full)                                                                    \
            _mm512_storeu_ps(c + i * c_stride, v);                                   \
        else                                                                         \
            cx_mask_storeu16(c + i * c_stride, m, v);                                \
    }

/* Computes the mr x nc block; returns w advanced past its panels. */
static inline const float *cx_f32_tile_12x16(size_t mr, size_t nc, size_t kc, size_t ks,
                                             const float *const *a, size_t aoff, const float *w,
                                             float *c, size_t c_stride, const float *res,
                                             size_t r_stride, __m512 vmin, __m512 vmax)
{
    const size_t aend = aoff + kc;
    const ptrdiff_t nk = -(ptrdiff_t)kc;
    for (;;) {
        const __m512 vbias = _mm512_loadu_ps(w);
        CX_12X16_ROWS(CX_12X16_ACC)
        w += 16;

        const float *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            CX_12X16_ROWS(CX_12X16_APTR)
            ap += 12;
            for (ptrdiff_t k = nk; k != 0; k++) {
                const __m512 vw = _mm512_loadu_ps(w);
                w += 16;
                CX_12X16_ROWS(CX_12X16_FMA)
            }
        }

        const int full = nc >= 16;
        const cx_m16 m = full ? (cx_m16)0xFFFF : (cx_m16)((1u << nc) - 1);
        CX_12X16_ROWS(CX_12X16_OUT)
        if (nc <= 16) return w;
        nc -= 16;
        c += 16;
        if (res) res += 16;
    }
}

#endif
