/* Layers: convolution (N-d, groups, stride, padding, dilation; BN folded, bias,
 * ReLU and residual add fused), pooling, global average pooling.
 *
 * Activations are channels-last: NDHWC, with D = 1 for 2-D nets (a 2-D conv is
 * a 3-D conv with kernel depth 1), so one code path serves 1-D, 2-D and 3-D.
 * Layers call kernels only through the cx_kernels table given at create time. */
#ifndef CX_LAYERS_H
#define CX_LAYERS_H
#include <stdbool.h>
#include "kernels/gconv.h"
#include "kernels/kernels.h"
#include "runtime/common.h"

typedef struct cx_dims { int n, d, h, w, c; } cx_dims;   /* NDHWC */
static inline size_t cx_dims_numel(cx_dims a) { return (size_t)a.n * a.d * a.h * a.w * a.c; }

/* Per-dimension geometry in (d, h, w) order. */
typedef struct cx_conv_geom { int k[3], s[3], p[3], dil[3]; } cx_conv_geom;

/* Per-thread scratch handed to layers by the runtime. */
typedef struct cx_scratch { void *p; size_t bytes; } cx_scratch;

typedef enum cx_conv_algo { CX_CONV_IGEMM = 0, CX_CONV_DW = 1, CX_CONV_WINO = 2 } cx_conv_algo;

struct cx_wino; /* conv_winograd.h */

typedef struct cx_conv {
    int cin, cout, groups;
    cx_conv_geom g;
    int ks;               /* taps: kd*kh*kw */
    int kc, nc;           /* channels per group in / out */
    float min, max;       /* output clamp (ReLU: 0..inf) */
    cx_conv_algo algo;
    const cx_kernels *kt;
    const cx_f32_gemm_desc *gemm; /* igemm: the table's main or narrow kernel */
    const cx_f32_gconv_desc *gconv; /* grouped igemm, all groups per call (NULL: one call per group) */
    float *packed;        /* igemm: per group cx_f32_gemm_packed_size floats; dw: bias + ks*C */
    size_t group_stride;  /* floats between groups in packed */
    size_t block_bytes;   /* igemm: packed weights per column block (the table's NC, cx_kernels_blocking) */
    float *zero;          /* kc (igemm) or C (dw) zeros: the padding row */
    struct cx_wino *wino; /* CX_CONV_WINO: transformed weights and transforms */
} cx_conv;

/* Creates a conv from PyTorch-layout weights w (cout, cin/groups, kd, kh, kw)
 * and bias (cout, or NULL). Weights are packed for kt now and not needed after. */
cortex_status cx_conv_create(cx_conv *c, int cin, int cout, int groups, const cx_conv_geom *g,
                             bool relu, const float *w, const float *bias, const cx_kernels *kt);
void cx_conv_destroy(cx_conv *c);
/* Output dims of a geometry over an input (channels set to cout), as PyTorch
 * sizes a conv; CORTEX_ERR_SHAPE when an output dimension would be empty.
 * Shared by the f32 and int8 convs. */
cortex_status cx_conv_geom_out_dims(const cx_conv_geom *g, cx_dims in, int cout, cx_dims *out);
/* Output dims for an input; CORTEX_ERR_SHAPE if the input is too small or has
 * the wrong channel count. */
cortex_status cx_conv_out_dims(const cx_conv *c, cx_dims in, cx_dims *out);
/* Bytes of per-thread scratch cx_conv_run needs. */
size_t cx_conv_scratch_bytes(const cx_conv *c);
/* y = clamp(conv(x) + bias + residual). residual: NULL or a tensor of out dims.
 * scratch: one per worker (index = worker id), each cx_conv_scratch_bytes. */
void cx_conv_run(const cx_conv *c, cx_dims in, const float *x, cx_dims out, float *y,
                 const float *residual, cortex_pool *pool, cx_scratch *scratch);
/* FLOP accounting */
uint64_t cx_conv_macs(const cx_conv *c, cx_dims out);

/* Reference convolution (naive loops, double accumulation): the test oracle. */
void cx_conv_ref(int cin, int cout, int groups, const cx_conv_geom *g, const float *w,
                 const float *bias, float min, float max, cx_dims in, const float *x,
                 cx_dims out, float *y, const float *residual);

/* ---- pooling */
typedef struct cx_pool_desc {
    int k[3], s[3], p[3];
    bool ceil_mode, count_include_pad;
} cx_pool_desc;
cortex_status cx_pool_out_dims(const cx_pool_desc *p, cx_dims in, cx_dims *out);
/* The input window of output pixel (od, oh, ow): taps [s[a], e[a]) along d, h,
 * w, clipped to the input (padding never a tap). Returns the average's
 * divisor: with count_include_pad the window clipped to the padded extent,
 * else the taps (PyTorch's). Shared by the f32 and u8 pools. */
static inline long cx_pool_window(const cx_pool_desc *p, cx_dims in, int od, int oh, int ow, int s[3], int e[3])
{
    const int o3[3] = { od, oh, ow }, i3[3] = { in.d, in.h, in.w };
    long pad_n = 1, n = 1;
    for (int a = 0; a < 3; a++) {
        const int s0 = o3[a] * p->s[a] - p->p[a];
        const int e0 = CX_MIN(s0 + p->k[a], i3[a] + p->p[a]);
        s[a] = CX_MAX(s0, 0);
        e[a] = CX_MIN(e0, i3[a]);
        pad_n *= e0 - s0;
        n *= e[a] - s[a];
    }
    return p->count_include_pad ? pad_n : n;
}
void cx_maxpool_run(const cx_pool_desc *p, cx_dims in, const float *x, cx_dims out, float *y, cortex_pool *pool);
void cx_avgpool_run(const cx_pool_desc *p, cx_dims in, const float *x, cx_dims out, float *y, cortex_pool *pool);
/* Adaptive average pooling to 1x1x1: y[n][c] = mean over d, h, w. */
void cx_gap_run(cx_dims in, const float *x, float *y, cortex_pool *pool);
/* y = a + b (elementwise, n floats), optional ReLU. */
void cx_add_run(size_t n, const float *a, const float *b, float *y, bool relu, cortex_pool *pool);

/* Layout conversion at the model boundary: NC(D)HW (PyTorch) -> NDHWC. */
/* y = a + crop(nearest 2x (h, w) upsample of b) (NDHWC), optional ReLU; a and
 * y have dims `out`, b has dims `low` (2*low.h >= out.h, 2*low.w >= out.w). */
void cx_up2add_run(cx_dims out, const float *a, cx_dims low, const float *b, float *y, bool relu, cortex_pool *pool);
void cx_nchw_to_ndhwc(cx_dims d, const float *x, float *y);
#endif
