/* Template of the AVX-512 u8 x s8 igemm microkernels (contract: kernels_q8.h),
 * MR rows x 32 columns (two zmm of 16 int32 accumulators per row), c4 weights.
 * Instantiated by q8-igemm-*-avx512bw.c and q8-igemm-*-avx512vnni.c with
 *   CX_FN    the function name
 *   CX_MR    rows (1..14)
 *   CX_VNNI  1: acc += vpdpbusd(a, w) (exact for all s8 weights)
 *            0: acc += vpmaddwd(vpmaddubsw(a, w), 1) (AVX-512BW; the int16
 *               pair sum saturates unless |w| <= 64)
 * Per group of 4 k: 2 weight loads, then per row one vpbroadcastd of the 4
 * activation bytes and 2 MACs. A kc % 4 tail is assembled byte by byte (no
 * read past kc bytes of a row). All MR rows are computed (rows >= mr have
 * valid A pointers); only rows < mr are requantized and stored, so only the
 * mr x nc block is modified and no residual outside it is read. Column tails use
 * byte-masked loads (residual) and stores (C). */
#include "q8-avx512.h"

#define MR CX_MR
#define NR 32

#define CX_R1(X) X(0)
#define CX_R2(X) CX_R1(X) X(1)
#define CX_R3(X) CX_R2(X) X(2)
#define CX_R4(X) CX_R3(X) X(3)
#define CX_R5(X) CX_R4(X) X(4)
#define CX_R6(X) CX_R5(X) X(5)
#define CX_R7(X) CX_R6(X) X(6)
#define CX_R8(X) CX_R7(X) X(7)
#define CX_R9(X) CX_R8(X) X(8)
#define CX_R10(X) CX_R9(X) X(9)
#define CX_R11(X) CX_R10(X) X(10)
#define CX_R12(X) CX_R11(X) X(11)
#define CX_R13(X) CX_R12(X) X(12)
#define CX_R14(X) CX_R13(X) X(13)
#define CX_RCAT(n) CX_R##n
#define CX_RX(n) CX_RCAT(n)
#define CX_ROWS CX_RX(CX_MR)

static inline int32_t cx_ld32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int32_t cx_ld_tail(const uint8_t *p, size_t n)
{
    uint32_t v = p[0];
    if (n > 1) v |= (uint32_t)p[1] << 8;
    if (n > 2) v |= (uint32_t)p[2] << 16;
    return (int32_t)v;
}

#if CX_VNNI
#define CX_DOT(acc, va, vw) acc = _mm512_dpbusd_epi32(acc, va, vw)
#else
#define CX_DOT(acc, va, vw) acc = _mm512_add_epi32(acc, cx512_madd_epi16(_mm512_maddubs_epi16(va, vw), vones))
#endif

#define CX_DECL_ACC(i) __m512i vacc##i##x0 = vb0, vacc##i##x1 = vb1;
#define CX_DECL_A(i) const uint8_t *a##i = ap[i];
#define CX_ADV_A(i) a##i += 4;
#define CX_MAC(i, LD)                                                                      \
    {                                                                                      \
        const __m512i va = _mm512_set1_epi32(LD);                                          \
        CX_DOT(vacc##i##x0, va, vw0);                                                      \
        CX_DOT(vacc##i##x1, va, vw1);                                                      \
    }
#define CX_MAC_FULL(i) CX_MAC(i, cx_ld32(a##i))
#define CX_MAC_TAIL(i) CX_MAC(i, cx_ld_tail(a##i, kt))
/* requantize and store row i (rows >= mr are skipped) */
#define CX_ROW_OUT(i)                                                                      \
    if ((size_t)(i) < mr) {                                                                \
        __m256i r32 = _mm256_setzero_si256();                                              \
        if (res) {                                                                         \
            const uint8_t *ri = res + (i) * rs + j0;                                       \
            r32 = n == NR ? _mm256_loadu_si256((const __m256i *)ri) : cx256_maskz_loadu_epi8(m, ri); \
        }                                                                                  \
        const __m512i y0 = cx512_requant(vacc##i##x0, vs0, res != NULL, _mm256_castsi256_si128(r32), &q); \
        const __m512i y1 = cx512_requant(vacc##i##x1, vs1, res != NULL, _mm256_extracti128_si256(r32, 1), &q); \
        const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(cx512_cvtepi32_epi8(y0)), \
                                                  cx512_cvtepi32_epi8(y1), 1);             \
        uint8_t *ci = c + (i) * c_stride + j0;                                             \
        if (n == NR) _mm256_storeu_si256((__m256i *)ci, v);                                \
        else cx256_mask_storeu_epi8(ci, m, v);                                             \
    }

void CX_FN(size_t mr, size_t nc, size_t kc, size_t ks, const uint8_t *const *a, const void *w,
           uint8_t *c, size_t c_stride, const cx_q8_params *p)
{
    const uint8_t *res = p->residual;
    const size_t rs = res ? p->r_stride : 0;
#if !CX_VNNI
    const __m512i vones = _mm512_set1_epi16(1);
#endif
    cx512_rq q;
    cx512_rq_init(&q, p);
    const uint8_t *wp = w;
    const size_t kmain = kc & ~(size_t)3, kt = kc & 3;
    size_t j0 = 0;

    for (;;) {
        const uint8_t *panel = wp;
        const __m512i vb0 = _mm512_loadu_si512(wp);
        const __m512i vb1 = _mm512_loadu_si512(wp + 64);
        CX_ROWS(CX_DECL_ACC)
        wp += 8 * NR;

        const uint8_t *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            CX_ROWS(CX_DECL_A)
            ap += MR;
            for (size_t k = kmain; k != 0; k -= 4) {
                const __m512i vw0 = _mm512_loadu_si512(wp);
                const __m512i vw1 = _mm512_loadu_si512(wp + 64);
                wp += 4 * NR;
                CX_ROWS(CX_MAC_FULL)
                CX_ROWS(CX_ADV_A)
            }
            if (kt) {
                const __m512i vw0 = _mm512_loadu_si512(wp);
                const __m512i vw1 = _mm512_loadu_si512(wp + 64);
                wp += 4 * NR;
                CX_ROWS(CX_MAC_TAIL)
            }
        }

        const __m512 vs0 = _mm512_loadu_ps((const float *)(const void *)(panel + 4 * NR));
        const __m512 vs1 = _mm512_loadu_ps((const float *)(const void *)(panel + 4 * NR + 64));
        const size_t n = nc - j0 < NR ? nc - j0 : NR;
        const uint32_t m = cx_lanes(n);
        CX_ROWS(CX_ROW_OUT)
        j0 += NR;
        if (j0 >= nc) return;
    }
}
