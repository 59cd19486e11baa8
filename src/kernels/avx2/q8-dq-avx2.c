/* Dequantized elementwise kernels, AVX2: 8 channels per vector, the float
 * operations of the scalar kernel in the same order (separate multiply and
 * add: the build is ISO C, so nothing is contracted into an FMA); tails go
 * through the scalar element functions. Contracts: kernels_q8.h. */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels_q8.h"

static inline __m256 dq8(const uint8_t *x, __m256i zp, __m256 scale)
{
    const __m128i b = _mm_loadl_epi64((const __m128i *)x);   /* 8 bytes, no over-read */
    const __m256i i = _mm256_sub_epi32(_mm256_cvtepu8_epi32(b), zp);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(i), scale);
}

/* cx_q8_quantize1 on 8 lanes, stored as 8 bytes */
static inline void q8_store(uint8_t *y, __m256 v, __m256 inv, __m256 lo, __m256 hi, __m256i zp)
{
    v = _mm256_mul_ps(v, inv);
    v = _mm256_max_ps(v, lo);   /* v > lo ? v : lo */
    v = _mm256_min_ps(v, hi);   /* v < hi ? v : hi */
    const __m256 magic = _mm256_set1_ps(CX_Q8_MAGIC);
    v = _mm256_sub_ps(_mm256_add_ps(v, magic), magic);
    const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(v), zp);   /* 0..255 */
    /* low byte of each dword: bytes 0..3 of each 128-bit lane, then the two lanes' dwords together */
    const __m256i sh = _mm256_shuffle_epi8(q, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                               0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m256i pk = _mm256_permutevar8x32_epi32(sh, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    const long long v8 = _mm_cvtsi128_si64(_mm256_castsi256_si128(pk));
    memcpy(y, &v8, 8);
}

void cx_q8_dqadd_ukernel__avx2(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p)
{
    const __m256i za = _mm256_set1_epi32(p->a_zp), zb = _mm256_set1_epi32(p->b_zp), zy = _mm256_set1_epi32(p->y_zp);
    const __m256 sa = _mm256_set1_ps(p->a_scale), sb = _mm256_set1_ps(p->b_scale), lo = _mm256_set1_ps(p->lo);
    const __m256 inv = _mm256_set1_ps(p->inv_y);
    const __m256 qlo = _mm256_set1_ps((float)(-p->y_zp)), qhi = _mm256_set1_ps((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + 8 <= n; c += 8) {
        __m256 v = _mm256_add_ps(dq8(a + c, za, sa), dq8(b + c, zb, sb));
        v = _mm256_max_ps(v, lo);   /* lo > v ? lo : v, for the finite v here */
        q8_store(y + c, v, inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqadd1(a[c], b[c], p);
}

void cx_q8_dqavg_ukernel__avx2(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p)
{
    const __m256i za = _mm256_set1_epi32(p->a_zp), zy = _mm256_set1_epi32(p->y_zp);
    const __m256 sa = _mm256_set1_ps(p->a_scale), inv_n = _mm256_set1_ps(p->inv_n), inv = _mm256_set1_ps(p->inv_y);
    const __m256 qlo = _mm256_set1_ps((float)(-p->y_zp)), qhi = _mm256_set1_ps((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + 8 <= n; c += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (size_t t = 0; t < ks; t++) acc = _mm256_add_ps(acc, dq8(in[t] + c, za, sa));
        q8_store(y + c, _mm256_mul_ps(acc, inv_n), inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqavg1(ks, in, c, p);
}
