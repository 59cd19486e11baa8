/* u8 max pooling over one output pixel's taps, AVX2: 32 channels per
 * vector (vpmaxub), the last < 32 channels through the scalar element loop.
 * Contract: kernels_q8.h (cx_u8_maxpool_fn). */
#include <immintrin.h>

#include "kernels/kernels_q8.h"

void cx_u8_maxpool_ukernel__avx2(size_t channels, size_t ks, const uint8_t *const *in, uint8_t *out, uint8_t ymin,
                                 uint8_t ymax)
{
    const __m256i vmin = _mm256_set1_epi8((char)ymin), vmax = _mm256_set1_epi8((char)ymax);
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(in[0] + c));
        for (size_t t = 1; t < ks; t++) m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)(in[t] + c)));
        m = _mm256_min_epu8(_mm256_max_epu8(m, vmin), vmax);
        _mm256_storeu_si256((__m256i *)(out + c), m);
    }
    for (; c < channels; c++) {
        uint8_t m = in[0][c];
        for (size_t t = 1; t < ks; t++) m = in[t][c] > m ? in[t][c] : m;
        m = m < ymin ? ymin : m;
        out[c] = m > ymax ? ymax : m;
    }
}
