/* AVX-512 (F/BW/VL/DQ) kernel table. See avx2/table.c. */
#include "kernels/kernels.h"

void cx_f32_igemm_ukernel_8x32__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                       const float *const *a, const float *w,
                                       float *c, size_t c_stride, const cx_f32_params *p);
void cx_f32_dwconv_ukernel__avx512(size_t channels, size_t ks, const float *const *in,
                                   const float *w, float *out, const cx_f32_params *p);

void cx_f32_igemm_ukernel_7x32__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                       const float *const *a, const float *w,
                                       float *c, size_t c_stride, const cx_f32_params *p);

/* Narrow GEMM for convs with <= 16 output channels per group (one zmm per row). */
void cx_f32_igemm_ukernel_12x16__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                        const float *const *a, const float *w,
                                        float *c, size_t c_stride, const cx_f32_params *p);

const cx_kernels cx_kernels_avx512 = {
    .name = "avx512",
    .f32_gemm = { cx_f32_igemm_ukernel_8x32__avx512, 8, 32 },
    .f32_gemm_narrow = { cx_f32_igemm_ukernel_12x16__avx512, 12, 16 },
    .f32_gemm_rows = { cx_f32_igemm_ukernel_7x32__avx512, 7, 32 },
    .f32_dwconv = cx_f32_dwconv_ukernel__avx512,
    /* for a 1 MiB L2 (Zen 4/5, Skylake-SP; Ice Lake-SP's 1.25 MiB rescales):
     * measured on the Zen 5 (docs/performance.md: weight blocks of 192 KiB to
     * 1.5 MiB within 5 %, 96 KiB up to 20 % slower; Winograd blocks) */
    .f32_blocking = { 1024, 384, 512, 2048 },
    .f32_peak = cx_f32_peak__avx512,
    .q8_peak = cx_q8_peak__avx512,
};
