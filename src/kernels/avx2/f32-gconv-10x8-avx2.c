/* AVX2+FMA f32 gconv kernel (contract: gconv.h), 10 rows, any kc/nc, PANELS
 * layout with nr = 8: the 10x8 igemm tile (f32-10x8-avx2.h) run for every
 * group of the row tile with the group's channel offset, so the driver
 * builds the tile's pointers once instead of once per group. For convs with
 * up to 8 output channels per group. */
#include "kernels/avx2/f32-10x8-avx2.h"
#include "kernels/gconv.h"

void cx_f32_gconv_ukernel_10x8__avx2(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                     const float *const *a, size_t a_offset, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p)
{
    const __m256 vmin = _mm256_set1_ps(p->min);
    const __m256 vmax = _mm256_set1_ps(p->max);
    for (size_t g = 0; g < groups; g++) {
        const float *res = p->residual ? p->residual + g * nc : NULL;
        w = cx_f32_tile_10x8(mr, nc, kc, ks, a, a_offset + g * kc, w, c + g * nc, c_stride, res, p->r_stride,
                             vmin, vmax);
    }
}
