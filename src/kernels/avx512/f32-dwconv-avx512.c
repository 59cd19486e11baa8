/* AVX-512 depthwise convolution, 16 channels per zmm; the tail through
 * __mmask16 loads and stores (f32-mask-avx512.h). Body:
 * kernels/f32-dwconv-vec.h. */
#include "kernels/intrin.h"
#include "kernels/avx512/f32-mask-avx512.h"

#define CX_V __m512
#define CX_VW 16
#define CX_VLOAD _mm512_loadu_ps
#define CX_VSTORE _mm512_storeu_ps
#define CX_VADD _mm512_add_ps
#define CX_VFMADD _mm512_fmadd_ps
#define CX_VSET1 _mm512_set1_ps
#define CX_VMIN _mm512_min_ps
#define CX_VMAX _mm512_max_ps
#define CX_VMASK_T cx_m16
#define CX_VMASK(n) ((cx_m16)((1u << (n)) - 1u))
#define CX_VMASKLOAD(m, p) cx_maskz_loadu16((m), (p))
#define CX_VMASKSTORE(p, m, v) cx_mask_storeu16((p), (m), (v))
#define CX_DWCONV_FN cx_f32_dwconv_ukernel__avx512
#include "kernels/f32-dwconv-vec.h"
