/* AVX-512 (F/BW/VL/DQ) kernel table. See avx2/table.c. */
#include "kernels/kernels.h"

const cx_kernels cx_kernels_avx512 = {
    .name = "avx512",
};
