/* AVX-512 depthwise convolution over one output pixel (contract: kernels.h).
 *
 * Channels go in blocks of 64 (4 independent zmm accumulators, enough to hide
 * the FMA latency), then 16, then one masked tail (__mmask16 loads/stores: no
 * input, weight or residual float past `channels` is read, none of `out`
 * written). For each block the taps loop runs inside with the accumulators in
 * registers, so `out` is written exactly once. */
#include <stdint.h>

#include "kernels/intrin.h"
#include "kernels/avx512/f32-mask-avx512.h"
#include "kernels/kernels.h"


static inline __m512 cx_clamp(__m512 v, __m512 vmin, __m512 vmax)
{
    return _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
}

void cx_f32_dwconv_ukernel__avx512(size_t channels, size_t ks, const float *const *in,
                                   const float *w, float *out, const cx_f32_params *p)
{
    const float *bias = w, *wt = w + channels;
    const float *res = p->residual;
    const __m512 vmin = _mm512_set1_ps(p->min);
    const __m512 vmax = _mm512_set1_ps(p->max);
    size_t c = 0;

    for (; c + 64 <= channels; c += 64) {
        __m512 acc0 = _mm512_loadu_ps(bias + c);
        __m512 acc1 = _mm512_loadu_ps(bias + c + 16);
        __m512 acc2 = _mm512_loadu_ps(bias + c + 32);
        __m512 acc3 = _mm512_loadu_ps(bias + c + 48);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels) {
            const float *x = in[t] + c;
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(wp), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(wp + 16), acc1);
            acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 32), _mm512_loadu_ps(wp + 32), acc2);
            acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 48), _mm512_loadu_ps(wp + 48), acc3);
        }
        if (res) {
            acc0 = _mm512_add_ps(acc0, _mm512_loadu_ps(res + c));
            acc1 = _mm512_add_ps(acc1, _mm512_loadu_ps(res + c + 16));
            acc2 = _mm512_add_ps(acc2, _mm512_loadu_ps(res + c + 32));
            acc3 = _mm512_add_ps(acc3, _mm512_loadu_ps(res + c + 48));
        }
        _mm512_storeu_ps(out + c, cx_clamp(acc0, vmin, vmax));
        _mm512_storeu_ps(out + c + 16, cx_clamp(acc1, vmin, vmax));
        _mm512_storeu_ps(out + c + 32, cx_clamp(acc2, vmin, vmax));
        _mm512_storeu_ps(out + c + 48, cx_clamp(acc3, vmin, vmax));
    }
    for (; c + 16 <= channels; c += 16) {
        __m512 acc = _mm512_loadu_ps(bias + c);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(in[t] + c), _mm512_loadu_ps(wp), acc);
        if (res) acc = _mm512_add_ps(acc, _mm512_loadu_ps(res + c));
        _mm512_storeu_ps(out + c, cx_clamp(acc, vmin, vmax));
    }
    if (c < channels) {
        const cx_m16 m = (cx_m16)((1u << (channels - c)) - 1u);
        __m512 acc = cx_maskz_loadu16(m, bias + c);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = _mm512_fmadd_ps(cx_maskz_loadu16(m, in[t] + c), cx_maskz_loadu16(m, wp), acc);
        if (res) acc = _mm512_add_ps(acc, cx_maskz_loadu16(m, res + c));
        cx_mask_storeu16(out + c, m, cx_clamp(acc, vmin, vmax));
    }
}
