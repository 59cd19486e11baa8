/* AVX2+FMA kernel table. Kernels not yet written stay NULL; a table whose GEMM
 * is NULL reports itself unavailable (cx_kernels_available). */
#include "kernels/kernels.h"

void cx_f32_igemm_ukernel_6x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                                     const float *const *a, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p);
/* Narrow GEMM for convs with <= 8 output channels per group (one ymm per row). */
void cx_f32_igemm_ukernel_10x8__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                                     const float *const *a, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p);
void cx_f32_dwconv_ukernel__avx2(size_t channels, size_t ks, const float *const *in,
                                 const float *w, float *out, const cx_f32_params *p);

const cx_kernels cx_kernels_avx2 = {
    .name = "avx2",
    .f32_gemm = { cx_f32_igemm_ukernel_6x16__avx2, 6, 16 },
    .f32_gemm_narrow = { cx_f32_igemm_ukernel_10x8__avx2, 10, 8 },
    .f32_dwconv = cx_f32_dwconv_ukernel__avx2,
    /* for the 512 KiB L2 of Zen 2/3, the AVX2-only parts this table serves
     * most: 3/8, 1/2 and 2x the L2, the fractions of the AVX-512 values;
     * derived, not tuned (no Zen 3 to measure on) */
    .f32_blocking = { 512, 192, 256, 1024 },
    .f32_peak = cx_f32_peak__avx2,
    .q8_peak = cx_q8_peak__avx2,
};
