/* Weight packing for the f32 igemm family (layout documented in kernels.h).
 * Runs once per model load; ISA independent: only NR changes. */
#include <string.h>
#include "kernels/kernels.h"

size_t cx_f32_gemm_packed_size(size_t n, size_t kc, size_t ks, size_t nr)
{
    size_t panels = (n + nr - 1) / nr;
    return panels * nr * (1 + ks * kc);
}

void cx_f32_gemm_pack_weights(size_t n, size_t kc, size_t ks, size_t nr,
                              const float *w, const float *bias, float *out)
{
    for (size_t j0 = 0; j0 < n; j0 += nr) {
        size_t jn = n - j0 < nr ? n - j0 : nr;
        for (size_t j = 0; j < nr; j++) *out++ = (j < jn && bias) ? bias[j0 + j] : 0.0f;
        for (size_t t = 0; t < ks; t++)
            for (size_t k = 0; k < kc; k++) {
                for (size_t j = 0; j < nr; j++)
                    out[j] = j < jn ? w[((j0 + j) * ks + t) * kc + k] : 0.0f;
                out += nr;
            }
    }
}

void cx_f32_gemm_pack_conv_weights(size_t n, size_t kc, size_t ks, size_t nr,
                                   const float *w, const float *bias, float *out)
{
    for (size_t j0 = 0; j0 < n; j0 += nr) {
        size_t jn = n - j0 < nr ? n - j0 : nr;
        for (size_t j = 0; j < nr; j++) *out++ = (j < jn && bias) ? bias[j0 + j] : 0.0f;
        for (size_t t = 0; t < ks; t++)
            for (size_t k = 0; k < kc; k++) {
                for (size_t j = 0; j < nr; j++)
                    out[j] = j < jn ? w[((j0 + j) * kc + k) * ks + t] : 0.0f;
                out += nr;
            }
    }
}
