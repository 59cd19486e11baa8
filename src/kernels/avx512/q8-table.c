/* AVX-512 int8 kernel tables: "avx512" (AVX-512BW vpmaddubsw, 7-bit weights,
 * wmax 64) and "avx512vnni" (vpdpbusd, full s8 weights; its depthwise kernel
 * takes four taps per vpdpbusd). Both use the AVX-512BW u8 max pool and
 * dequantized elementwise kernels; average and global pooling use the
 * portable kernels. */
#include "kernels/kernels_q8.h"

const cx_q8_kernels cx_q8_kernels_avx512 = {
    .name = "avx512",
    .gemm = { cx_qu8_igemm_ukernel_8x32c4__avx512bw, 8, 32, CX_Q8_KR },
    .wmax = 64,
    .dwconv = cx_q8_dwconv_ukernel__avx512,
    .maxpool = cx_u8_maxpool_ukernel__avx512,
    .avgpool = cx_q8_avgpool_ukernel__scalar,
    .gavgpool = cx_q8_gavgpool_ukernel__scalar,
    .gavgpool_f32 = cx_q8_gavgpool_f32_ukernel__scalar,
    .dqadd = cx_q8_dqadd_ukernel__avx512,
    .dqavg = cx_q8_dqavg_ukernel__avx512,
    .l2_kib = 1024, .conv_block_kib = 384,
};

const cx_q8_kernels cx_q8_kernels_avx512vnni = {
    .name = "avx512vnni",
    .gemm = { cx_qu8_igemm_ukernel_8x32c4__avx512vnni, 8, 32, CX_Q8_KR },
    .wmax = 127,
    .dwconv = cx_q8_dwconv_ukernel__avx512vnni,
    .maxpool = cx_u8_maxpool_ukernel__avx512,
    .avgpool = cx_q8_avgpool_ukernel__scalar,
    .gavgpool = cx_q8_gavgpool_ukernel__scalar,
    .gavgpool_f32 = cx_q8_gavgpool_f32_ukernel__scalar,
    .dqadd = cx_q8_dqadd_ukernel__avx512,
    .dqavg = cx_q8_dqavg_ukernel__avx512,
    .l2_kib = 1024, .conv_block_kib = 384,
};
