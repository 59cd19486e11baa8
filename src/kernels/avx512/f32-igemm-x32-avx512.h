/* AVX-512 f32 igemm microkernel body, MR (7 or 8) rows x 32 columns
 * (contract: kernels.h). Included by f32-igemm-8x32-avx512.c and
 * f32-igemm-7x32-avx512.c with MR and CX_IGEMM_FN defined; both read the same
 * NR=32 packed weights, so a conv can pick the row count per call.
 *
 * 2*MR zmm accumulators (MR rows x 2 vectors of 16 columns) + 2 for the
 * packed weights of one k step + 1 broadcast: 19 of the 32 zmm registers at
 * MR=8. Per k step: 2 weight loads + MR broadcasts for 2*MR FMAs (2 FMA
 * ports busy for MR cycles). The k loop is deliberately not unrolled: 16
 * independent accumulators already hide the FMA latency, and GCC 12's
 * register allocation of a 4x unrolled body added spills and moves (the
 * plain loop compiles to exactly these vector instructions + 4 scalar loop
 * ops, no spills).
 * 12x32 (24 accumulators) measured the same in cache but costs more on the
 * small-M tails of late conv layers; the 7-row instance exists for them:
 * 49 pixels (7x7 maps) are 7 tiles of 7 rows instead of 56 rows computed
 * in 8-row tiles, and 196 (14x14) are 28 tiles of 7 instead of 200 rows.
 *
 * All MR rows are always computed (rows >= mr have valid A pointers). The C
 * and residual pointers of rows >= mr are clamped to row mr-1 and rows are
 * stored from MR-1 down to 0, so row mr-1's own result is the last written
 * there: only the mr x nc block is modified. Edge columns (nc % 32) use
 * __mmask16 masked loads (residual) and stores. */
#if !defined(MR) || !defined(CX_IGEMM_FN) || (MR != 7 && MR != 8)
#error "define MR (7 or 8) and CX_IGEMM_FN before including this file"
#endif
#include <stdint.h>

#include "kernels/intrin.h"
#include "kernels/avx512/f32-mask-avx512.h"
#include "kernels/kernels.h"

#define NR 32


/* one k step: weights at w[wofs .. wofs+31], A element k of each row */
#define CX_STEP(k, wofs)                                                        \
    do {                                                                        \
        const __m512 vb0 = _mm512_loadu_ps(w + (wofs));                         \
        const __m512 vb1 = _mm512_loadu_ps(w + (wofs) + 16);                    \
        __m512 va;                                                              \
        va = _mm512_set1_ps(a0[(k)]);                                           \
        vacc0x0 = _mm512_fmadd_ps(va, vb0, vacc0x0);                            \
        vacc0x1 = _mm512_fmadd_ps(va, vb1, vacc0x1);                            \
        va = _mm512_set1_ps(a1[(k)]);                                           \
        vacc1x0 = _mm512_fmadd_ps(va, vb0, vacc1x0);                            \
        vacc1x1 = _mm512_fmadd_ps(va, vb1, vacc1x1);                            \
        va = _mm512_set1_ps(a2[(k)]);                                           \
        vacc2x0 = _mm512_fmadd_ps(va, vb0, vacc2x0);                            \
        vacc2x1 = _mm512_fmadd_ps(va, vb1, vacc2x1);                            \
        va = _mm512_set1_ps(a3[(k)]);                                           \
        vacc3x0 = _mm512_fmadd_ps(va, vb0, vacc3x0);                            \
        vacc3x1 = _mm512_fmadd_ps(va, vb1, vacc3x1);                            \
        va = _mm512_set1_ps(a4[(k)]);                                           \
        vacc4x0 = _mm512_fmadd_ps(va, vb0, vacc4x0);                            \
        vacc4x1 = _mm512_fmadd_ps(va, vb1, vacc4x1);                            \
        va = _mm512_set1_ps(a5[(k)]);                                           \
        vacc5x0 = _mm512_fmadd_ps(va, vb0, vacc5x0);                            \
        vacc5x1 = _mm512_fmadd_ps(va, vb1, vacc5x1);                            \
        va = _mm512_set1_ps(a6[(k)]);                                           \
        vacc6x0 = _mm512_fmadd_ps(va, vb0, vacc6x0);                            \
        vacc6x1 = _mm512_fmadd_ps(va, vb1, vacc6x1);                            \
        CX_ROW7_STEP(k);                                                        \
    } while (0)

#if MR == 8
#define CX_ROW7_STEP(k)                                                         \
    do {                                                                        \
        const __m512 va7 = _mm512_set1_ps(a7[(k)]);                             \
        vacc7x0 = _mm512_fmadd_ps(va7, vb0, vacc7x0);                           \
        vacc7x1 = _mm512_fmadd_ps(va7, vb1, vacc7x1);                           \
    } while (0)
#else
#define CX_ROW7_STEP(k) do { } while (0)
#endif

