/* AVX2+FMA f32 igemm microkernel, 10 rows x 8 columns (contract: kernels.h):
 * the narrow GEMM of the AVX2 table, for convs with 8 or fewer output
 * channels per group, where the main 6x16 kernel would compute at least half
 * padding. The tile is in f32-10x8-avx2.h (shared with the gconv kernel). */
#include "kernels/avx2/f32-10x8-avx2.h"

void cx_f32_igemm_ukernel_10x8__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                                     const float *const *a, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p)
{
    cx_f32_tile_10x8(mr, nc, kc, ks, a, 0, w, c, c_stride, p->residual, p->r_stride,
                     _mm256_set1_ps(p->min), _mm256_set1_ps(p->max));
}
