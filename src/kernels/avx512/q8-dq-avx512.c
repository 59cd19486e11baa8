/* Dequantized elementwise kernels, AVX-512F: 16 channels per vector, the
 * float operations of the scalar kernel in the same order (separate multiply
 * and add: the build is ISO C, so nothing is contracted into an FMA); tails
 * go through the scalar element functions. Contracts: kernels_q8.h. */
#include "q8-avx512.h"

static inline __m512 dq16(const uint8_t *x, __m512i zp, __m512 scale)
{
    const __m512i i = _mm512_sub_epi32(cx512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)x)), zp);
    return _mm512_mul_ps(cx512_cvtepi32_ps(i), scale);
}

/* cx_q8_quantize1 on 16 lanes, stored as 16 bytes */
static inline void q16_store(uint8_t *y, __m512 v, __m512 inv, __m512 lo, __m512 hi, __m512i zp)
{
    v = _mm512_mul_ps(v, inv);
    v = _mm512_max_ps(v, lo);   /* v > lo ? v : lo */
    v = _mm512_min_ps(v, hi);   /* v < hi ? v : hi */
    /* rint(v) as the low mantissa bits of v + MAGIC: the integer that
     * (v + MAGIC) - MAGIC holds, for |v| <= 255 */
    const __m512 magic = _mm512_set1_ps(CX_Q8_MAGIC);
    const __m512i r = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(v, magic)), _mm512_castps_si512(magic));
    const __m512i q = _mm512_add_epi32(r, zp);   /* 0..255: the low byte is the value */
    _mm_storeu_si128((__m128i *)y, cx512_cvtepi32_epi8(q));
}

void cx_q8_dqadd_ukernel__avx512(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p)
{
    const __m512i za = _mm512_set1_epi32(p->a_zp), zb = _mm512_set1_epi32(p->b_zp), zy = _mm512_set1_epi32(p->y_zp);
    const __m512 sa = _mm512_set1_ps(p->a_scale), sb = _mm512_set1_ps(p->b_scale), lo = _mm512_set1_ps(p->lo);
    const __m512 inv = _mm512_set1_ps(p->inv_y);
    const __m512 qlo = _mm512_set1_ps((float)(-p->y_zp)), qhi = _mm512_set1_ps((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 v = _mm512_add_ps(dq16(a + c, za, sa), dq16(b + c, zb, sb));
        v = _mm512_max_ps(v, lo);   /* lo > v ? lo : v, for the finite v here */
        q16_store(y + c, v, inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqadd1(a[c], b[c], p);
}

void cx_q8_dqavg_ukernel__avx512(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p)
{
    const __m512i za = _mm512_set1_epi32(p->a_zp), zy = _mm512_set1_epi32(p->y_zp);
    const __m512 sa = _mm512_set1_ps(p->a_scale), inv_n = _mm512_set1_ps(p->inv_n), inv = _mm512_set1_ps(p->inv_y);
    const __m512 qlo = _mm512_set1_ps((float)(-p->y_zp)), qhi = _mm512_set1_ps((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (size_t t = 0; t < ks; t++) acc = _mm512_add_ps(acc, dq16(in[t] + c, za, sa));
        q16_store(y + c, _mm512_mul_ps(acc, inv_n), inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqavg1(ks, in, c, p);
}
