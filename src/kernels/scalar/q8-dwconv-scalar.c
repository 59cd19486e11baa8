/* Portable u8 depthwise convolution over one output pixel, channels-last
 * (contract: kernels_q8.h). */
#include "kernels/kernels_q8.h"

void cx_q8_dwconv_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                  const void *w, uint8_t *out, const cx_q8_params *p)
{
    const uint8_t *wb = w;
    const int8_t *wt = (const int8_t *)(wb + 8 * channels);
    for (size_t c = 0; c < channels; c++) {
        int32_t b;
        float s;
        memcpy(&b, wb + 4 * c, 4);
        memcpy(&s, wb + 4 * (channels + c), 4);
        uint32_t acc = (uint32_t)b;
        for (size_t t = 0; t < ks; t++) acc += (uint32_t)in[t][c] * (uint32_t)(int32_t)wt[t * channels + c];
        out[c] = cx_q8_requant((int32_t)acc, s, p, p->residual ? p->residual[c] : 0);
    }
}
