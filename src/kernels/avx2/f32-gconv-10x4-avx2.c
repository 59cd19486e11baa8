/* AVX2+FMA f32 gconv kernel (contract: gconv.h) for 4 input and 4 output
 * channels per group, 10 rows, G4 layout with 2 groups per block: the
 * AVX-512 16x4 kernel at half width. A ymm holds 2 groups x 4 output
 * channels; per row and tap one 8-float load brings the same 2 groups' 4
 * input channels, an in-lane shuffle (vshufps, imm) per k spreads input k of
 * each group over its group's 128-bit lane, and one FMA with the packed
 * (group, column) weights of k does 8 useful MACs. 10 accumulators + 4
 * weights + 2 temporaries fill the 16 ymm. An odd last group uses a masked
 * load and 128-bit stores, touching nothing past the row's groups*4 floats. */
#include "kernels/intrin.h"
#include "kernels/gconv.h"

#define MR 10

#define CX_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#define CX_ACC(i) __m256 vacc##i = vbias;
#define CX_ROW(i)                                                                             \
    {                                                                                         \
        const __m256 vx = half ? _mm256_maskload_ps(ap[i] + off, vlo) : _mm256_loadu_ps(ap[i] + off); \
        vacc##i = _mm256_fmadd_ps(_mm256_shuffle_ps(vx, vx, 0x00), vw0, vacc##i);             \
        vacc##i = _mm256_fmadd_ps(_mm256_shuffle_ps(vx, vx, 0x55), vw1, vacc##i);             \
        vacc##i = _mm256_fmadd_ps(_mm256_shuffle_ps(vx, vx, 0xAA), vw2, vacc##i);             \
        vacc##i = _mm256_fmadd_ps(_mm256_shuffle_ps(vx, vx, 0xFF), vw3, vacc##i);             \
    }
#define CX_OUT(i)                                                                             \
    if (i < mr) {                                                                             \
        float *ci = c + i * c_stride;                                                         \
        if (half) {                                                                           \
            __m128 v = _mm256_castps256_ps128(vacc##i);                                       \
            if (res) v = _mm_add_ps(v, _mm_loadu_ps(res + i * r_stride));                     \
            _mm_storeu_ps(ci, _mm_min_ps(_mm256_castps256_ps128(vmax), _mm_max_ps(_mm256_castps256_ps128(vmin), v))); \
        } else {                                                                              \
            __m256 v = vacc##i;                                                               \
            if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i * r_stride));               \
            _mm256_storeu_ps(ci, _mm256_min_ps(vmax, _mm256_max_ps(vmin, v)));                \
        }                                                                                     \
    }

/* one block of 2 groups (half: only the first) */
static inline __attribute__((always_inline)) void cx_block(const int half, size_t mr, size_t ks,
                                                           const float *const *ap, size_t off, const float *w,
                                                           float *c, size_t c_stride, const float *res,
                                                           size_t r_stride, __m256 vmin, __m256 vmax)
{
    const __m256i vlo = _mm256_setr_epi32(-1, -1, -1, -1, 0, 0, 0, 0);
    const __m256 vbias = _mm256_loadu_ps(w);
    CX_ROWS(CX_ACC)
    w += 8;
    for (size_t t = ks; t != 0; t--) {
        const __m256 vw0 = _mm256_loadu_ps(w);
        const __m256 vw1 = _mm256_loadu_ps(w + 8);
        const __m256 vw2 = _mm256_loadu_ps(w + 16);
        const __m256 vw3 = _mm256_loadu_ps(w + 24);
        w += 32;
        CX_ROWS(CX_ROW)
        ap += MR;
    }
    CX_ROWS(CX_OUT)
}

void cx_f32_gconv_ukernel_10x4__avx2(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                     const float *const *a, size_t a_offset, const float *w,
                                     float *c, size_t c_stride, const cx_f32_params *p)
{
    (void)kc;
    (void)nc;
    const __m256 vmin = _mm256_set1_ps(p->min);
    const __m256 vmax = _mm256_set1_ps(p->max);
    const size_t r_stride = p->r_stride, block = 8 * (1 + ks * 4);
    size_t g = 0;
    for (; g + 2 <= groups; g += 2) {
        cx_block(0, mr, ks, a, a_offset + g * 4, w, c + g * 4, c_stride, p->residual ? p->residual + g * 4 : NULL,
                 r_stride, vmin, vmax);
        w += block;
    }
    if (g < groups)
        cx_block(1, mr, ks, a, a_offset + g * 4, w, c + g * 4, c_stride, p->residual ? p->residual + g * 4 : NULL,
                 r_stride, vmin, vmax);
}
