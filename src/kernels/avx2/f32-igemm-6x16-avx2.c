/* AVX2+FMA f32 igemm microkernel, 6 rows x 16 columns (contract: kernels.h).
 *
 * 12 ymm accumulators (6 rows x 2 vectors of 8 columns), 2 ymm for the packed
 * weights of one k step, 1-2 for the broadcast A values: 15-16 of the 16 ymm
 * registers. Per k step: 2 weight loads + 6 broadcast loads for 12 FMAs, so
 * both FMA ports stay busy and loads (2-3 ports) are never the limit.
 *
 * All 6 rows are always computed (rows >= mr have valid A pointers). The C
 * (and residual) pointers of rows >= mr are clamped to row mr-1 and rows are
 * stored from 5 down to 0, so row mr-1's own result is the last one written
 * there: only the mr x nc block is ever modified. Edge columns (nc % 16) go
 * through a 8/4/2/1 store cascade; the residual of an edge panel is read with
 * a masked load (no access past column nc). */
#include "kernels/intrin.h"
#include "kernels/kernels.h"

#define MR 6
#define NR 16

/* lane mask "lane < n" for n in [0, 8] (n <= 0: none, n >= 8: all) */
static inline __m256i cx_mask8(ptrdiff_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* stores the first n (1..15) floats of (lo, hi) at c */
static inline void cx_store_tail(float *c, size_t n, __m256 lo, __m256 hi)
{
    if (n & 8) {
        _mm256_storeu_ps(c, lo);
        lo = hi;
        c += 8;
    }
    __m128 x = _mm256_castps256_ps128(lo);
    if (n & 4) {
        _mm_storeu_ps(c, x);
        x = _mm256_extractf128_ps(lo, 1);
        c += 4;
    }
    if (n & 2) {
        _mm_storel_pi((__m64 *)c, x);
        x = _mm_movehl_ps(x, x);
        c += 2;
    }
    if (n & 1) _mm_store_ss(c, x);
}

/* one k step: weights at w[0..15], A element at column k of each row */
#define CX_STEP(k, wofs)                                                        \
    do {                                                                        \
        const __m256 vb0 = _mm256_loadu_ps(w + (wofs));                         \
        const __m256 vb1 = _mm256_loadu_ps(w + (wofs) + 8);                     \
        __m256 va = _mm256_broadcast_ss(a0 + (k));                              \
        vacc0x0 = _mm256_fmadd_ps(va, vb0, vacc0x0);                            \
        vacc0x1 = _mm256_fmadd_ps(va, vb1, vacc0x1);                            \
        va = _mm256_broadcast_ss(a1 + (k));                                     \
        vacc1x0 = _mm256_fmadd_ps(va, vb0, vacc1x0);                            \
        vacc1x1 = _mm256_fmadd_ps(va, vb1, vacc1x1);                            \
        va = _mm256_broadcast_ss(a2 + (k));                                     \
        vacc2x0 = _mm256_fmadd_ps(va, vb0, vacc2x0);                            \
        vacc2x1 = _mm256_fmadd_ps(va, vb1, vacc2x1);                            \
        va = _mm256_broadcast_ss(a3 + (k));                                     \
        vacc3x0 = _mm256_fmadd_ps(va, vb0, vacc3x0);                            \
        vacc3x1 = _mm256_fmadd_ps(va, vb1, vacc3x1);                            \
        va = _mm256_broadcast_ss(a4 + (k));                                     \
        vacc4x0 = _mm256_fmadd_ps(va, vb0, vacc4x0);                            \
        vacc4x1 = _mm256_fmadd_ps(va, vb1, vacc4x1);                            \
        va = _mm256_broadcast_ss(a5 + (k));                                     \
        vacc5x0 = _mm256_fmadd_ps(va, vb0, vacc5x0);                            \
        vacc5x1 = _mm256_fmadd_ps(va, vb1, vacc5x1);                            \
    } while (0)

/* epilogue + store of row i: residual, clamp, full or cascaded store */
#define CX_ROW_OUT(i)                                                           \
    do {                                                                        \
        __m256 v0 = vacc##i##x0, v1 = vacc##i##x1;                              \
        if (r0) {                                                               \
            if (nc >= NR) {                                                     \
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(r##i));                  \
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(r##i + 8));              \
            } else {                                                            \
                v0 = _mm256_add_ps(v0, _mm256_maskload_ps(r##i, vm0));          \
                v1 = _mm256_add_ps(v1, _mm256_maskload_ps(r##i + 8, vm1));      \
            }                                                                   \
        }                                                                       \
        v0 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v0));                      \
        v1 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v1));                      \
        if (nc >= NR) {                                                         \
            _mm256_storeu_ps(c##i, v0);                                         \
            _mm256_storeu_ps(c##i + 8, v1);                                     \
        } else {                                                                \
            cx_store_tail(c##i, nc, v0, v1);                                    \
        }                                                                       \
    } while (0)

void cx_f32_igemm_ukernel_6x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                                     const float *const *a, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p)
{
    float *c0 = c;
    float *c1 = mr > 1 ? c0 + c_stride : c0;
    float *c2 = mr > 2 ? c1 + c_stride : c1;
    float *c3 = mr > 3 ? c2 + c_stride : c2;
    float *c4 = mr > 4 ? c3 + c_stride : c3;
    float *c5 = mr > 5 ? c4 + c_stride : c4;
    const float *r0 = p->residual, *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL, *r5 = NULL;
    if (r0) {
        const size_t rs = p->r_stride;
        r1 = mr > 1 ? r0 + rs : r0;
        r2 = mr > 2 ? r1 + rs : r1;
        r3 = mr > 3 ? r2 + rs : r2;
        r4 = mr > 4 ? r3 + rs : r3;
        r5 = mr > 5 ? r4 + rs : r4;
    }
    const __m256 vmin = _mm256_set1_ps(p->min);
    const __m256 vmax = _mm256_set1_ps(p->max);
    /* prefetch stream (kernels.h): one prefetch per block of 4 k steps */
    const char *pf = p->prefetch, *pf_end = pf ? pf + p->prefetch_bytes : NULL;
    const size_t pf_step = cx_f32_prefetch_step(p, ks * (kc / 4) * ((nc + NR - 1) / NR));

    for (;;) {
        __m256 vacc0x0 = _mm256_loadu_ps(w);
        __m256 vacc0x1 = _mm256_loadu_ps(w + 8);
        __m256 vacc1x0 = vacc0x0, vacc1x1 = vacc0x1;
        __m256 vacc2x0 = vacc0x0, vacc2x1 = vacc0x1;
        __m256 vacc3x0 = vacc0x0, vacc3x1 = vacc0x1;
        __m256 vacc4x0 = vacc0x0, vacc4x1 = vacc0x1;
        __m256 vacc5x0 = vacc0x0, vacc5x1 = vacc0x1;
        w += NR;

        const float *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            const float *a0 = ap[0], *a1 = ap[1], *a2 = ap[2];
            const float *a3 = ap[3], *a4 = ap[4], *a5 = ap[5];
            ap += MR;
            size_t k = kc;
            for (; k >= 4; k -= 4) {
                CX_STEP(0, 0);
                CX_STEP(1, 16);
                CX_STEP(2, 32);
                CX_STEP(3, 48);
                if (pf < pf_end) { _mm_prefetch(pf, _MM_HINT_T1); pf += pf_step; }
                a0 += 4; a1 += 4; a2 += 4; a3 += 4; a4 += 4; a5 += 4;
                w += 4 * NR;
            }
            for (; k != 0; k--) {
                CX_STEP(0, 0);
                a0 += 1; a1 += 1; a2 += 1; a3 += 1; a4 += 1; a5 += 1;
                w += NR;
            }
        }

        __m256i vm0 = _mm256_setzero_si256(), vm1 = vm0;
        if (r0 && nc < NR) {
            vm0 = cx_mask8((ptrdiff_t)nc);
            vm1 = cx_mask8((ptrdiff_t)nc - 8);
        }
        CX_ROW_OUT(5);
        CX_ROW_OUT(4);
        CX_ROW_OUT(3);
        CX_ROW_OUT(2);
        CX_ROW_OUT(1);
        CX_ROW_OUT(0);
        if (nc <= NR) return;
        nc -= NR;
        c0 += NR; c1 += NR; c2 += NR; c3 += NR; c4 += NR; c5 += NR;
        if (r0) {
            r0 += NR; r1 += NR; r2 += NR; r3 += NR; r4 += NR; r5 += NR;
        }
    }
}
