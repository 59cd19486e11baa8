/* AVX2 u8 x s8 igemm microkernel, 4 rows x 16 columns, c4 weights
 * (contract: kernels_q8.h).
 *
 * Per group of 4 k and row: one vpbroadcastd of the row's 4 activation bytes,
 * then for each 8-column half  vpmaddubsw (u8 x s8 -> 16 x s16 pair sums) ->
 * vpmaddwd with ones (-> 8 x s32: the 4-k dot product per column) -> vpaddd.
 * vpmaddubsw saturates at int16: exact only for |w| <= 64 (2*255*64 = 32640),
 * hence the table's wmax = 64. 8 accumulators + 2 weights + ones + broadcast
 * + 2 temporaries: 14 of the 16 ymm registers.
 *
 * A kc % 4 tail is assembled byte by byte (no read past kc bytes of a row).
 * All MR rows are computed (rows >= mr have valid A pointers); the C and
 * residual pointers of rows >= mr are clamped to row mr-1 and rows are stored
 * from MR-1 down to 0, so only the mr x nc block is modified. The
 * requantization is the one of kernels_q8.h: cvtdq2ps, mul, (residual: cvt,
 * mul, add), clamp in float, + 0x1.8p23 magic, integer subtract. */
#include "kernels/intrin.h"
#include "kernels/kernels_q8.h"

#ifndef CX_Q8_AVX2_MR
#define CX_Q8_AVX2_MR 4
#define CX_Q8_AVX2_FN cx_qu8_igemm_ukernel_4x16c4__avx2
#endif
#define MR CX_Q8_AVX2_MR
#define NR 16

#if MR == 1
#define CX_ROWS(X) X(0)
#elif MR == 2
#define CX_ROWS(X) X(0) X(1)
#elif MR == 3
#define CX_ROWS(X) X(0) X(1) X(2)
#elif MR == 4
#define CX_ROWS(X) X(0) X(1) X(2) X(3)
#elif MR == 5
#define CX_ROWS(X) X(0) X(1) X(2) X(3) X(4)
#elif MR == 6
#define CX_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#endif

static inline int32_t cx_ld32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* the first n (1..3) bytes at p, zero-extended */
static inline int32_t cx_ld_tail(const uint8_t *p, size_t n)
{
    uint32_t v = p[0];
    if (n > 1) v |= (uint32_t)p[1] << 8;
    if (n > 2) v |= (uint32_t)p[2] << 16;
    return (int32_t)v;
}

/* 16 u8 results (int32 lanes in [0, 255]) -> first n bytes at c */
static inline void cx_store_u8(uint8_t *c, size_t n, __m256i y0, __m256i y1)
{
    const __m256i q = _mm256_packus_epi16(_mm256_packs_epi32(y0, y1), _mm256_setzero_si256());
    __m128i v = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 3, 6, 7)));
    if (n >= 16) {
        _mm_storeu_si128((__m128i *)c, v);
        return;
    }
    if (n & 8) {
        _mm_storel_epi64((__m128i *)c, v);
        v = _mm_srli_si128(v, 8);
        c += 8;
    }
    if (n & 4) {
        const int32_t x = _mm_cvtsi128_si32(v);
        memcpy(c, &x, 4);
        v = _mm_srli_si128(v, 4);
        c += 4;
    }
    if (n & 2) {
        const uint16_t x = (uint16_t)_mm_extract_epi16(v, 0);
        memcpy(c, &x, 2);
        v = _mm_srli_si128(v, 2);
        c += 2;
    }
    if (n & 1) *c = (uint8_t)_mm_cvtsi128_si32(v);
}

/* 16 residual bytes (or the first n, n < 16, read exactly) as int32 - r_zp */
static inline void cx_load_res(const uint8_t *r, size_t n, __m256i vrzp, __m256i *r0, __m256i *r1)
{
    __m128i v;
    if (n >= 16) {
        v = _mm_loadu_si128((const __m128i *)r);
    } else {
        uint8_t t[16] = { 0 };
        memcpy(t, r, n);
        v = _mm_loadu_si128((const __m128i *)t);
    }
    *r0 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(v), vrzp);
    *r1 = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)), vrzp);
}

#define CX_DECL_ACC(i) __m256i vacc##i##x0 = vb0, vacc##i##x1 = vb1;
#define CX_DECL_A(i) const uint8_t *a##i = ap[i];
#define CX_ADV_A(i) a##i += 4;
#define CX_MAC(i, LD)                                                                      \
    {                                                                                      \
        const __m256i va = _mm256_set1_epi32(LD);                                          \
        vacc##i##x0 = _mm256_add_epi32(vacc##i##x0, _mm256_madd_epi16(_mm256_maddubs_epi16(va, vw0), vones)); \
        vacc##i##x1 = _mm256_add_epi32(vacc##i##x1, _mm256_madd_epi16(_mm256_maddubs_epi16(va, vw1), vones)); \
    }
#define CX_MAC_FULL(i) CX_MAC(i, cx_ld32(a##i))
#define CX_MAC_TAIL(i) CX_MAC(i, cx_ld_tail(a##i, kt))

