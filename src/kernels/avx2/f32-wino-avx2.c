/* AVX2 Winograd F(4x4, 3x3) and F(2x2, 3x3) input and output transforms,
 * 8 channels per vector. Body: kernels/f32-wino-vec.h. */
#include "kernels/intrin.h"

#define CX_V __m256
#define CX_VW 8
#define CX_VLOAD _mm256_loadu_ps
#define CX_VSTORE _mm256_storeu_ps
#define CX_VADD _mm256_add_ps
#define CX_VSUB _mm256_sub_ps
#define CX_VFMADD _mm256_fmadd_ps
#define CX_VFMSUB _mm256_fmsub_ps
#define CX_VFNMADD _mm256_fnmadd_ps
#define CX_VSET1 _mm256_set1_ps
#define CX_VMIN _mm256_min_ps
#define CX_VMAX _mm256_max_ps
#define CX_FN(name) name##__avx2
#include "kernels/f32-wino-vec.h"
