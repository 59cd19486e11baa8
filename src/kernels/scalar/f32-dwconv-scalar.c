/* Portable depthwise convolution over one output pixel, channels-last. */
#include "kernels/kernels.h"

void cx_f32_dwconv_ukernel__scalar(size_t channels, size_t ks, const float *const *in,
                                   const float *w, float *out, const cx_f32_params *p)
{
    const float *bias = w, *wt = w + channels;
    for (size_t c = 0; c < channels; c++) {
        float acc = bias[c];
        for (size_t t = 0; t < ks; t++) acc += in[t][c] * wt[t * channels + c];
        if (p->residual) acc += p->residual[c];
        acc = acc < p->min ? p->min : acc;
        out[c] = acc > p->max ? p->max : acc;
    }
}
