/* gconv kernels per table and the choice between them and the igemm path.
 *
 * cx_f32_gconv_find offers a gconv kernel where it measured at least as fast
 * as the igemm path (one narrow-kernel call per group, no im2col) on
 * ResNeXt's 3x3 convs with 32 groups (Zen 5, one thread):
 *  avx512: 4/4 channels per group in/out: G4 kernel, ~5x; 8/8: K8 kernel,
 *          ~2.7x; any other kc with nc <= 16: the 12x16 tile over all
 *          groups (16/16: same speed as the narrow igemm; it only saves the
 *          driver's per-group pointer rebuild, which matters at small kc).
 *  avx2:   4/4: G4 kernel, ~3x; any kc with nc <= 8: the 10x8 tile over all
 *          groups, ~1.1x. (16 per group: the main 6x16 GEMM fits exactly.)
 *  scalar: none (its kernel is the reference for tests and documentation). */
#include "kernels/gconv.h"

void cx_f32_gconv_ukernel_16x4__avx512(size_t, size_t, size_t, size_t, size_t, const float *const *, size_t,
                                       const float *, float *, size_t, const cx_f32_params *);
void cx_f32_gconv_ukernel_16x8__avx512(size_t, size_t, size_t, size_t, size_t, const float *const *, size_t,
                                       const float *, float *, size_t, const cx_f32_params *);
void cx_f32_gconv_ukernel_12x16__avx512(size_t, size_t, size_t, size_t, size_t, const float *const *, size_t,
                                        const float *, float *, size_t, const cx_f32_params *);
void cx_f32_gconv_ukernel_10x4__avx2(size_t, size_t, size_t, size_t, size_t, const float *const *, size_t,
                                     const float *, float *, size_t, const cx_f32_params *);
void cx_f32_gconv_ukernel_10x8__avx2(size_t, size_t, size_t, size_t, size_t, const float *const *, size_t,
                                     const float *, float *, size_t, const cx_f32_params *);

/*                                   name            kernel                               mr  kc  nc  nc_max gb  nr layout */
static const cx_f32_gconv_desc g4_avx512 = { "16x4 G4", cx_f32_gconv_ukernel_16x4__avx512, 16, 4, 4, 0, 4, 0, CX_GCONV_G4 };
static const cx_f32_gconv_desc k8_avx512 = { "16x8 K8", cx_f32_gconv_ukernel_16x8__avx512, 16, 8, 8, 0, 1, 0, CX_GCONV_K8 };
static const cx_f32_gconv_desc p16_avx512 = { "12x16 panels", cx_f32_gconv_ukernel_12x16__avx512, 12, 0, 0, 16, 1, 16,
                                              CX_GCONV_PANELS };
static const cx_f32_gconv_desc g4_avx2 = { "10x4 G4", cx_f32_gconv_ukernel_10x4__avx2, 10, 4, 4, 0, 2, 0, CX_GCONV_G4 };
static const cx_f32_gconv_desc p8_avx2 = { "10x8 panels", cx_f32_gconv_ukernel_10x8__avx2, 10, 0, 0, 8, 1, 8,
                                           CX_GCONV_PANELS };
static const cx_f32_gconv_desc ref_scalar = { "4x8 panels (reference)", cx_f32_gconv_ukernel_4x8__scalar, 4, 0, 0, 0, 1,
                                              8, CX_GCONV_PANELS };

static const cx_f32_gconv_desc *const list_avx512[] = { &g4_avx512, &k8_avx512, &p16_avx512 };
static const cx_f32_gconv_desc *const list_avx2[] = { &g4_avx2, &p8_avx2 };
static const cx_f32_gconv_desc *const list_scalar[] = { &ref_scalar };

size_t cx_f32_gconv_list(const cx_kernels *kt, const cx_f32_gconv_desc *const **list)
{
    if (kt == &cx_kernels_avx512) {
        *list = list_avx512;
        return sizeof list_avx512 / sizeof list_avx512[0];
    }
    if (kt == &cx_kernels_avx2) {
        *list = list_avx2;
        return sizeof list_avx2 / sizeof list_avx2[0];
    }
    if (kt == &cx_kernels_scalar) {
        *list = list_scalar;
        return 1;
    }
    *list = NULL;
    return 0;
}

const cx_f32_gconv_desc *cx_f32_gconv_find(const cx_kernels *kt, size_t kc, size_t nc)
{
    const cx_f32_gconv_desc *const *l;
    const size_t n = cx_f32_gconv_list(kt, &l);
    for (size_t i = 0; i < n; i++) {
        const cx_f32_gconv_desc *d = l[i];
        if (d->kc ? (d->kc == kc && d->nc == nc) : nc <= d->nc_max) return d;
    }
    return NULL;
}
