/* AVX2 u8 depthwise convolution over one output pixel, channels-last
 * (contract: kernels_q8.h). Exact for all s8 weights: per 8 channels and tap,
 * vpmovzxbd (activations) and vpmovsxbd (weights) then vpmaddwd, whose upper
 * int16 halves are zero in the activation operand, so each lane is just
 * a*w in int32. 32 channels per main step (4 accumulators), then 8, then a
 * scalar tail of < 8 channels through cx_q8_requant (the same arithmetic).
 * Reads exactly `channels` bytes of every row, weights and residual. */
#include "kernels/intrin.h"
#include "kernels/kernels_q8.h"

typedef struct {
    __m256 lo, hi, magic, rs;
    __m256i mzp, rzp;
} cx_rq;

static inline __m256i cx_ld8_u8(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
static inline __m256i cx_ld8_s8(const int8_t *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }

/* 8 int32 / float at byte address p (no alignment needed) */
static inline __m256i cx_ld8_i32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
static inline __m256 cx_ld8_f32(const uint8_t *p) { return _mm256_castsi256_ps(cx_ld8_i32(p)); }

/* requantize 8 accumulators of channels [c, c+8) (scale at byte address sc) */
static inline __m256i cx_rq8(__m256i acc, const uint8_t *sc, const uint8_t *res, const cx_rq *q)
{
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), cx_ld8_f32(sc));
    if (res) {
        const __m256i r = _mm256_sub_epi32(cx_ld8_u8(res), q->rzp);
        f = _mm256_add_ps(f, _mm256_mul_ps(_mm256_cvtepi32_ps(r), q->rs));
    }
    f = _mm256_min_ps(_mm256_max_ps(f, q->lo), q->hi);
    return _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(f, q->magic)), q->mzp);
}

void cx_q8_dwconv_ukernel__avx2(size_t channels, size_t ks, const uint8_t *const *in,
                                const void *w, uint8_t *out, const cx_q8_params *p)
{
    const uint8_t *bias = w;                   /* int32[channels] */
    const uint8_t *scale = bias + 4 * channels; /* float[channels] */
    const int8_t *wt = (const int8_t *)(bias + 8 * channels);
    const uint8_t *res = p->residual;
    cx_rq q;
    q.lo = _mm256_set1_ps((float)(p->ymin - p->y_zp));
    q.hi = _mm256_set1_ps((float)(p->ymax - p->y_zp));
    q.magic = _mm256_set1_ps(CX_Q8_MAGIC);
    q.mzp = _mm256_set1_epi32(0x4B400000 - p->y_zp);
    q.rzp = _mm256_set1_epi32(p->r_zp);
    q.rs = _mm256_set1_ps(p->r_scale);

    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
        __m256i a0 = cx_ld8_i32(bias + 4 * c);
        __m256i a1 = cx_ld8_i32(bias + 4 * (c + 8));
        __m256i a2 = cx_ld8_i32(bias + 4 * (c + 16));
        __m256i a3 = cx_ld8_i32(bias + 4 * (c + 24));
        const int8_t *wk = wt + c;
        for (size_t t = 0; t < ks; t++, wk += channels) {
            const uint8_t *x = in[t] + c;
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(cx_ld8_u8(x), cx_ld8_s8(wk)));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(cx_ld8_u8(x + 8), cx_ld8_s8(wk + 8)));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(cx_ld8_u8(x + 16), cx_ld8_s8(wk + 16)));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(cx_ld8_u8(x + 24), cx_ld8_s8(wk + 24)));
        }
        const __m256i y0 = cx_rq8(a0, scale + 4 * c, res ? res + c : NULL, &q);
        const __m256i y1 = cx_rq8(a1, scale + 4 * (c + 8), res ? res + c + 8 : NULL, &q);
        const __m256i y2 = cx_rq8(a2, scale + 4 * (c + 16), res ? res + c + 16 : NULL, &q);
        const __m256i y3 = cx_rq8(a3, scale + 4 * (c + 24), res ? res + c + 24 : NULL, &q);
        const __m256i v = _mm256_packus_epi16(_mm256_packs_epi32(y0, y1), _mm256_packs_epi32(y2, y3));
        _mm256_storeu_si256((__m256i *)(out + c),
                            _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    for (; c + 8 <= channels; c += 8) {
        __m256i a0 = cx_ld8_i32(bias + 4 * c);
        const int8_t *wk = wt + c;
        for (size_t t = 0; t < ks; t++, wk += channels)
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(cx_ld8_u8(in[t] + c), cx_ld8_s8(wk)));
        const __m256i y = cx_rq8(a0, scale + 4 * c, res ? res + c : NULL, &q);
        const __m256i v = _mm256_packus_epi16(_mm256_packs_epi32(y, y), _mm256_setzero_si256());
        const __m128i lo = _mm_unpacklo_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(out + c), lo);
    }
    for (; c < channels; c++) {
        int32_t b;
        float s;
        memcpy(&b, bias + 4 * c, 4);
        memcpy(&s, scale + 4 * c, 4);
        uint32_t acc = (uint32_t)b;
        for (size_t t = 0; t < ks; t++) acc += (uint32_t)in[t][c] * (uint32_t)(int32_t)wt[t * channels + c];
        out[c] = cx_q8_requant((int32_t)acc, s, p, res ? res[c] : 0);
    }
}
