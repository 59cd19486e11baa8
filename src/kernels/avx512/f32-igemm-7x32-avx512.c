/* AVX-512 f32 igemm microkernel, 7 rows x 32 columns, on the 8x32 kernel's
 * packed weights: for maps of 7x7 and 14x14 pixels (49 and 196 rows), which
 * 8-row tiles cover with 14 % and 2 % of padding rows. Body and notes:
 * f32-igemm-x32-avx512.h. */
#define MR 7
#define CX_IGEMM_FN cx_f32_igemm_ukernel_7x32__avx512
#include "kernels/avx512/f32-igemm-x32-avx512.h"
