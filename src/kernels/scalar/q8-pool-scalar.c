/* u8 pooling kernels: max, requantized average, global average (u8 or float
 * out). Plain C over contiguous channels (the compiler vectorises the inner
 * loops); every table uses these. Contracts: kernels_q8.h. */
#include "kernels/kernels_q8.h"

/* Integer max/sum loops are exact in any order: CX_VECTORIZE (kernels.h). */

CX_VECTORIZE void cx_u8_maxpool_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                   uint8_t *out, uint8_t ymin, uint8_t ymax)
{
    for (size_t c = 0; c < channels; c++) out[c] = in[0][c];
    for (size_t t = 1; t < ks; t++) {
        const uint8_t *r = in[t];
        for (size_t c = 0; c < channels; c++) out[c] = r[c] > out[c] ? r[c] : out[c];
    }
    for (size_t c = 0; c < channels; c++) {
        uint8_t v = out[c] < ymin ? ymin : out[c];
        out[c] = v > ymax ? ymax : v;
    }
}

/* the requantization of kernels_q8.h without a residual */
static inline uint8_t pool_requant(int32_t acc, const cx_q8_pool_params *p)
{
    const cx_q8_params q = { p->y_zp, p->ymin, p->ymax, NULL, 0, 0, 0.0f };
    return cx_q8_requant(acc, p->scale, &q, 0);
}

#define CX_POOL_BLOCK 256

void cx_q8_avgpool_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                   uint8_t *out, const cx_q8_pool_params *p)
{
    int32_t acc[CX_POOL_BLOCK];
    for (size_t c0 = 0; c0 < channels; c0 += CX_POOL_BLOCK) {
        const size_t cn = channels - c0 < CX_POOL_BLOCK ? channels - c0 : CX_POOL_BLOCK;
        for (size_t c = 0; c < cn; c++) acc[c] = p->bias;
        for (size_t t = 0; t < ks; t++) {
            const uint8_t *r = in[t] + c0;
            for (size_t c = 0; c < cn; c++) acc[c] += r[c];
        }
        for (size_t c = 0; c < cn; c++) out[c0 + c] = pool_requant(acc[c], p);
    }
}

/* acc[c] = bias + sum over rows, channels [c0, c0+cn) */
CX_VECTORIZE static void gsum(size_t rows, size_t cn, size_t stride, const uint8_t *in, int32_t bias, int32_t *acc)
{
    for (size_t c = 0; c < cn; c++) acc[c] = bias;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *x = in + r * stride;
        for (size_t c = 0; c < cn; c++) acc[c] += x[c];
    }
}

void cx_q8_gavgpool_ukernel__scalar(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                    uint8_t *out, const cx_q8_pool_params *p)
{
    int32_t acc[CX_POOL_BLOCK];
    for (size_t c0 = 0; c0 < channels; c0 += CX_POOL_BLOCK) {
        const size_t cn = channels - c0 < CX_POOL_BLOCK ? channels - c0 : CX_POOL_BLOCK;
        gsum(rows, cn, stride, in + c0, p->bias, acc);
        for (size_t c = 0; c < cn; c++) out[c0 + c] = pool_requant(acc[c], p);
    }
}

void cx_q8_gavgpool_f32_ukernel__scalar(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                        float *out, const cx_q8_pool_params *p)
{
    int32_t acc[CX_POOL_BLOCK];
    for (size_t c0 = 0; c0 < channels; c0 += CX_POOL_BLOCK) {
        const size_t cn = channels - c0 < CX_POOL_BLOCK ? channels - c0 : CX_POOL_BLOCK;
        gsum(rows, cn, stride, in + c0, p->bias, acc);
        for (size_t c = 0; c < cn; c++) out[c0 + c] = (float)acc[c] * p->scale;
    }
}
