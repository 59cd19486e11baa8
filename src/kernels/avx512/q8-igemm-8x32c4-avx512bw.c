/* AVX-512BW u8 x s8 igemm microkernel, 8 rows x 32 columns, vpmaddubsw +
 * vpmaddwd (7-bit weights: |w| <= 64). Body: q8-igemm-avx512.h. */
#define CX_FN cx_qu8_igemm_ukernel_8x32c4__avx512bw
#define CX_MR 8
#define CX_VNNI 0
#include "q8-igemm-avx512.h"
