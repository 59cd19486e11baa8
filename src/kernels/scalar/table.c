#include "kernels/kernels.h"

const cx_kernels cx_kernels_scalar = {
    .name = "scalar",
    .f32_gemm = { cx_f32_igemm_ukernel_4x8__scalar, 4, 8 },
    .f32_dwconv = cx_f32_dwconv_ukernel__scalar,
    .f32_blocking = { 1024, 384, 512, 2048 },
    .f32_peak = cx_f32_peak__scalar,
};
