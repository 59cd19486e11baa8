/* Masked loads/stores and lane helpers shared by the f32 AVX-512 kernels
 * (igemm 8x32/7x32 and 12x16, gconv, dwconv). SIMDe 0.7.4 (the test-only CX_SIMDE build)
 * has no masked ps loads/stores, no vextractf32x8 and no _mm512_shuffle_f32x4
 * alias: the masked stand-ins below touch only the selected floats, as the
 * instructions do, so the guard-page tests mean the same in both builds. */
#ifndef CX_F32_MASK_AVX512_H
#define CX_F32_MASK_AVX512_H
#include <stdint.h>

#include "kernels/intrin.h"

typedef uint16_t cx_m16;   /* lane masks as plain integers: (1 << n) - 1 */
typedef uint8_t cx_m8;

#ifdef CX_SIMDE
static inline __m512 cx_maskz_loadu16(cx_m16 m, const float *p)
{
    float t[16] = { 0 };
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) t[i] = p[i];
    return _mm512_loadu_ps(t);
}
static inline void cx_mask_storeu16(float *p, cx_m16 m, __m512 v)
{
    float t[16];
    _mm512_storeu_ps(t, v);
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) p[i] = t[i];
}
static inline __m256 cx_maskz_loadu8(cx_m8 m, const float *p)
{
    float t[8] = { 0 };
    for (int i = 0; i < 8; i++)
        if ((m >> i) & 1) t[i] = p[i];
    return _mm256_loadu_ps(t);
}
static inline void cx_mask_storeu8(float *p, cx_m8 m, __m256 v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    for (int i = 0; i < 8; i++)
        if ((m >> i) & 1) p[i] = t[i];
}
/* SIMDe defines simde_mm512_shuffle_f32x4 but not its native alias */
#define cx_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4((a), (b), (imm))
/* upper 256 bits */
#define cx_hi256(v) _mm512_castps512_ps256(cx_shuffle_f32x4((v), (v), 0xEE))
#else
#define cx_maskz_loadu16(m, p) _mm512_maskz_loadu_ps((__mmask16)(m), (p))
#define cx_mask_storeu16(p, m, v) _mm512_mask_storeu_ps((p), (__mmask16)(m), (v))
#define cx_maskz_loadu8(m, p) _mm256_maskz_loadu_ps((__mmask8)(m), (p))
#define cx_mask_storeu8(p, m, v) _mm256_mask_storeu_ps((p), (__mmask8)(m), (v))
#define cx_shuffle_f32x4(a, b, imm) _mm512_shuffle_f32x4((a), (b), (imm))
#define cx_hi256(v) _mm512_extractf32x8_ps((v), 1)
#endif

#endif
