/* AVX-512 VNNI u8 x s8 igemm microkernel, 8 rows x 32 columns, vpdpbusd
 * (exact for all s8 weights). Body: q8-igemm-avx512.h. */
#define CX_FN cx_qu8_igemm_ukernel_8x32c4__avx512vnni
#define CX_MR 8
#define CX_VNNI 1
#include "q8-igemm-avx512.h"
