/* Portable u8 x s8 igemm microkernel, 4 rows x 8 columns, c4 weights
 * (contract: kernels_q8.h). The reference the SIMD kernels are tested against,
 * and the scalar table's GEMM. Accumulates in uint32 (modulo 2^32, like the
 * SIMD adds); reads exactly kc bytes per row pointer. */
#include "kernels/kernels_q8.h"

#define MR 4
#define NR 8

void cx_qu8_igemm_ukernel_4x8c4__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                        const uint8_t *const *a, const void *w,
                                        uint8_t *c, size_t c_stride, const cx_q8_params *p)
{
    const uint8_t *wp = w;
    const uint8_t *res = p->residual;
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        int32_t bias[NR];
        float scale[NR];
        memcpy(bias, wp, sizeof bias);
        memcpy(scale, wp + 4 * NR, sizeof scale);
        const int8_t *wk = (const int8_t *)(wp + 8 * NR);
        uint32_t acc[MR][NR];
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] = (uint32_t)bias[j];
        for (size_t t = 0; t < ks; t++) {
            const uint8_t *ar[MR];
            for (int i = 0; i < MR; i++) ar[i] = a[t * MR + (size_t)i];
            for (size_t k0 = 0; k0 < kc; k0 += 4) {
                const size_t kn = kc - k0 < 4 ? kc - k0 : 4;
                uint32_t x[MR][4];
                for (int i = 0; i < MR; i++)
                    for (size_t q = 0; q < 4; q++) x[i][q] = q < kn ? ar[i][k0 + q] : 0;
                for (int j = 0; j < NR; j++) {
                    const int32_t b0 = wk[j * 4 + 0], b1 = wk[j * 4 + 1];
                    const int32_t b2 = wk[j * 4 + 2], b3 = wk[j * 4 + 3];
                    for (int i = 0; i < MR; i++)
                        acc[i][j] += x[i][0] * (uint32_t)b0 + x[i][1] * (uint32_t)b1 +
                                     x[i][2] * (uint32_t)b2 + x[i][3] * (uint32_t)b3;
                }
                wk += 4 * NR;
            }
        }
        wp = (const uint8_t *)wk;
        const size_t jn = nc - j0 < NR ? nc - j0 : NR;
        for (size_t i = 0; i < mr; i++) {
            uint8_t *ci = c + i * c_stride + j0;
            const uint8_t *ri = res ? res + i * p->r_stride + j0 : NULL;
            for (size_t j = 0; j < jn; j++)
                ci[j] = cx_q8_requant((int32_t)acc[i][j], scale[j], p, ri ? ri[j] : 0);
        }
    }
}
