/* Winograd convolution for 3x3, stride 1, dilation 1 convs (the 3x3 layers of
 * ResNets, and ResNeXt's grouped ones): F(4x4, 3x3) (6x6 input tiles, 36 frequencies) and
 * F(2x2, 3x3) (4x4 tiles, 16 frequencies), after Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks" (2016).
 *
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A    per tile and channel pair
 *
 * The element-wise products summed over input channels are one GEMM per
 * frequency: [tiles x cin] x [cin x cout]. Weights are transformed at create
 * time (in double) into one packed igemm panel set per frequency (the layout
 * of kernels.h, zero bias) and the table's f32 igemm microkernel runs the
 * GEMMs with ks = 1 and row pointers into the transformed input. Work is
 * split into blocks of tiles (x column blocks when tiles are few); each task
 * transforms its tiles' input into the worker's scratch, runs the GEMMs of all
 * frequencies there and transforms the result back, fused with bias, residual
 * and the clamp, so the whole block stays in L2.
 *
 * Grouped convs: each frequency's GEMM is block-diagonal, one [tiles x kc] x
 * [kc x nc] product per group, run by the same igemm kernel with the row
 * pointers offset to the group's channels. Tasks are (tile block, block of
 * whole groups) and transform only their groups' input channels, so blocks
 * can split the channels without repeating work. */
#ifndef CX_CONV_WINOGRAD_H
#define CX_CONV_WINOGRAD_H
#include <stdbool.h>
#include <stddef.h>

#include "layers/layers.h"

/* ---- transform kernels: one tile, all channels (channels-last)
 * Input (alpha = m + 2): in[alpha*r + s] points at `channels` floats of pixel
 *   (r, s) of the alpha x alpha input patch (padding points at zeros);
 *   writes V[f] = (B^T d B)[f] at out + f*out_stride, f = alpha*i + j.
 * Output: reads M[f] at m + f*m_stride; for each of the m x m output pixels
 *   q = m*a + b: out[q][c] = clamp((A^T M A)[a][b] + bias[c] + res[q][c], min, max).
 *   res is NULL (no residual) or m*m pointers. Cropped pixels point at junk
 *   rows (written) and, for res, any readable row. */
typedef void (*cx_f32_wino_in_fn)(size_t channels, const float *const *in, float *out, size_t out_stride);
typedef void (*cx_f32_wino_out_fn)(size_t channels, const float *m, size_t m_stride, const float *bias,
                                   float *const *out, const float *const *res, float min, float max);

void cx_f32_wino4x3_in__scalar(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino4x3_out__scalar(size_t channels, const float *m, size_t m_stride, const float *bias,
                                float *const *out, const float *const *res, float min, float max);
void cx_f32_wino2x3_in__scalar(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino2x3_out__scalar(size_t channels, const float *m, size_t m_stride, const float *bias,
                                float *const *out, const float *const *res, float min, float max);
void cx_f32_wino2x3_in__avx2(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino2x3_out__avx2(size_t channels, const float *m, size_t m_stride, const float *bias,
                              float *const *out, const float *const *res, float min, float max);
void cx_f32_wino2x3_in__avx512(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino2x3_out__avx512(size_t channels, const float *m, size_t m_stride, const float *bias,
                                float *const *out, const float *const *res, float min, float max);
void cx_f32_wino4x3_in__avx2(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino4x3_out__avx2(size_t channels, const float *m, size_t m_stride, const float *bias,
                              float *const *out, const float *const *res, float min, float max);
void cx_f32_wino4x3_in__avx512(size_t channels, const float *const *in, float *out, size_t out_stride);
void cx_f32_wino4x3_out__avx512(size_t channels, const float *m, size_t m_stride, const float *bias,
                                float *const *out, const float *const *res, float min, float max);

/* Output tile size: 4 = F(4x4, 3x3), 2 = F(2x2, 3x3). */
typedef enum cx_wino_variant { CX_WINO_F2 = 2, CX_WINO_F4 = 4 } cx_wino_variant;

typedef struct cx_wino {
    int cin, cout, groups;
    int kc, nc;                /* channels per group in / out */
    int pad_h, pad_w;
    int m, alpha, nfreq;       /* output tile m x m, input tile alpha x alpha, alpha^2 frequencies */
    float min, max;            /* output clamp */
    const cx_f32_gemm_desc *gemm;
    const cx_f32_gemm_desc *gemm_rows; /* fewer-rows kernel on the same packing, or NULL */
    cx_f32_wino_in_fn in_fn;
    cx_f32_wino_out_fn out_fn;
    float *packed;             /* per group (group_stride floats apart) and frequency
                                  (freq_stride apart) one packed [kc x nc] panel set */
    size_t freq_stride, group_stride;
    size_t weight_bytes;       /* transformed weights, all groups and frequencies (panel padding excluded) */
    float *bias;               /* cout floats */
    float *zero;               /* cin zeros: padding pixels */
    size_t cin_p;              /* V channel stride in scratch (cin rounded up to 16) */
    size_t nb;                 /* output columns per GEMM + output transform pass (whole panels) */
    size_t max_tiles;          /* tiles per task, at most (sizes the scratch) */
} cx_wino;

/* 3x3 (kernel depth 1), stride 1, dilation 1, padding 0 or 1 in h and w,
 * none in d; groups dividing cin and cout. */
bool cx_wino_applicable(int cin, int cout, int groups, const cx_conv_geom *g);

/* weight: PyTorch layout (cout, cin/groups, 1, 3, 3); bias: cout floats or
 * NULL. Neither is needed after the call. CORTEX_ERR_SHAPE if not applicable. */
cortex_status cx_wino_create(cx_wino *w, cx_wino_variant v, int cin, int cout, int groups, const cx_conv_geom *g,
                             bool relu, const float *weight, const float *bias, const cx_kernels *kt);
void cx_wino_destroy(cx_wino *w);

/* Bytes of per-worker scratch cx_wino_run needs. */
size_t cx_wino_scratch_bytes(const cx_wino *w);

/* Same contract as cx_conv_run: y = clamp(conv(x) + bias + residual); out dims
 * as cx_conv_out_dims gives them (stride 1: in + 2*pad - 2). */
void cx_wino_run(const cx_wino *w, cx_dims in, const float *x, cx_dims out, float *y,
                 const float *residual, cortex_pool *pool, cx_scratch *scratch);

/* Multiplies per output as a direct conv counts them (for GFLOP/s figures). */
uint64_t cx_wino_macs(const cx_wino *w, cx_dims out);
#endif
