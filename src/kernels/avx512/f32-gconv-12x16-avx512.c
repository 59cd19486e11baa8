/* AVX-512 f32 gconv kernel (contract: gconv.h), 12 rows, any kc/nc, PANELS
 * layout with nr = 16: the 12x16 igemm tile (f32-12x16-avx512.h) run for
 * every group of the row tile with the group's channel offset, so the driver
 * builds the tile's pointers once instead of once per group. For convs with
 * up to 16 output channels per group (ResNeXt 32x4d/32x8d stage 3: 16). */
#include "kernels/avx512/f32-12x16-avx512.h"
#include "kernels/gconv.h"

void cx_f32_gconv_ukernel_12x16__avx512(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                        const float *const *a, size_t a_offset, const float *w,
                                        float *c, size_t c_stride, const cx_f32_params *p)
{
    const __m512 vmin = _mm512_set1_ps(p->min);
    const __m512 vmax = _mm512_set1_ps(p->max);
    for (size_t g = 0; g < groups; g++) {
        const float *res = p->residual ? p->residual + g * nc : NULL;
        w = cx_f32_tile_12x16(mr, nc, kc, ks, a, a_offset + g * kc, w, c + g * nc, c_stride, res, p->r_stride,
                              vmin, vmax);
    }
}
