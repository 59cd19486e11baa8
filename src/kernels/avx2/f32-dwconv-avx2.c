/* AVX2+FMA depthwise convolution, 8 channels per ymm; the tail through
 * vmaskmovps. Body: kernels/f32-dwconv-vec.h. */
#include "kernels/intrin.h"

#define CX_V __m256
#define CX_VW 8
#define CX_VLOAD _mm256_loadu_ps
#define CX_VSTORE _mm256_storeu_ps
#define CX_VADD _mm256_add_ps
#define CX_VFMADD _mm256_fmadd_ps
#define CX_VSET1 _mm256_set1_ps
#define CX_VMIN _mm256_min_ps
#define CX_VMAX _mm256_max_ps
#define CX_VMASK_T __m256i
#define CX_VMASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define CX_VMASKLOAD(m, p) _mm256_maskload_ps((p), (m))
#define CX_VMASKSTORE(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define CX_DWCONV_FN cx_f32_dwconv_ukernel__avx2
#include "kernels/f32-dwconv-vec.h"
