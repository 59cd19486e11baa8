/* AVX-512 f32 igemm microkernel, 8 rows x 32 columns: the main GEMM of the
 * AVX-512 table. Body and notes: f32-igemm-x32-avx512.h. */
#define MR 8
#define CX_IGEMM_FN cx_f32_igemm_ukernel_8x32__avx512
#include "kernels/avx512/f32-igemm-x32-avx512.h"
