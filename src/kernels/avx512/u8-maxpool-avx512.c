/* u8 max pooling over one output pixel's taps, AVX-512BW: 64 channels per
 * vector (vpmaxub), the last < 64 channels through the scalar element loop.
 * Contract: kernels_q8.h (cx_u8_maxpool_fn). */
#include "q8-avx512.h"

void cx_u8_maxpool_ukernel__avx512(size_t channels, size_t ks, const uint8_t *const *in, uint8_t *out, uint8_t ymin,
                                   uint8_t ymax)
{
    const __m512i vmin = _mm512_set1_epi8((char)ymin), vmax = _mm512_set1_epi8((char)ymax);
    size_t c = 0;
    for (; c + 64 <= channels; c += 64) {
        __m512i m = _mm512_loadu_si512(in[0] + c);
        for (size_t t = 1; t < ks; t++) m = _mm512_max_epu8(m, _mm512_loadu_si512(in[t] + c));
        m = _mm512_min_epu8(_mm512_max_epu8(m, vmin), vmax);
        _mm512_storeu_si512(out + c, m);
    }
    for (; c < channels; c++) {
        uint8_t m = in[0][c];
        for (size_t t = 1; t < ks; t++) m = in[t][c] > m ? in[t][c] : m;
        m = m < ymin ? ymin : m;
        out[c] = m > ymax ? ymax : m;
    }
}
