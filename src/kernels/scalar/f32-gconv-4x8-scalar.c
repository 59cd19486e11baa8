/* Portable f32 gconv kernel (contract: gconv.h), 4 rows, any kc/nc, PANELS
 * layout with nr = 8: per group the loop of cx_f32_igemm_ukernel_4x8__scalar
 * with the group's channel offset added to the pixel pointers. The reference
 * implementation of the contract; reads exactly kc floats per group and row. */
#include "kernels/gconv.h"

#define MR 4
#define NR 8

void cx_f32_gconv_ukernel_4x8__scalar(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                      const float *const *a, size_t a_offset, const float *w,
                                      float *c, size_t c_stride, const cx_f32_params *p)
{
    for (size_t g = 0; g < groups; g++) {
        const size_t off = a_offset + g * kc;
        const float *res = p->residual ? p->residual + g * nc : NULL;
        float *cg = c + g * nc;
        for (size_t j0 = 0; j0 < nc; j0 += NR) {
            float acc[MR][NR];
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) acc[i][j] = w[j];
            w += NR;
            for (size_t t = 0; t < ks; t++) {
                const float *a0 = a[t * MR + 0] + off, *a1 = a[t * MR + 1] + off;
                const float *a2 = a[t * MR + 2] + off, *a3 = a[t * MR + 3] + off;
                for (size_t k = 0; k < kc; k++) {
                    const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
                    for (int j = 0; j < NR; j++) {
                        const float b = w[j];
                        acc[0][j] += x0 * b;
                        acc[1][j] += x1 * b;
                        acc[2][j] += x2 * b;
                        acc[3][j] += x3 * b;
                    }
                    w += NR;
                }
            }
            const size_t jn = nc - j0 < NR ? nc - j0 : NR;
            for (size_t i = 0; i < mr; i++) {
                float *ci = cg + i * c_stride + j0;
                const float *ri = res ? res + i * p->r_stride + j0 : NULL;
                for (size_t j = 0; j < jn; j++) {
                    float v = acc[i][j];
                    if (ri) v += ri[j];
                    v = v < p->min ? p->min : v;
                    v = v > p->max ? p->max : v;
                    ci[j] = v;
                }
            }
        }
    }
}
