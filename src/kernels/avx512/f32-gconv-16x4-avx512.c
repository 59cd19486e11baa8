/* AVX-512 f32 gconv kernel (contract: gconv.h) for 4 input and 4 output
 * channels per group (ResNeXt 32x4d stage 1), 16 rows, G4 layout with 4
 * groups per block: FBGEMM's groupwise idea, vectorised across groups.
 *
 * A zmm holds 4 groups x 4 output channels, which is also how they lie in
 * the output row. Per row and tap one 16-float load brings the same 4 groups'
 * 4 input channels; an in-lane shuffle (vshufps, imm) per k spreads input k
 * of each group over its group's 128-bit lane, and one FMA with the packed
 * (group, column) weights of k does 16 useful MACs. Per row and tap: 1 load,
 * 4 shuffles, 4 FMAs; the 4 weight vectors of a tap are loaded once for the
 * 16 rows. A last partial block of groups (groups % 4) uses masked loads and
 * stores, so nothing past the row's groups*4 channels is touched. */
#include "kernels/avx512/f32-mask-avx512.h"
#include "kernels/gconv.h"

#define MR 16

#define CX_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define CX_ACC(i) __m512 vacc##i = vbias;
#define CX_ROW(i)                                                                             \
    {                                                                                         \
        const __m512 vx = partial ? cx_maskz_loadu16(gm, ap[i] + off) : _mm512_loadu_ps(ap[i] + off); \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0x00), vw0, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0x55), vw1, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0xAA), vw2, vacc##i);             \
        vacc##i = _mm512_fmadd_ps(_mm512_shuffle_ps(vx, vx, 0xFF), vw3, vacc##i);             \
    }
#define CX_OUT(i)                                                                             \
    if (i < mr) {                                                                             \
        __m512 v = vacc##i;                                                                   \
        if (res) v = _mm512_add_ps(v, partial ? cx_maskz_loadu16(gm, res + i * r_stride) : _mm512_loadu_ps(res + i * r_stride)); \
        v = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));                                      \
        if (partial)                                                                          \
            cx_mask_storeu16(c + i * c_stride, gm, v);                                        \
        else                                                                                  \
            _mm512_storeu_ps(c + i * c_stride, v);                                            \
    }

/* one block of 4 groups (partial: the first gm lanes only) */
static inline __attribute__((always_inline)) void cx_block(const int partial, cx_m16 gm, size_t mr, size_t ks,
                                                           const float *const *ap, size_t off, const float *w,
                                                           float *c, size_t c_stride, const float *res,
                                                           size_t r_stride, __m512 vmin, __m512 vmax)
{
    const __m512 vbias = _mm512_loadu_ps(w);
    CX_ROWS(CX_ACC)
    w += 16;
    for (size_t t = ks; t != 0; t--) {
        const __m512 vw0 = _mm512_loadu_ps(w);
        const __m512 vw1 = _mm512_loadu_ps(w + 16);
        const __m512 vw2 = _mm512_loadu_ps(w + 32);
        const __m512 vw3 = _mm512_loadu_ps(w + 48);
        w += 64;
        CX_ROWS(CX_ROW)
        ap += MR;
    }
    CX_ROWS(CX_OUT)
}

void cx_f32_gconv_ukernel_16x4__avx512(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                       const float *const *a, size_t a_offset, const float *w,
                                       float *c, size_t c_stride, const cx_f32_params *p)
{
    (void)kc;
    (void)nc;
    const __m512 vmin = _mm512_set1_ps(p->min);
    const __m512 vmax = _mm512_set1_ps(p->max);
    const size_t r_stride = p->r_stride, block = 16 * (1 + ks * 4);
    size_t g = 0;
    for (; g + 4 <= groups; g += 4) {
        cx_block(0, 0xFFFF, mr, ks, a, a_offset + g * 4, w, c + g * 4, c_stride,
                 p->residual ? p->residual + g * 4 : NULL, r_stride, vmin, vmax);
        w += block;
    }
    if (g < groups) {
        const cx_m16 gm = (cx_m16)((1u << (4 * (groups - g))) - 1);
        cx_block(1, gm, mr, ks, a, a_offset + g * 4, w, c + g * 4, c_stride,
                 p->residual ? p->residual + g * 4 : NULL, r_stride, vmin, vmax);
    }
}
