/* AVX2+FMA depthwise convolution over one output pixel (contract: kernels.h).
 *
 * Channels go in blocks of 32 (4 independent ymm accumulators, enough to hide
 * the FMA latency), then 8, then one masked tail: masked loads read no input,
 * weight or residual float past `channels`, a masked store writes none. For
 * each block the taps loop runs inside with the accumulators in registers,
 * so `out` is written exactly once. */
#include "kernels/intrin.h"
#include "kernels/kernels.h"

static inline __m256 cx_clamp(__m256 v, __m256 vmin, __m256 vmax)
{
    return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
}

void cx_f32_dwconv_ukernel__avx2(size_t channels, size_t ks, const float *const *in,
                                 const float *w, float *out, const cx_f32_params *p)
{
    const float *bias = w, *wt = w + channels;
    const float *res = p->residual;
    const __m256 vmin = _mm256_set1_ps(p->min);
    const __m256 vmax = _mm256_set1_ps(p->max);
    size_t c = 0;

    for (; c + 32 <= channels; c += 32) {
        __m256 acc0 = _mm256_loadu_ps(bias + c);
        __m256 acc1 = _mm256_loadu_ps(bias + c + 8);
        __m256 acc2 = _mm256_loadu_ps(bias + c + 16);
        __m256 acc3 = _mm256_loadu_ps(bias + c + 24);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels) {
            const float *x = in[t] + c;
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(wp), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(wp + 8), acc1);
            acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(wp + 16), acc2);
            acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 24), _mm256_loadu_ps(wp + 24), acc3);
        }
        if (res) {
            acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(res + c));
            acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(res + c + 8));
            acc2 = _mm256_add_ps(acc2, _mm256_loadu_ps(res + c + 16));
            acc3 = _mm256_add_ps(acc3, _mm256_loadu_ps(res + c + 24));
        }
        _mm256_storeu_ps(out + c, cx_clamp(acc0, vmin, vmax));
        _mm256_storeu_ps(out + c + 8, cx_clamp(acc1, vmin, vmax));
        _mm256_storeu_ps(out + c + 16, cx_clamp(acc2, vmin, vmax));
        _mm256_storeu_ps(out + c + 24, cx_clamp(acc3, vmin, vmax));
    }
    for (; c + 8 <= channels; c += 8) {
        __m256 acc = _mm256_loadu_ps(bias + c);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(in[t] + c), _mm256_loadu_ps(wp), acc);
        if (res) acc = _mm256_add_ps(acc, _mm256_loadu_ps(res + c));
        _mm256_storeu_ps(out + c, cx_clamp(acc, vmin, vmax));
    }
    if (c < channels) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(channels - c)),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 acc = _mm256_maskload_ps(bias + c, m);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(in[t] + c, m), _mm256_maskload_ps(wp, m), acc);
        if (res) acc = _mm256_add_ps(acc, _mm256_maskload_ps(res + c, m));
        _mm256_maskstore_ps(out + c, m, cx_clamp(acc, vmin, vmax));
    }
}
