/* Weight packing for the gconv kernels (layouts documented in gconv.h).
 * Runs once per model load; ISA independent. */
#include "kernels/gconv.h"

size_t cx_f32_gconv_block_floats(const cx_f32_gconv_desc *d, size_t kc, size_t nc, size_t ks)
{
    switch (d->layout) {
    case CX_GCONV_G4: return (size_t)d->gb * 4 * (1 + ks * 4);
    case CX_GCONV_K8: return 16 * (1 + ks * 4);
    default: return (size_t)d->gb * cx_f32_gemm_packed_size(nc, kc, ks, d->nr);
    }
}

size_t cx_f32_gconv_packed_size(const cx_f32_gconv_desc *d, size_t groups, size_t kc, size_t nc, size_t ks)
{
    return (groups + d->gb - 1) / d->gb * cx_f32_gconv_block_floats(d, kc, nc, ks);
}

void cx_f32_gconv_pack(const cx_f32_gconv_desc *d, size_t groups, size_t kc, size_t nc, size_t ks,
                       const float *w, const float *bias, float *out)
{
    switch (d->layout) {
    case CX_GCONV_G4: {
        const size_t gb = d->gb;
        for (size_t g0 = 0; g0 < groups; g0 += gb) {
            for (size_t g = g0; g < g0 + gb; g++)
                for (size_t j = 0; j < 4; j++) *out++ = (g < groups && bias) ? bias[g * 4 + j] : 0.0f;
            for (size_t t = 0; t < ks; t++)
                for (size_t k = 0; k < 4; k++)
                    for (size_t g = g0; g < g0 + gb; g++)
                        for (size_t j = 0; j < 4; j++) *out++ = g < groups ? w[((g * 4 + j) * 4 + k) * ks + t] : 0.0f;
        }
        break;
    }
    case CX_GCONV_K8:
        for (size_t g = 0; g < groups; g++) {
            for (size_t L = 0; L < 4; L++)
                for (size_t j = 0; j < 4; j++) *out++ = (!(L & 1) && bias) ? bias[g * 8 + j + 4 * (L >> 1)] : 0.0f;
            for (size_t t = 0; t < ks; t++)
                for (size_t e = 0; e < 4; e++)
                    for (size_t L = 0; L < 4; L++)
                        for (size_t j = 0; j < 4; j++) {
                            const size_t col = g * 8 + j + 4 * (L >> 1), k = e + 4 * (L & 1);
                            *out++ = w[(col * 8 + k) * ks + t];
                        }
        }
        break;
    default: {
        const size_t gs = cx_f32_gemm_packed_size(nc, kc, ks, d->nr);
        for (size_t g = 0; g < groups; g++)
            cx_f32_gemm_pack_conv_weights(nc, kc, ks, d->nr, w + g * nc * kc * ks, bias ? bias + g * nc : NULL,
                                          out + g * gs);
        break;
    }
    }
}
