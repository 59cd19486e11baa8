/* Shared pieces of the AVX-512 int8 kernels (src/kernels/avx512/q8-*.c).
 *
 * libsimde-dev 0.7.4 (the test-only SIMDe build) lacks the 512-bit
 * int <-> float conversions, vpmovzxbd/vpmovdb on zmm and the masked byte
 * loads/stores; under CX_SIMDE they are replaced by lane-exact stand-ins that
 * go through memory and touch only the selected bytes, as the instructions
 * do. A normal build uses the instructions. */
#ifndef CX_Q8_AVX512_H
#define CX_Q8_AVX512_H

#include "kernels/intrin.h"
#include "kernels/kernels_q8.h"

#ifdef CX_SIMDE
/* SIMDe 0.7.4's native alias of _mm512_madd_epi16 takes 4 arguments (a bug) */
#define cx512_madd_epi16(a, b) simde_mm512_madd_epi16((a), (b))
static inline __m512 cx512_cvtepi32_ps(__m512i v)
{
    int32_t x[16];
    float f[16];
    _mm512_storeu_si512(x, v);
    for (int i = 0; i < 16; i++) f[i] = (float)x[i];
    return _mm512_loadu_ps(f);
}
static inline __m512i cx512_cvtepu8_epi32(__m128i v)
{
    uint8_t b[16];
    int32_t x[16];
    _mm_storeu_si128((__m128i *)b, v);
    for (int i = 0; i < 16; i++) x[i] = b[i];
    return _mm512_loadu_si512(x);
}
static inline __m512i cx512_cvtepi8_epi32(__m128i v)
{
    int8_t b[16];
    int32_t x[16];
    _mm_storeu_si128((__m128i *)b, v);
    for (int i = 0; i < 16; i++) x[i] = b[i];
    return _mm512_loadu_si512(x);
}
static inline __m128i cx512_cvtepi32_epi8(__m512i v) /* truncating, like vpmovdb */
{
    int32_t x[16];
    uint8_t b[16];
    _mm512_storeu_si512(x, v);
    for (int i = 0; i < 16; i++) b[i] = (uint8_t)x[i];
    return _mm_loadu_si128((const __m128i *)b);
}
static inline __m256i cx256_maskz_loadu_epi8(uint32_t m, const void *p)
{
    uint8_t b[32] = { 0 };
    for (int i = 0; i < 32; i++)
        if ((m >> i) & 1) b[i] = ((const uint8_t *)p)[i];
    return _mm256_loadu_si256((const __m256i *)b);
}
static inline __m128i cx128_maskz_loadu_epi8(uint32_t m, const void *p)
{
    uint8_t b[16] = { 0 };
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) b[i] = ((const uint8_t *)p)[i];
    return _mm_loadu_si128((const __m128i *)b);
}
static inline __m512i cx512_maskz_loadu_epi32(uint32_t m, const void *p)
{
    int32_t x[16] = { 0 };
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) memcpy(&x[i], (const char *)p + 4 * i, 4);
    return _mm512_loadu_si512(x);
}
static inline void cx256_mask_storeu_epi8(void *p, uint32_t m, __m256i v)
{
    uint8_t b[32];
    _mm256_storeu_si256((__m256i *)b, v);
    for (int i = 0; i < 32; i++)
        if ((m >> i) & 1) ((uint8_t *)p)[i] = b[i];
}
static inline void cx128_mask_storeu_epi8(void *p, uint32_t m, __m128i v)
{
    uint8_t b[16];
    _mm_storeu_si128((__m128i *)b, v);
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) ((uint8_t *)p)[i] = b[i];
}
#else
#define cx512_madd_epi16(a, b) _mm512_madd_epi16((a), (b))
#define cx512_cvtepi32_ps(v) _mm512_cvtepi32_ps(v)
#define cx512_cvtepu8_epi32(v) _mm512_cvtepu8_epi32(v)
#define cx512_cvtepi8_epi32(v) _mm512_cvtepi8_epi32(v)
#define cx512_cvtepi32_epi8(v) _mm512_cvtepi32_epi8(v)
#define cx256_maskz_loadu_epi8(m, p) _mm256_maskz_loadu_epi8((__mmask32)(m), (p))
#define cx128_maskz_loadu_epi8(m, p) _mm_maskz_loadu_epi8((__mmask16)(m), (p))
#define cx512_maskz_loadu_epi32(m, p) _mm512_maskz_loadu_epi32((__mmask16)(m), (p))
#define cx256_mask_storeu_epi8(p, m, v) _mm256_mask_storeu_epi8((p), (__mmask32)(m), (v))
#define cx128_mask_storeu_epi8(p, m, v) _mm_mask_storeu_epi8((p), (__mmask16)(m), (v))
#endif

/* mask of the first n (0..32) lanes */
static inline uint32_t cx_lanes(size_t n) { return n >= 32 ? 0xFFFFFFFFu : ((uint32_t)1 << n) - 1; }

/* Requantization constants (kernels_q8.h) broadcast to zmm. */
typedef struct {
    __m512 lo, hi, magic, rs;
    __m512i mzp, rzp;
} cx512_rq;

static inline void cx512_rq_init(cx512_rq *q, const cx_q8_params *p)
{
    q->lo = _mm512_set1_ps((float)(p->ymin - p->y_zp));
    q->hi = _mm512_set1_ps((float)(p->ymax - p->y_zp));
    q->magic = _mm512_set1_ps(CX_Q8_MAGIC);
    q->mzp = _mm512_set1_epi32(0x4B400000 - p->y_zp);
    q->rzp = _mm512_set1_epi32(p->r_zp);
    q->rs = _mm512_set1_ps(p->r_scale);
}

/* 16 accumulators -> int32 lanes in [ymin, ymax]; r16: the 16 residual bytes
 * (ignored unless has_res) */
static inline __m512i cx512_requant(__m512i acc, __m512 scale, int has_res, __m128i r16, const cx512_rq *q)
{
    __m512 f = _mm512_mul_ps(cx512_cvtepi32_ps(acc), scale);
    if (has_res) {
        const __m512i r = _mm512_sub_epi32(cx512_cvtepu8_epi32(r16), q->rzp);
        f = _mm512_add_ps(f, _mm512_mul_ps(cx512_cvtepi32_ps(r), q->rs));
    }
    f = _mm512_min_ps(_mm512_max_ps(f, q->lo), q->hi);
    return _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(f, q->magic)), q->mzp);
}

#endif
