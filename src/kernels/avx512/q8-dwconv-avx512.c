/* AVX-512 u8 depthwise convolution over one output pixel, channels-last
 * (contract: kernels_q8.h). Exact for all s8 weights: per 16 channels and
 * tap, vpmovzxbd (activations) and vpmovsxbd (weights) then vpmaddwd, whose
 * upper int16 halves are zero in the activation operand, so each lane is a*w.
 * 64 channels per main step (4 accumulators), then 16, then one masked step
 * for the last < 16 channels (byte-masked loads and store: nothing outside
 * [0, channels) is read or written). */
#include "q8-avx512.h"

static inline __m512i cx_ld16_u8(const uint8_t *p) { return cx512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)); }
static inline __m512i cx_ld16_s8(const int8_t *p) { return cx512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }

/* 16 int32 / float at byte address p (no alignment needed) */
static inline __m512i cx_ld16_i32(const uint8_t *p) { return _mm512_loadu_si512(p); }

static inline __m128i cx_rq16(__m512i acc, const uint8_t *sc, const uint8_t *res, const cx512_rq *q)
{
    const __m128i r = res ? _mm_loadu_si128((const __m128i *)res) : _mm_setzero_si128();
    return cx512_cvtepi32_epi8(cx512_requant(acc, _mm512_castsi512_ps(cx_ld16_i32(sc)), res != NULL, r, q));
}

/* channels [c, channels) with vpmaddwd */
static inline void dw_madd(size_t c, size_t channels, size_t ks, const uint8_t *const *in, const uint8_t *bias,
                           uint8_t *out, const uint8_t *res, const cx512_rq *qp)
{
    const uint8_t *scale = bias + 4 * channels; /* float[channels] */
    const int8_t *wt = (const int8_t *)(bias + 8 * channels);
    const cx512_rq q = *qp;
    for (; c + 64 <= channels; c += 64) {
        __m512i a0 = cx_ld16_i32(bias + 4 * (c));
        __m512i a1 = cx_ld16_i32(bias + 4 * (c + 16));
        __m512i a2 = cx_ld16_i32(bias + 4 * (c + 32));
        __m512i a3 = cx_ld16_i32(bias + 4 * (c + 48));
        const int8_t *wk = wt + c;
        for (size_t t = 0; t < ks; t++, wk += channels) {
            const uint8_t *x = in[t] + c;
            a0 = _mm512_add_epi32(a0, cx512_madd_epi16(cx_ld16_u8(x), cx_ld16_s8(wk)));
            a1 = _mm512_add_epi32(a1, cx512_madd_epi16(cx_ld16_u8(x + 16), cx_ld16_s8(wk + 16)));
            a2 = _mm512_add_epi32(a2, cx512_madd_epi16(cx_ld16_u8(x + 32), cx_ld16_s8(wk + 32)));
            a3 = _mm512_add_epi32(a3, cx512_madd_epi16(cx_ld16_u8(x + 48), cx_ld16_s8(wk + 48)));
        }
        _mm_storeu_si128((__m128i *)(out + c), cx_rq16(a0, scale + 4 * (c), res ? res + c : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 16), cx_rq16(a1, scale + 4 * (c + 16), res ? res + c + 16 : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 32), cx_rq16(a2, scale + 4 * (c + 32), res ? res + c + 32 : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 48), cx_rq16(a3, scale + 4 * (c + 48), res ? res + c + 48 : NULL, &q));
    }
    for (; c + 16 <= channels; c += 16) {
        __m512i a0 = cx_ld16_i32(bias + 4 * (c));
        const int8_t *wk = wt + c;
        for (size_t t = 0; t < ks; t++, wk += channels)
            a0 = _mm512_add_epi32(a0, cx512_madd_epi16(cx_ld16_u8(in[t] + c), cx_ld16_s8(wk)));
        _mm_storeu_si128((__m128i *)(out + c), cx_rq16(a0, scale + 4 * (c), res ? res + c : NULL, &q));
    }
    if (c < channels) {
        const uint32_t m = cx_lanes(channels - c);
        __m512i a0 = cx512_maskz_loadu_epi32(m, bias + 4 * c);
        const int8_t *wk = wt + c;
        for (size_t t = 0; t < ks; t++, wk += channels) {
            const __m512i x = cx512_cvtepu8_epi32(cx128_maskz_loadu_epi8(m, in[t] + c));
            const __m512i y = cx512_cvtepi8_epi32(cx128_maskz_loadu_epi8(m, wk));
            a0 = _mm512_add_epi32(a0, cx512_madd_epi16(x, y));
        }
        const __m512 s = _mm512_castsi512_ps(cx512_maskz_loadu_epi32(m, scale + 4 * c));
        const __m128i r = res ? cx128_maskz_loadu_epi8(m, res + c) : _mm_setzero_si128();
        cx128_mask_storeu_epi8(out + c, m, cx512_cvtepi32_epi8(cx512_requant(a0, s, res != NULL, r, &q)));
    }
}

