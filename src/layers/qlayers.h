/* Quantized (int8) layers over u8 NDHWC activations: convolution (igemm or
 * depthwise through a cx_q8_kernels table, fused bias, requantization, ReLU and
 * a u8 residual of its own scale), max pooling, global average pooling to
 * float, the f32 <-> u8 conversions, and the octave nets' average pooling and
 * upsample-add. Arithmetic: src/kernels/kernels_q8.h;
 * design and measurements: docs/int8.md. */
#ifndef CX_QLAYERS_H
#define CX_QLAYERS_H
#include "kernels/kernels_q8.h"
#include "layers/layers.h"

/* What a quantized conv is made of (all real-valued parameters as calibrated). */
typedef struct cx_qconv_desc {
    int cin, cout, groups;
    cx_conv_geom g;
    const int8_t *w;          /* (cout, cin/groups, kd, kh, kw), s8, real = w_scale[o] * q */
    const float *w_scale;     /* cout per-channel weight scales (>= 0) */
    const float *bias;        /* cout real biases, or NULL */
    float a_scale;            /* input:  real = a_scale * (q - a_zp) */
    int32_t a_zp;
    float y_scale;            /* output: real = y_scale * (q - y_zp) */
    int32_t y_zp;
    bool relu;                /* ymin = y_zp */
    bool residual;            /* a u8 residual (r_scale, r_zp) is added before the ReLU */
    float r_scale;
    int32_t r_zp;
    /* NULL, or the calibrated mean of the real input seen by each weight:
     * (cin, ks), padding counted as 0. When the weights are requantized for a
     * table's wmax, the bias absorbs the mean output shift of that change
     * ("bias correction", docs/int8.md). */
    const float *xmean;
} cx_qconv_desc;

/* Few channels per group (the 3-channel stem): the taps of a row are gathered
 * into one contiguous ks*kc-byte im2col row and the kernel runs once with
 * K = ks*kc (no c4 group is wasted per tap). */
#define CX_QIM2COL_MAX_KC 8

typedef struct cx_qconv {
    int cin, cout, groups;
    cx_conv_geom g;
    int ks, kc, nc;
    cx_conv_algo algo;
    /* igemm packing: pg super-groups of gpack consecutive groups each, packed
     * as one GEMM with block-diagonal weights (pkc = gpack*kc inputs, pnc =
     * gpack*nc outputs), so that groups narrower than the kernel's NR fill
     * its columns instead of padding them (ResNeXt: 4..16 channels a group) */
    int gpack, pg, pkc, pnc;
    bool im2col;
    const cx_q8_kernels *qk;
    uint8_t *packed;          /* igemm: per group cx_q8_gemm_packed_size bytes; dw: cx_q8_dwconv_packed_size */
    size_t group_stride;      /* bytes between groups in packed */
    size_t panel_bytes;       /* igemm: one NR-column panel */
    size_t block_bytes;       /* igemm: packed bytes of one column block (the table's, for this L2) */
    uint8_t *zrow;            /* max(kc, cin) bytes of a_zp: the padding row */
    cx_q8_params qp;          /* y_zp, ymin, ymax, r_zp, r_scale (residual pointer set per call) */
    bool residual;
    float a_scale, y_scale;
    int32_t a_zp;
    int wbits;                /* 8, or 7 where the table's wmax (64) forced a requantization */
    size_t clamped_bias;      /* biases clamped to +-2^30 (0 normally) */
} cx_qconv;

/* Packs for qk (weights requantized to |w| <= qk->wmax where needed).
 * Errors: SHAPE (bad geometry), INVALID_ARG (bad scales), NOMEM. */
cortex_status cx_qconv_create(cx_qconv *c, const cx_qconv_desc *d, const cx_q8_kernels *qk);
void cx_qconv_destroy(cx_qconv *c);
cortex_status cx_qconv_out_dims(const cx_qconv *c, cx_dims in, cx_dims *out);
size_t cx_qconv_scratch_bytes(const cx_qconv *c);
/* y = requant(conv(x) + bias [+ residual]); residual: NULL or u8 of out dims
 * (required iff the conv was created with one). */
