/* AVX2 u8 x s8 igemm microkernel, exact for all s8 weights: 4 rows x 8
 * columns, the same c4 packed weights as the vpmaddubsw kernels
 * (contract: kernels_q8.h).
 *
 * No int16 saturation: activations and weights are widened to int16 and
 * multiplied with vpmaddwd. Per group of 4 k: the 32 weight bytes (8 columns
 * x 4 k) become two ymm of int16 (vpmovsxbw, 4 columns each); per row the 4
 * activation bytes are broadcast (vpbroadcastd) and zero-extended to int16 by
 * one vpshufb (a0 a1 a2 a3 repeated), and
 * vpmaddwd gives, for each of 4 columns, two partial sums (k 0-1 and k 2-3)
 * that accumulate in separate int32 lanes; vphaddd folds them in the
 * epilogue. The bias starts in the even lanes (vpmovzxdq). 8 accumulators + 2
 * weights + 1 activation + the shuffle control: 12 ymm. About 3/4 of the vpmaddubsw kernel's speed
 * where vpmaddwd and vpmaddubsw share the same two ports (Zen 4/5); choose it
 * when 7-bit weights lose too much accuracy.
 *
 * kc % 4 tail assembled byte by byte; rows >= mr computed but never stored
 * (pointers clamped, rows stored from 3 down to 0). */
#include "kernels/intrin.h"
#include "kernels/kernels_q8.h"

#define MR 4
#define NR 8

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

#define CX_MAC(i, LD)                                                                      \
    {                                                                                      \
        const __m256i va = _mm256_shuffle_epi8(_mm256_set1_epi32(LD), vzx);                \
        vacc##i##x0 = _mm256_add_epi32(vacc##i##x0, _mm256_madd_epi16(va, vw0));           \
        vacc##i##x1 = _mm256_add_epi32(vacc##i##x1, _mm256_madd_epi16(va, vw1));           \
    }

#define CX_ROW_OUT(i)                                                                      \
    {                                                                                      \
        const __m256i acc = _mm256_permute4x64_epi64(_mm256_hadd_epi32(vacc##i##x0, vacc##i##x1), 0xD8); \
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), vs);                             \
        if (res) {                                                                         \
            __m128i r8;                                                                    \
            if (nc >= NR) {                                                                \
                r8 = _mm_loadl_epi64((const __m128i *)rp##i);                              \
            } else {                                                                       \
                uint8_t t8[8] = { 0 };                                                     \
                memcpy(t8, rp##i, nc);                                                     \
                r8 = _mm_loadl_epi64((const __m128i *)t8);                                 \
            }                                                                              \
            const __m256i r = _mm256_sub_epi32(_mm256_cvtepu8_epi32(r8), vrzp);            \
            f = _mm256_add_ps(f, _mm256_mul_ps(_mm256_cvtepi32_ps(r), vrs));               \
        }                                                                                  \
        f = _mm256_min_ps(_mm256_max_ps(f, vlo), vhi);                                     \
        const __m256i y = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(f, vmagic)), vmzp); \
        const __m256i v = _mm256_packus_epi16(_mm256_packs_epi32(y, y), _mm256_setzero_si256()); \
        __m128i o = _mm_unpacklo_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); \
        uint8_t *cc = c##i;                                                                \
        if (nc >= NR) {                                                                    \
            _mm_storel_epi64((__m128i *)cc, o);                                            \
        } else {                                                                           \
            if (nc & 4) {                                                                  \
                const int32_t x = _mm_cvtsi128_si32(o);                                    \
                memcpy(cc, &x, 4);                                                         \
                o = _mm_srli_si128(o, 4);                                                  \
                cc += 4;                                                                   \
            }                                                                              \
            if (nc & 2) {                                                                  \
                const uint16_t x = (uint16_t)_mm_extract_epi16(o, 0);                      \
                memcpy(cc, &x, 2);                                                         \
                o = _mm_srli_si128(o, 2);                                                  \
                cc += 2;                                                                   \
            }                                                                              \
            if (nc & 1) *cc = (uint8_t)_mm_cvtsi128_si32(o);                               \
        }                                                                                  \
    }