#define CX_ROW_OUT(i)                                                                      \
    {                                                                                      \
        __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(vacc##i##x0), vs0);                   \
        __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(vacc##i##x1), vs1);                   \
        if (res) {                                                                         \
            __m256i vr0, vr1;                                                                \
            cx_load_res(rp##i, nc, vrzp, &vr0, &vr1);                                         \
            f0 = _mm256_add_ps(f0, _mm256_mul_ps(_mm256_cvtepi32_ps(vr0), vrs));            \
            f1 = _mm256_add_ps(f1, _mm256_mul_ps(_mm256_cvtepi32_ps(vr1), vrs));            \
        }                                                                                  \
        f0 = _mm256_min_ps(_mm256_max_ps(f0, vlo), vhi);                                   \
        f1 = _mm256_min_ps(_mm256_max_ps(f1, vlo), vhi);                                   \
        const __m256i y0 = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(f0, vmagic)), vmzp); \
        const __m256i y1 = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(f1, vmagic)), vmzp); \
        cx_store_u8(c##i, nc, y0, y1);                                                     \
    }

void CX_Q8_AVX2_FN(size_t mr, size_t nc, size_t kc, size_t ks, const uint8_t *const *a, const void *w,
                   uint8_t *c, size_t c_stride, const cx_q8_params *p)
{
    uint8_t *c0 = c;
    const uint8_t *res = p->residual;
    const size_t rs = res ? p->r_stride : 0;
    const uint8_t *rp0 = res;
#if MR > 1
    uint8_t *c1 = mr > 1 ? c0 + c_stride : c0;
    const uint8_t *rp1 = mr > 1 ? rp0 + rs : rp0;
#endif
#if MR > 2
    uint8_t *c2 = mr > 2 ? c1 + c_stride : c1;
    const uint8_t *rp2 = mr > 2 ? rp1 + rs : rp1;
#endif
#if MR > 3
    uint8_t *c3 = mr > 3 ? c2 + c_stride : c2;
    const uint8_t *rp3 = mr > 3 ? rp2 + rs : rp2;
#endif
#if MR > 4
    uint8_t *c4 = mr > 4 ? c3 + c_stride : c3;
    const uint8_t *rp4 = mr > 4 ? rp3 + rs : rp3;
#endif
#if MR > 5
    uint8_t *c5 = mr > 5 ? c4 + c_stride : c4;
    const uint8_t *rp5 = mr > 5 ? rp4 + rs : rp4;
#endif
    const __m256i vones = _mm256_set1_epi16(1);
    const __m256 vlo = _mm256_set1_ps((float)(p->ymin - p->y_zp));
    const __m256 vhi = _mm256_set1_ps((float)(p->ymax - p->y_zp));
    const __m256 vmagic = _mm256_set1_ps(CX_Q8_MAGIC);
    const __m256i vmzp = _mm256_set1_epi32(0x4B400000 - p->y_zp);
    const __m256i vrzp = _mm256_set1_epi32(p->r_zp);
    const __m256 vrs = _mm256_set1_ps(p->r_scale);
    const uint8_t *wp = w;
    const size_t kmain = kc & ~(size_t)3, kt = kc & 3;

    for (;;) {
        const uint8_t *panel = wp;
        const __m256i vb0 = _mm256_loadu_si256((const __m256i *)wp);
        const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(wp + 32));
        CX_ROWS(CX_DECL_ACC)
        wp += 8 * NR;

        const uint8_t *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            CX_ROWS(CX_DECL_A)
            ap += MR;
            for (size_t k = kmain; k != 0; k -= 4) {
                const __m256i vw0 = _mm256_loadu_si256((const __m256i *)wp);
                const __m256i vw1 = _mm256_loadu_si256((const __m256i *)(wp + 32));
                wp += 4 * NR;
                CX_ROWS(CX_MAC_FULL)
                CX_ROWS(CX_ADV_A)
            }
            if (kt) {
                const __m256i vw0 = _mm256_loadu_si256((const __m256i *)wp);
                const __m256i vw1 = _mm256_loadu_si256((const __m256i *)(wp + 32));
                wp += 4 * NR;
                CX_ROWS(CX_MAC_TAIL)
            }
        }

        const __m256 vs0 = _mm256_loadu_ps((const float *)(const void *)(panel + 4 * NR));
        const __m256 vs1 = _mm256_loadu_ps((const float *)(const void *)(panel + 4 * NR + 32));
#if MR > 5
        CX_ROW_OUT(5)
#endif
#if MR > 4
        CX_ROW_OUT(4)
#endif
#if MR > 3
        CX_ROW_OUT(3)
#endif
#if MR > 2
        CX_ROW_OUT(2)
#endif
#if MR > 1
        CX_ROW_OUT(1)
#endif
        CX_ROW_OUT(0)
        if (nc <= NR) return;
        nc -= NR;
        c0 += NR;
        rp0 += res ? NR : 0;
#if MR > 1
        c1 += NR; rp1 += res ? NR : 0;
#endif
#if MR > 2
        c2 += NR; rp2 += res ? NR : 0;
#endif
#if MR > 3
        c3 += NR; rp3 += res ? NR : 0;
#endif
#if MR > 4
        c4 += NR; rp4 += res ? NR : 0;
#endif
#if MR > 5
        c5 += NR; rp5 += res ? NR : 0;
#endif
    }
}