void cx_qconv_run(const cx_qconv *c, cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y,
                  const uint8_t *residual, cortex_pool *pool, cx_scratch *scratch);
uint64_t cx_qconv_macs(const cx_qconv *c, cx_dims out);

/* Reference of the quantized arithmetic (the test oracle): exact int64 sums of
 * (x - a_zp) * w with the packed scales and biases of c, then cx_q8_requant. */
void cx_qconv_ref(const cx_qconv *c, const int8_t *w_used, const int32_t *bias_q, const float *scale,
                  cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y, const uint8_t *residual);
/* The per-column values c was packed with (for the reference): weights
 * (cout, cin/groups, ks) after any wmax requantization, int32 biases (a_zp not
 * folded) and requantization scales. Arrays sized by the caller. */
void cx_qconv_export(const cx_qconv *c, const cx_qconv_desc *d, int8_t *w_used, int32_t *bias_q, float *scale);

/* Max pooling on u8 (PyTorch semantics: padding never wins). Pool windows of
 * more than CX_QPOOL_MAX_TAPS taps are not supported (the builder keeps them f32). */
#define CX_QPOOL_MAX_TAPS 512
/* The taps of a pool window (cx_pool_window) of clip n, in (d, h, w) order,
 * at most CX_QPOOL_MAX_TAPS; returns their number. */
static inline size_t cx_qpool_taps(cx_dims in, const uint8_t *x, size_t n, const int s[3], const int e[3],
                                   const uint8_t **taps)
{
    const size_t C = (size_t)in.c;
    size_t nt = 0;
    for (int d = s[0]; d < e[0]; d++)
        for (int h = s[1]; h < e[1]; h++)
            for (int w = s[2]; w < e[2] && nt < CX_QPOOL_MAX_TAPS; w++)
                taps[nt++] = x + ((((size_t)n * in.d + d) * in.h + h) * in.w + w) * C;
    return nt;
}
void cx_qmaxpool_run(const cx_pool_desc *p, cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y,
                     const cx_q8_kernels *qk, cortex_pool *pool);
/* Global average to float: y[n][c] = a_scale * (mean_s x[n][s][c] - a_zp). */
void cx_qgap_f32_run(cx_dims in, const uint8_t *x, float a_scale, int32_t a_zp, float *y,
                     const cx_q8_kernels *qk, cortex_pool *pool);
/* y = cx_q8_quantize1(x, 1/scale, zp) (kernels_q8.h): clamp(rint(x / scale) + zp, 0, 255), rint half to
 * even, NaN -> 0 (n elements). */
void cx_quantize_run(size_t n, const float *x, float scale, int32_t zp, uint8_t *y, cortex_pool *pool);
/* y = scale * (x - zp) */
void cx_dequantize_run(size_t n, const uint8_t *x, float scale, int32_t zp, float *y, cortex_pool *pool);
/* Octave nets' upsample-add on u8 (qeltwise.c): out = quantize(max(lo, a + crop(up2(b))))
 * with a, b dequantized by their own (scale, zp), lo = 0 with ReLU else -inf;
 * bit-identical to DEQUANTIZE + f32 UP2ADD (pool.c) + QUANTIZE. */
void cx_qup2add_run(cx_dims out, const uint8_t *a, float a_scale, int32_t a_zp, cx_dims low, const uint8_t *b,
                    float b_scale, int32_t b_zp, uint8_t *y, float y_scale, int32_t y_zp, bool relu,
                    const cx_q8_kernels *qk, cortex_pool *pool);
/* Average pooling on u8 (qeltwise.c), requantized to the output's (scale, zp);
 * bit-identical to DEQUANTIZE + f32 AVGPOOL + QUANTIZE. Windows of at most
 * CX_QPOOL_MAX_TAPS taps (the builder keeps larger ones f32). */
void cx_qavgpool_run(const cx_pool_desc *p, cx_dims in, const uint8_t *x, float x_scale, int32_t x_zp,
                     cx_dims out, uint8_t *y, float y_scale, int32_t y_zp, const cx_q8_kernels *qk,
                     cortex_pool *pool);
#endif