void cx_qu8_igemm_ukernel_4x8c4__avx2exact(size_t mr, size_t nc, size_t kc, size_t ks,
                                           const uint8_t *const *a, const void *w,
                                           uint8_t *c, size_t c_stride, const cx_q8_params *p)
{
    uint8_t *c0 = c;
    uint8_t *c1 = mr > 1 ? c0 + c_stride : c0;
    uint8_t *c2 = mr > 2 ? c1 + c_stride : c1;
    uint8_t *c3 = mr > 3 ? c2 + c_stride : c2;
    const uint8_t *res = p->residual;
    const size_t rs = res ? p->r_stride : 0;
    const uint8_t *rp0 = res;
    const uint8_t *rp1 = mr > 1 ? rp0 + rs : rp0;
    const uint8_t *rp2 = mr > 2 ? rp1 + rs : rp1;
    const uint8_t *rp3 = mr > 3 ? rp2 + rs : rp2;
    const __m256 vlo = _mm256_set1_ps((float)(p->ymin - p->y_zp));
    const __m256 vhi = _mm256_set1_ps((float)(p->ymax - p->y_zp));
    const __m256 vmagic = _mm256_set1_ps(CX_Q8_MAGIC);
    const __m256i vmzp = _mm256_set1_epi32(0x4B400000 - p->y_zp);
    const __m256i vrzp = _mm256_set1_epi32(p->r_zp);
    const __m256 vrs = _mm256_set1_ps(p->r_scale);
    /* vpshufb control: bytes a0 a1 a2 a3 of each dword -> int16 a0 a1 a2 a3, twice per lane */
    const __m256i vzx = _mm256_setr_epi8(0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1,
                                         0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1);
    const uint8_t *wp = w;
    const size_t kmain = kc & ~(size_t)3, kt = kc & 3;

    for (;;) {
        const uint8_t *panel = wp;
        /* bias of columns 0-3 / 4-7 in the even int32 lanes */
        __m256i vacc0x0 = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)wp));
        __m256i vacc0x1 = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(wp + 16)));
        __m256i vacc1x0 = vacc0x0, vacc1x1 = vacc0x1;
        __m256i vacc2x0 = vacc0x0, vacc2x1 = vacc0x1;
        __m256i vacc3x0 = vacc0x0, vacc3x1 = vacc0x1;
        wp += 8 * NR;

        const uint8_t *const *ap = a;
        for (size_t t = ks; t != 0; t--) {
            const uint8_t *a0 = ap[0], *a1 = ap[1], *a2 = ap[2], *a3 = ap[3];
            ap += MR;
            for (size_t k = kmain; k != 0; k -= 4) {
                const __m256i vw0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wp));
                const __m256i vw1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 16)));
                wp += 4 * NR;
                CX_MAC(0, cx_ld32(a0))
                CX_MAC(1, cx_ld32(a1))
                CX_MAC(2, cx_ld32(a2))
                CX_MAC(3, cx_ld32(a3))
                a0 += 4; a1 += 4; a2 += 4; a3 += 4;
            }
            if (kt) {
                const __m256i vw0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wp));
                const __m256i vw1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 16)));
                wp += 4 * NR;
                CX_MAC(0, cx_ld_tail(a0, kt))
                CX_MAC(1, cx_ld_tail(a1, kt))
                CX_MAC(2, cx_ld_tail(a2, kt))
                CX_MAC(3, cx_ld_tail(a3, kt))
            }
        }

        const __m256 vs = _mm256_loadu_ps((const float *)(const void *)(panel + 4 * NR));
        CX_ROW_OUT(3)
        CX_ROW_OUT(2)
        CX_ROW_OUT(1)
        CX_ROW_OUT(0)
        if (nc <= NR) return;
        nc -= NR;
        c0 += NR; c1 += NR; c2 += NR; c3 += NR;
        if (res) {
            rp0 += NR; rp1 += NR; rp2 += NR; rp3 += NR;
        }
    }
}
