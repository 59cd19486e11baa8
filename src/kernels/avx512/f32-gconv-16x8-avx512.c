/* AVX-512 f32 gconv kernel (contract: gconv.h) for 8 input and 8 output
 * channels per group (ResNeXt 32x4d stage 2, 32x8d stage 1), 16 rows, K8
 * layout.
 *
 * An 8-column zmm kernel wastes half of every FMA on padding. Here a row's
 * zmm accumulator holds its 8 columns twice, as partial sums over k = 0-3
 * and k = 4-7: 128-bit lanes (columns 0-3 | 0-3 | 4-7 | 4-7) x (k low | high
 * | low | high). One 256-bit broadcast load of the row's 8 channels gives
 * (a0-3 | a4-7 | a0-3 | a4-7); an in-lane shuffle (vshufps, imm) per e < 4
 * spreads a[e] and a[e+4] over the matching lanes, and one FMA with the
 * packed weights of (e, e+4) does 16 useful MACs. Per row and tap: 1 load, 4
 * shuffles, 4 FMAs, no padding lanes and no cross-lane shuffles; the 4
 * weight vectors of a tap are loaded once for the 16 rows. Two cross-lane
 * shuffles and an add per pair of rows fold the halves in the epilogue.
 * (A pixel-vectorised kernel that transposes 16 rows x 8 k in registers ran
 * 10-15% slower: its transposes are cross-lane.) */
#include "kernels/avx512/f32-mask-avx512.h"
#include "kernels/gconv.h"

#define MR 16

#define CX_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define CX_PAIRS(X) X(0, 1) X(2, 3) X(4, 5) X(6, 7) X(8, 9) X(10, 11) X(12, 13) X(14, 15)
#define CX_ACC(i) __m512 vacc##i = vbias;
#define CX_ROW(i)                                                                             \
    {                                                                                         \
        const __m512 vx = _mm512_broadcast_f32x8(_mm256_loadu_ps(ap[i] + off));              \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0x00), vw0, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0x55), vw1, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0xAA), vw2, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0xFF), vw3, vacc##i);             \
    }
/* rows i and j: fold the k halves, (row i | row j) in one zmm */
#define CX_OUT(i, j)                                                                          \
    {                                                                                         \
        const __m512 v = _mm512_add_ps(cx_shuffle_f32x4(vacc##i, vacc##j, 0x88),          \
                                       cx_shuffle_f32x4(vacc##i, vacc##j, 0xDD));         \
        cx_row_out(i, mr, _mm512_castps512_ps256(v), cg, c_stride, res, r_stride, vmin, vmax); \
        cx_row_out(j, mr, cx_hi256(v), cg, c_stride, res, r_stride, vmin, vmax);              \
    }

static inline void cx_row_out(size_t i, size_t mr, __m256 v, float *c, size_t c_stride, const float *res,
                              size_t r_stride, __m256 vmin, __m256 vmax)
{
    if (i >= mr) return;
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i * r_stride));
    _mm256_storeu_ps(c + i * c_stride, _mm256_min_ps(vmax, _mm256_max_ps(vmin, v)));
}

void cx_f32_gconv_ukernel_16x8__avx512(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                       const float *const *a, size_t a_offset, const float *w,
                                       float *c, size_t c_stride, const cx_f32_params *p)
{
    (void)kc;
    (void)nc;
    const __m256 vmin = _mm256_set1_ps(p->min);
    const __m256 vmax = _mm256_set1_ps(p->max);
    const size_t r_stride = p->r_stride;
    for (size_t g = 0; g < groups; g++) {
        const size_t off = a_offset + g * 8;
        const float *res = p->residual ? p->residual + g * 8 : NULL;
        float *cg = c + g * 8;
        const __m512 vbias = _mm512_loadu_ps(w);
        CX_ROWS(CX_ACC)
        w += 16;
        const float *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            const __m512 vw0 = _mm512_loadu_ps(w);
            const __m512 vw1 = _mm512_loadu_ps(w + 16);
            const __m512 vw2 = _mm512_loadu_ps(w + 32);
            const __m512 vw3 = _mm512_loadu_ps(w + 48);
            w += 64;
            CX_ROWS(CX_ROW)
            ap += MR;
        }
        CX_PAIRS(CX_OUT)
    }
}
