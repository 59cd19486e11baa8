/* AVX-512 Winograd F(4x4, 3x3) and F(2x2, 3x3) input and output transforms,
 * 16 channels per vector. Body: kernels/f32-wino-vec.h. */
#include "kernels/intrin.h"

#define CX_V __m512
#define CX_VW 16
#define CX_VLOAD _mm512_loadu_ps
#define CX_VSTORE _mm512_storeu_ps
#define CX_VADD _mm512_add_ps
#define CX_VSUB _mm512_sub_ps
#define CX_VFMADD _mm512_fmadd_ps
#define CX_VFMSUB _mm512_fmsub_ps
#define CX_VFNMADD _mm512_fnmadd_ps
#define CX_VSET1 _mm512_set1_ps
#define CX_VMIN _mm512_min_ps
#define CX_VMAX _mm512_max_ps
#define CX_FN(name) name##__avx512
#include "kernels/f32-wino-vec.h"
