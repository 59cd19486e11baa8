/* AVX2 int8 kernel tables. "avx2": vpmaddubsw GEMM (7-bit weights, wmax 64),
 * the default. "avx2exact": vpmaddwd GEMM exact for all s8 weights (wmax 127),
 * slower; for models whose accuracy suffers from 7-bit weights. Both use the
 * exact depthwise kernel, the AVX2 u8 max pool and dequantized elementwise
 * kernels; average and global pooling use the portable kernels. */
#include "kernels/kernels_q8.h"

const cx_q8_kernels cx_q8_kernels_avx2 = {
    .name = "avx2",
    .gemm = { cx_qu8_igemm_ukernel_4x16c4__avx2, 4, 16, CX_Q8_KR },
    .wmax = 64,
    .dwconv = cx_q8_dwconv_ukernel__avx2,
    .maxpool = cx_u8_maxpool_ukernel__avx2,
    .avgpool = cx_q8_avgpool_ukernel__scalar,
    .gavgpool = cx_q8_gavgpool_ukernel__scalar,
    .gavgpool_f32 = cx_q8_gavgpool_f32_ukernel__scalar,
    .dqadd = cx_q8_dqadd_ukernel__avx2,
    .dqavg = cx_q8_dqavg_ukernel__avx2,
    .l2_kib = 512, .conv_block_kib = 192,   /* Zen 2/3; the AVX-512 fraction, not tuned there */
};

const cx_q8_kernels cx_q8_kernels_avx2exact = {
    .name = "avx2exact",
    .gemm = { cx_qu8_igemm_ukernel_4x8c4__avx2exact, 4, 8, CX_Q8_KR },
    .wmax = 127,
    .dwconv = cx_q8_dwconv_ukernel__avx2,
    .maxpool = cx_u8_maxpool_ukernel__avx2,
    .avgpool = cx_q8_avgpool_ukernel__scalar,
    .gavgpool = cx_q8_gavgpool_ukernel__scalar,
    .gavgpool_f32 = cx_q8_gavgpool_f32_ukernel__scalar,
    .dqadd = cx_q8_dqadd_ukernel__avx2,
    .dqavg = cx_q8_dqavg_ukernel__avx2,
    .l2_kib = 512, .conv_block_kib = 192,   /* Zen 2/3; the AVX-512 fraction, not tuned there */
};