void cx_q8_dwconv_ukernel__avx512(size_t channels, size_t ks, const uint8_t *const *in,
                                  const void *w, uint8_t *out, const cx_q8_params *p)
{
    cx512_rq q;
    cx512_rq_init(&q, p);
    dw_madd(0, channels, ks, in, w, out, p->residual, &q);
}

/* VNNI: per 64 channels and group of 4 taps, the four taps' activations are
 * interleaved into dwords (vpunpck{l,h}bw then vpunpck{l,h}wd, 8 shuffles)
 * and one vpdpbusd per 16 channels sums the 4 products, against the 4 x
 * (vpmovzxbd, vpmovsxbd, vpmaddwd, vpaddd) per tap above. The products and
 * int32 sums are the same, so the result is bit-identical. The accumulators
 * hold the channels in the interleaved order (vector j, lane k, dword i =
 * channel 16k + 4j + i); a 4x4 transpose of 128-bit lanes restores 0..63
 * before the bias and the requantization. Channels past the last whole 64
 * go through the vpmaddwd code. */
void cx_q8_dwconv_ukernel__avx512vnni(size_t channels, size_t ks, const uint8_t *const *in,
                                      const void *w, uint8_t *out, const cx_q8_params *p)
{
    const uint8_t *bias = w;
    const uint8_t *scale = bias + 4 * channels;
    const int8_t *wv = (const int8_t *)(bias + cx_q8_dwconv_vnni_offset(channels, ks));
    const uint8_t *res = p->residual;
    cx512_rq q;
    cx512_rq_init(&q, p);
    const size_t ng = (ks + 3) / 4;
    size_t c = 0;
    for (; c + 64 <= channels; c += 64) {
        __m512i v0 = _mm512_setzero_si512(), v1 = v0, v2 = v0, v3 = v0;
        for (size_t g = 0; g < ng; g++, wv += 256) {
            const size_t t = 4 * g;
            /* taps past ks read tap 0: their weights are 0 */
            const __m512i x0 = _mm512_loadu_si512(in[t] + c);
            const __m512i x1 = _mm512_loadu_si512(in[t + 1 < ks ? t + 1 : 0] + c);
            const __m512i x2 = _mm512_loadu_si512(in[t + 2 < ks ? t + 2 : 0] + c);
            const __m512i x3 = _mm512_loadu_si512(in[t + 3 < ks ? t + 3 : 0] + c);
            const __m512i l01 = _mm512_unpacklo_epi8(x0, x1), h01 = _mm512_unpackhi_epi8(x0, x1);
            const __m512i l23 = _mm512_unpacklo_epi8(x2, x3), h23 = _mm512_unpackhi_epi8(x2, x3);
            v0 = _mm512_dpbusd_epi32(v0, _mm512_unpacklo_epi16(l01, l23), _mm512_loadu_si512(wv));
            v1 = _mm512_dpbusd_epi32(v1, _mm512_unpackhi_epi16(l01, l23), _mm512_loadu_si512(wv + 64));
            v2 = _mm512_dpbusd_epi32(v2, _mm512_unpacklo_epi16(h01, h23), _mm512_loadu_si512(wv + 128));
            v3 = _mm512_dpbusd_epi32(v3, _mm512_unpackhi_epi16(h01, h23), _mm512_loadu_si512(wv + 192));
        }
        /* vj lane k = channels 16k + 4j .. +3: gather lane k of v0..v3 into channels 16k .. 16k + 15 */
        const __m512i t0 = _mm512_shuffle_i32x4(v0, v1, 0x44), t1 = _mm512_shuffle_i32x4(v0, v1, 0xEE);
        const __m512i t2 = _mm512_shuffle_i32x4(v2, v3, 0x44), t3 = _mm512_shuffle_i32x4(v2, v3, 0xEE);
        const __m512i n0 = _mm512_shuffle_i32x4(t0, t2, 0x88), n1 = _mm512_shuffle_i32x4(t0, t2, 0xDD);
        const __m512i n2 = _mm512_shuffle_i32x4(t1, t3, 0x88), n3 = _mm512_shuffle_i32x4(t1, t3, 0xDD);
        const __m512i a0 = _mm512_add_epi32(n0, cx_ld16_i32(bias + 4 * c));
        const __m512i a1 = _mm512_add_epi32(n1, cx_ld16_i32(bias + 4 * (c + 16)));
        const __m512i a2 = _mm512_add_epi32(n2, cx_ld16_i32(bias + 4 * (c + 32)));
        const __m512i a3 = _mm512_add_epi32(n3, cx_ld16_i32(bias + 4 * (c + 48)));
        _mm_storeu_si128((__m128i *)(out + c), cx_rq16(a0, scale + 4 * (c), res ? res + c : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 16), cx_rq16(a1, scale + 4 * (c + 16), res ? res + c + 16 : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 32), cx_rq16(a2, scale + 4 * (c + 32), res ? res + c + 32 : NULL, &q));
        _mm_storeu_si128((__m128i *)(out + c + 48), cx_rq16(a3, scale + 4 * (c + 48), res ? res + c + 48 : NULL, &q));
    }
    if (c < channels) dw_madd(c, channels, ks, in, bias, out, res, &q);
}
