/* Dequantized elementwise kernels, AVX-512F: 16 channels per vector (the body
 * is src/kernels/q8-dq-vec.h; the conversions go through q8-avx512.h, which
 * stands in for those SIMDe lacks in the test-only build). */
#include "q8-avx512.h"

#define CX_QV __m512
#define CX_QVI __m512i
#define CX_QVW 16
#define CX_QV_LDU8(p) cx512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p)))   /* 16 bytes */
#define CX_QV_STU8(p, v) _mm_storeu_si128((__m128i *)(p), cx512_cvtepi32_epi8(v))
#define CX_QVI_SET1(x) _mm512_set1_epi32(x)
#define CX_QVI_ADD(a, b) _mm512_add_epi32((a), (b))
#define CX_QVI_SUB(a, b) _mm512_sub_epi32((a), (b))
#define CX_QV_CVT(v) cx512_cvtepi32_ps(v)
#define CX_QV_BITS(v) _mm512_castps_si512(v)
#define CX_QV_SET1(x) _mm512_set1_ps(x)
#define CX_QV_ZERO() _mm512_setzero_ps()
#define CX_QV_ADD(a, b) _mm512_add_ps((a), (b))
#define CX_QV_MUL(a, b) _mm512_mul_ps((a), (b))
#define CX_QV_MAX(a, b) _mm512_max_ps((a), (b))
#define CX_QV_MIN(a, b) _mm512_min_ps((a), (b))
#define CX_DQADD_FN cx_q8_dqadd_ukernel__avx512
#define CX_DQAVG_FN cx_q8_dqavg_ukernel__avx512
#include "kernels/q8-dq-vec.h"