/* epilogue + store of row i: residual, clamp, store (masked on an edge panel) */
#define CX_ROW_OUT(i)                                                           \
    do {                                                                        \
        __m512 v0 = vacc##i##x0, v1 = vacc##i##x1;                              \
        if (r0) {                                                               \
            if (nc >= NR) {                                                     \
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(r##i));                  \
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(r##i + 16));             \
            } else {                                                            \
                v0 = _mm512_add_ps(v0, cx_maskz_loadu16(m0, r##i));               \
                v1 = _mm512_add_ps(v1, cx_maskz_loadu16(m1, r##i + 16));          \
            }                                                                   \
        }                                                                       \
        v0 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v0));                      \
        v1 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v1));                      \
        if (nc >= NR) {                                                         \
            _mm512_storeu_ps(c##i, v0);                                         \
            _mm512_storeu_ps(c##i + 16, v1);                                    \
        } else {                                                                \
            cx_mask_storeu16(c##i, m0, v0);                                       \
            cx_mask_storeu16(c##i + 16, m1, v1);                                  \
        }                                                                       \
    } while (0)

void CX_IGEMM_FN(size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, const float *w,
                 float *c, size_t c_stride, const cx_f32_params *p)
{
    float *c0 = c;
    float *c1 = mr > 1 ? c0 + c_stride : c0;
    float *c2 = mr > 2 ? c1 + c_stride : c1;
    float *c3 = mr > 3 ? c2 + c_stride : c2;
    float *c4 = mr > 4 ? c3 + c_stride : c3;
    float *c5 = mr > 5 ? c4 + c_stride : c4;
    float *c6 = mr > 6 ? c5 + c_stride : c5;
#if MR == 8
    float *c7 = mr > 7 ? c6 + c_stride : c6;
#endif
    const float *r0 = p->residual, *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL, *r5 = NULL, *r6 = NULL;
#if MR == 8
    const float *r7 = NULL;
#endif
    if (r0) {
        const size_t rs = p->r_stride;
        r1 = mr > 1 ? r0 + rs : r0;
        r2 = mr > 2 ? r1 + rs : r1;
        r3 = mr > 3 ? r2 + rs : r2;
        r4 = mr > 4 ? r3 + rs : r3;
        r5 = mr > 5 ? r4 + rs : r4;
        r6 = mr > 6 ? r5 + rs : r5;
#if MR == 8
        r7 = mr > 7 ? r6 + rs : r6;
#endif
    }
    const __m512 vmin = _mm512_set1_ps(p->min);
    const __m512 vmax = _mm512_set1_ps(p->max);
    /* prefetch stream (kernels.h): one prefetch per k step */
    const char *pf = p->prefetch, *pf_end = pf ? pf + p->prefetch_bytes : NULL;
    const size_t pf_step = cx_f32_prefetch_step(p, ks * kc * ((nc + NR - 1) / NR));

    for (;;) {
        __m512 vacc0x0 = _mm512_loadu_ps(w);
        __m512 vacc0x1 = _mm512_loadu_ps(w + 16);
        __m512 vacc1x0 = vacc0x0, vacc1x1 = vacc0x1;
        __m512 vacc2x0 = vacc0x0, vacc2x1 = vacc0x1;
        __m512 vacc3x0 = vacc0x0, vacc3x1 = vacc0x1;
        __m512 vacc4x0 = vacc0x0, vacc4x1 = vacc0x1;
        __m512 vacc5x0 = vacc0x0, vacc5x1 = vacc0x1;
        __m512 vacc6x0 = vacc0x0, vacc6x1 = vacc0x1;
#if MR == 8
        __m512 vacc7x0 = vacc0x0, vacc7x1 = vacc0x1;
#endif
        w += NR;

        const float *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            const float *a0 = ap[0];
            const float *a1 = ap[1];
            const float *a2 = ap[2];
            const float *a3 = ap[3];
            const float *a4 = ap[4];
            const float *a5 = ap[5];
            const float *a6 = ap[6];
#if MR == 8
            const float *a7 = ap[7];
#endif
            ap += MR;
            for (size_t k = kc; k != 0; k--) {
                CX_STEP(0, 0);
                if (pf < pf_end) { _mm_prefetch(pf, _MM_HINT_T1); pf += pf_step; }
                a0 += 1; a1 += 1; a2 += 1; a3 += 1; a4 += 1; a5 += 1; a6 += 1;
#if MR == 8
                a7 += 1;
#endif
                w += NR;
            }
        }

        cx_m16 m0 = (cx_m16)0xFFFF, m1 = (cx_m16)0xFFFF;
        if (nc < NR) {
            /* nc in [1, 31]: m0 = first min(nc, 16) lanes, m1 = the rest */
            const uint32_t bits = (uint32_t)((UINT64_C(1) << nc) - 1);
            m0 = (cx_m16)(bits & 0xFFFF);
            m1 = (cx_m16)(bits >> 16);
        }
#if MR == 8
        CX_ROW_OUT(7);
#endif
        CX_ROW_OUT(6);
        CX_ROW_OUT(5);
        CX_ROW_OUT(4);
        CX_ROW_OUT(3);
        CX_ROW_OUT(2);
        CX_ROW_OUT(1);
        CX_ROW_OUT(0);
        if (nc <= NR) return;
        nc -= NR;
        c0 += NR; c1 += NR; c2 += NR; c3 += NR; c4 += NR; c5 += NR; c6 += NR;
        if (r0) {
            r0 += NR; r1 += NR; r2 += NR; r3 += NR; r4 += NR; r5 += NR; r6 += NR;
        }
#if MR == 8
        c7 += NR;
        if (r0) r7 += NR;
#endif
    }
}
