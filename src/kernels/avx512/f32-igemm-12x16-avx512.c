/* AVX-512 f32 igemm microkernel, 12 rows x 16 columns (contract: kernels.h):
 * the narrow GEMM of the AVX-512 table, for convs with 16 or fewer output
 * channels per group, where the main 8x32 kernel would compute at least half
 * padding. The tile is in f32-12x16-avx512.h (shared with the gconv kernel). */
#include "kernels/avx512/f32-12x16-avx512.h"

void cx_f32_igemm_ukernel_12x16__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                        const float *const *a, const float *w,
                                        float *c, size_t c_stride, const cx_f32_params *p)
{
    cx_f32_tile_12x16(mr, nc, kc, ks, a, 0, w, c, c_stride, p->residual, p->r_stride,
                      _mm512_set1_ps(p->min), _mm512_set1_ps(p->max));
}
