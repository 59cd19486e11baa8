/* Dequantized elementwise kernels, AVX2: 8 channels per vector (the body is
 * src/kernels/q8-dq-vec.h). */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* the low byte of each dword: bytes 0..3 of each 128-bit lane, then the two
 * lanes' dwords together, 8 bytes stored */
static inline void cx_avx2_st8(uint8_t *y, __m256i q)
{
    const __m256i sh = _mm256_shuffle_epi8(q, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                               0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m256i pk = _mm256_permutevar8x32_epi32(sh, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    const long long v8 = _mm_cvtsi128_si64(_mm256_castsi256_si128(pk));
    memcpy(y, &v8, 8);
}

#define CX_QV __m256
#define CX_QVI __m256i
#define CX_QVW 8
#define CX_QV_LDU8(p) _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p)))   /* 8 bytes */
#define CX_QV_STU8(p, v) cx_avx2_st8((p), (v))
#define CX_QVI_SET1(x) _mm256_set1_epi32(x)
#define CX_QVI_ADD(a, b) _mm256_add_epi32((a), (b))
#define CX_QVI_SUB(a, b) _mm256_sub_epi32((a), (b))
#define CX_QV_CVT(v) _mm256_cvtepi32_ps(v)
#define CX_QV_BITS(v) _mm256_castps_si256(v)
#define CX_QV_SET1(x) _mm256_set1_ps(x)
#define CX_QV_ZERO() _mm256_setzero_ps()
#define CX_QV_ADD(a, b) _mm256_add_ps((a), (b))
#define CX_QV_MUL(a, b) _mm256_mul_ps((a), (b))
#define CX_QV_MAX(a, b) _mm256_max_ps((a), (b))
#define CX_QV_MIN(a, b) _mm256_min_ps((a), (b))
#define CX_DQADD_FN cx_q8_dqadd_ukernel__avx2
#define CX_DQAVG_FN cx_q8_dqavg_ukernel__avx2
#include "kernels/q8-dq-vec.h"
