/* AVX2+FMA kernel table. Kernels not yet written stay NULL; a table whose GEMM
 * is NULL reports itself unavailable (cx_kernels_available). */
#include "kernels/kernels.h"

const cx_kernels cx_kernels_avx2 = {
    .name = "avx2",
};
