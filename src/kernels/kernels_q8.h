/* int8 kernel family: u8 activations x s8 weights -> int32 -> requantized u8.
 *
 * Quantization scheme (FBGEMM-style, static):
 *   activations  real = a_scale * (q - a_zp)      q u8, one (scale, zp) per tensor
 *   weights      real = w_scale[j] * q            q s8, symmetric (zp 0), per output channel
 *   bias         int32, real = a_scale * w_scale[j] * q
 * Because weights are symmetric, the activation zero point folds into the bias
 * at pack time:  bias'[j] = bias[j] - a_zp * sum_{t,k} w[j][t][k]  (the column
 * offsets). The kernels then only compute  acc = bias' + sum a * w  on raw u8
 * values, and a padding tap must point at a row filled with a_zp (the real
 * zero): its a_zp * w terms cancel against the folded offset.
 *
 * Requantization (every kernel, every ISA, bit for bit; cx_q8_requant below is
 * the normative definition):
 *   x = (float)acc * scale[j]                              one rounded multiply
 *   if residual:  x = x + (float)(r - r_zp) * r_scale      multiply, then add: two
 *                                                          roundings, never an FMA
 *   x = min(max(x, (float)(ymin - y_zp)), (float)(ymax - y_zp))
 *   y = (uint8_t)(rint(x) + y_zp)      rint = round half to even, IEEE default mode
 * with scale[j] = a_scale * w_scale[j] / y_scale (packed with the weights) and
 * r_scale = res_scale / y_scale. int32 -> float is round-to-nearest-even
 * (cvtdq2ps and C agree); the rounding to integer is done everywhere as
 * (x + 0x1.8p23f) - 0x1.8p23f on the clamped x (|x| <= 255, so exact rint; the
 * SIMD kernels read the integer straight from the bits of x + 0x1.8p23f), the
 * same as cvtps2dq in the default MXCSR mode. ReLU is ymin = y_zp; no clamp is
 * 0..255. A fused multiply-add in the residual term would change the
 * rounding, so the multiply and the add are separate statements / intrinsics
 * everywhere; do not build these files with -ffp-contract=fast (GCC's
 * -std=c11 means off, clang's default "on" only fuses within one expression;
 * both are tested bit-exact).
 *
 * int32 accumulation: kernels accumulate modulo 2^32; the result is exact when
 * the true sum bias + sum (a - a_zp) * w fits int32, guaranteed for
 * |bias| + ks*kc*255*127 < 2^31 (e.g. ks*kc <= 32768 with |bias| < 2^30).
 *
 * Weight range: the vpmaddubsw tables (avx2, avx512) add two u8*s8 products in
 * saturating int16, exact only for |w| <= 64 (2*255*64 = 32640 <= 32767).
 * Each table states its bound in wmax (64 there; 127 for scalar, avx2exact
 * and avx512vnni); quantization must then use a weight scale of
 * max|w_real| / wmax, i.e. 7-bit weights (129 levels) on the maddubs tables. cx_q8_gemm_pack_weights clamps
 * to +-wmax and reports how many weights it clamped.
 */
#ifndef CX_KERNELS_Q8_H
#define CX_KERNELS_Q8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define CX_Q8_KR 4   /* K is grouped by 4 in the packed weights ("c4") */

/* Output stage of the GEMM and depthwise kernels (see the file comment).
 * residual: NULL or the tile's first u8 element, rows r_stride bytes apart,
 * columns contiguous (same column index as C). */
typedef struct cx_q8_params {
    int32_t y_zp;             /* output zero point, 0..255 */
    int32_t ymin, ymax;       /* output clamp, 0 <= ymin <= ymax <= 255 */
    const uint8_t *residual;  /* NULL: no residual */
    size_t r_stride;          /* bytes between residual rows (igemm) */
    int32_t r_zp;             /* residual zero point, 0..255 */
    float r_scale;            /* residual scale / output scale */
} cx_q8_params;

#define CX_Q8_MAGIC 12582912.0f /* 0x1.8p23f: x + MAGIC has rint(x) in its low mantissa bits */

/* The requantization of one accumulator (normative for every kernel).
 * r is the residual byte (ignored unless p->residual). */
static inline uint8_t cx_q8_requant(int32_t acc, float scale, const cx_q8_params *p, uint8_t r)
{
    float x = (float)acc * scale;
    if (p->residual) {
        const float t = (float)((int32_t)r - p->r_zp) * p->r_scale;
        x = x + t;
    }
    const float lo = (float)(p->ymin - p->y_zp), hi = (float)(p->ymax - p->y_zp);
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    const float ri = (x + CX_Q8_MAGIC) - CX_Q8_MAGIC;
    return (uint8_t)((int32_t)ri + p->y_zp);
}

/* ---------------------------------------------------------------- igemm
 * u8 x s8 indirect GEMM microkernel with fused requantization.
 * Computes rows [0, mr) (mr <= MR) and columns [0, nc) (any nc >= 1) of
 *   acc[i][j] = bias'[j] + sum_{t<ks} sum_{k<kc} a[t*MR + i][k] * w[t][k][j]
 *   C[i][j]   = requant(acc[i][j], scale[j], residual[i][j])
 * a: ks*MR row pointers, tap-major. Each points at kc readable bytes; a padding
 *    tap points at a row of kc bytes equal to a_zp. Entries for rows i >= mr
 *    must still be valid pointers (repeat row mr-1); their results are
 *    discarded. The kernels read exactly bytes [0, kc) of every row: no
 *    padding is needed after a row or a buffer (a kc % 4 tail is assembled
 *    byte by byte).
 * w: packed by cx_q8_gemm_pack_weights with the table's NR. Per NR-wide
 *    panel of columns (cx_q8_gemm_panel_bytes = NR*(8 + ks*kc4) bytes,
 *    kc4 = kc rounded up to 4):
 *      int32 bias'[NR]               (a_zp folded in)
 *      float scale[NR]
 *      for t < ks, for g < kc4/4:    int8 w[NR][4]  (byte j*4+q = weight of
 *                                    column j, channel 4g+q; zero past kc)
 *    Columns past n are zero (bias, scale and weights). The kernel walks
 *    panels for nc > NR. No alignment is required (all loads are unaligned);
 *    64-byte alignment of w is best, and keeps every panel 4-byte aligned.
 * c: row i at c + i*c_stride bytes; only the mr x nc block is written.
 * The kernel reads nothing past the panels covering nc and no residual byte
 * outside the mr x nc block. */
typedef void (*cx_qu8_igemm_fn)(size_t mr, size_t nc, size_t kc, size_t ks,
                                const uint8_t *const *a, const void *w,
                                uint8_t *c, size_t c_stride, const cx_q8_params *p);

/* ------------------------------------------------------------- depthwise
 * Depthwise convolution, channels-last, one output pixel: for c < channels
 *   acc = bias'[c] + sum_{t<ks} in[t][c] * w[t][c];  out[c] = requant(acc, scale[c], residual[c])
 * in: ks pointers to rows of `channels` u8 (padding taps point at an a_zp row).
 * w: packed by cx_q8_dwconv_pack_weights:
 *      int32 bias'[channels], float scale[channels], int8 w[ks][channels]
 *    (no alignment required). Full-range s8 weights (exact on every table). residual: NULL or `channels`
 * bytes (r_stride unused). Reads exactly `channels` bytes per row. */
typedef void (*cx_q8_dwconv_fn)(size_t channels, size_t ks, const uint8_t *const *in,
                                const void *w, uint8_t *out, const cx_q8_params *p);

/* --------------------------------------------------------------- pooling
 * Max pooling in the quantized domain (max commutes with the affine map, so
 * input and output share scale and zero point): out[c] = clamp(max_t in[t][c],
 * ymin, ymax). Padding taps point at a row of 0 (the u8 minimum). */
typedef void (*cx_u8_maxpool_fn)(size_t channels, size_t ks, const uint8_t *const *in,
                                 uint8_t *out, uint8_t ymin, uint8_t ymax);

/* Requantized average / global average: acc = bias + sum of inputs (int32),
 * out = requant(acc, scale) with the rule above (no residual).
 * For an average over n taps of a tensor (a_scale, a_zp) into (y_scale, y_zp):
 * bias = -n*a_zp, scale = a_scale / (n_div * y_scale) with n_div the divisor
 * (padding taps point at an a_zp row, so count_include_pad just picks n_div). */
typedef struct cx_q8_pool_params {
    int32_t bias;
    float scale;
    int32_t y_zp, ymin, ymax;
} cx_q8_pool_params;
typedef void (*cx_q8_avgpool_fn)(size_t channels, size_t ks, const uint8_t *const *in,
                                 uint8_t *out, const cx_q8_pool_params *p);
/* Global average over `rows` rows of `channels` bytes, rows `stride` bytes apart. */
typedef void (*cx_q8_gavgpool_fn)(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                  uint8_t *out, const cx_q8_pool_params *p);
/* Same, dequantized to float: out[c] = (float)(bias + sum_r in[r][c]) * scale
 * (ymin, ymax, y_zp unused); e.g. bias = -rows*a_zp, scale = a_scale/rows. */
typedef void (*cx_q8_gavgpool_f32_fn)(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                      float *out, const cx_q8_pool_params *p);

/* ------------------------------------------------ dequantized elementwise
 * The octave nets' upsample-add and average pooling on u8 (layers/qeltwise.c)
 * compute in float exactly what DEQUANTIZE, the f32 op and QUANTIZE compute,
 * in the same order (float products and sums, never fused), so every table
 * writes the same bytes as that path:
 *   dqadd: y[c] = q(max(lo, (a[c] - a_zp) * a_scale + (b[c] - b_zp) * b_scale))
 *   dqavg: acc = 0; for t in 0..ks-1: acc = acc + (in[t][c] - a_zp) * a_scale;
 *          y[c] = q(acc * inv_n)
 * with q(v) = cx_q8_quantize1(v, inv_y, y_zp) and lo = 0 (ReLU) or -inf. */
typedef struct cx_q8_dq_params {
    float a_scale, b_scale;   /* b: dqadd only */
    int32_t a_zp, b_zp;
    float lo;                 /* dqadd */
    float inv_n;              /* dqavg: 1 / the divisor */
    float inv_y;              /* 1 / output scale */
    int32_t y_zp;
} cx_q8_dq_params;
typedef void (*cx_q8_dqadd_fn)(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y,
                               const cx_q8_dq_params *p);
typedef void (*cx_q8_dqavg_fn)(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y,
                               const cx_q8_dq_params *p);

/* f32 -> u8 (normative; QUANTIZE uses it too): clamp(rint(x * inv_scale)) + zp
 * with rint half to even; NaN -> code 0. */
static inline uint8_t cx_q8_quantize1(float x, float inv_scale, int32_t zp)
{
    float v = x * inv_scale;
    const float lo = (float)(-zp), hi = (float)(255 - zp);
    v = v > lo ? v : lo;      /* NaN -> lo: code 0 */
    v = v < hi ? v : hi;
    const float r = (v + CX_Q8_MAGIC) - CX_Q8_MAGIC;
    return (uint8_t)((int32_t)r + zp);
}

/* one element of dqadd (the scalar kernel, and the SIMD kernels' tails) */
static inline uint8_t cx_q8_dqadd1(uint8_t a, uint8_t b, const cx_q8_dq_params *p)
{
    const float va = (float)((int32_t)a - p->a_zp) * p->a_scale;
    const float vb = (float)((int32_t)b - p->b_zp) * p->b_scale;
    float v = va + vb;
    v = p->lo > v ? p->lo : v;
    return cx_q8_quantize1(v, p->inv_y, p->y_zp);
}

/* one element of dqavg at channel c */
static inline uint8_t cx_q8_dqavg1(size_t ks, const uint8_t *const *in, size_t c, const cx_q8_dq_params *p)
{
    float acc = 0.0f;
    for (size_t t = 0; t < ks; t++) acc = acc + (float)((int32_t)in[t][c] - p->a_zp) * p->a_scale;
    return cx_q8_quantize1(acc * p->inv_n, p->inv_y, p->y_zp);
}

/* ----------------------------------------------------------------- tables */
typedef struct cx_q8_kernels {
    const char *name;            /* "scalar", "avx2", "avx2exact", "avx512", "avx512vnni" */
    struct {
        cx_qu8_igemm_fn igemm;   /* full MR-row kernel; handles any mr <= MR */
        uint32_t mr, nr, kr;     /* kr = CX_Q8_KR */
    } gemm;
    int32_t wmax;                /* GEMM weights must satisfy |w| <= wmax (64 or 127) */
    cx_q8_dwconv_fn dwconv;
    cx_u8_maxpool_fn maxpool;
    cx_q8_avgpool_fn avgpool;
    cx_q8_gavgpool_fn gavgpool;
    cx_q8_gavgpool_f32_fn gavgpool_f32;
    cx_q8_dqadd_fn dqadd;
    cx_q8_dqavg_fn dqavg;
    /* NC of the int8 igemm driver: packed bytes of one column block, kept in
     * L2 while the row tiles stream past, for a per-core L2 of l2_kib
     * (rescaled to this CPU's by cx_q8_block_kib, as the f32 blocking is) */
    uint32_t l2_kib, conv_block_kib;
} cx_q8_kernels;

extern const cx_q8_kernels cx_q8_kernels_scalar;
extern const cx_q8_kernels cx_q8_kernels_avx2;       /* vpmaddubsw, 7-bit weights */
extern const cx_q8_kernels cx_q8_kernels_avx2exact;  /* vpmaddwd, full s8 weights, slower */
extern const cx_q8_kernels cx_q8_kernels_avx512;     /* AVX-512BW vpmaddubsw, 7-bit weights */
extern const cx_q8_kernels cx_q8_kernels_avx512vnni; /* vpdpbusd, full s8 weights */

/* Whether this CPU (and build) can run a table. */
int cx_q8_kernels_available(const cx_q8_kernels *k);
/* The table's column block for this CPU's L2 (CORTEX_L2_KIB, else CPUID;
 * see cx_kernels_blocking), in KiB; *source may be NULL. */
uint32_t cx_q8_block_kib(const cx_q8_kernels *k, const char **source);
/* The best q8 table at or below the ISA level of an f32 table (so CORTEX_ISA
 * steers both): scalar -> scalar, avx2 -> avx2, avx512 -> avx512vnni when the
 * CPU has VNNI, else avx512. NULL f32 table: the best this CPU runs. */
const cx_q8_kernels *cx_q8_kernels_for(const cx_kernels *f32);
/* By name ("scalar", "avx2", "avx2exact", "avx512", "avx512vnni"; NULL or "auto": best);
 * NULL if unknown or not available. */
const cx_q8_kernels *cx_q8_kernels_by_name(const char *name);

/* ---------------------------------------------------------------- packing */
static inline size_t cx_q8_kc4(size_t kc) { return (kc + 3) & ~(size_t)3; }
/* bytes of one NR-column panel */
static inline size_t cx_q8_gemm_panel_bytes(size_t kc, size_t ks, size_t nr)
{
    return nr * (8 + ks * cx_q8_kc4(kc));
}
size_t cx_q8_gemm_packed_size(size_t n, size_t kc, size_t ks, size_t nr);
/* w: (n, ks, kc) s8 row-major (column j, tap t, channel k), bias: n int32 or
 * NULL, scale: n floats (a_scale*w_scale[j]/y_scale). Weights are clamped to
 * [-wmax, wmax]; returns the number clamped (0: exact). */
size_t cx_q8_gemm_pack_weights(size_t n, size_t kc, size_t ks, size_t nr, int32_t wmax,
                               const int8_t *w, const int32_t *bias, const float *scale,
                               uint8_t a_zp, void *out);

/* Packed depthwise weights: bias', scales and tap-major weights (the layout
 * above), then for the VNNI kernel the same weights of every whole block of
 * 64 channels again, per group of 4 taps, as 4 vectors of 64 bytes: byte q of
 * dword i of 128-bit lane k of vector j is w[tap 4g + q][channel 64b + 16k +
 * 4j + i] (0 past the last tap), the order vpunpck{l,h}bw + vpunpck{l,h}wd
 * give four taps' activations. */
static inline size_t cx_q8_dwconv_vnni_offset(size_t channels, size_t ks) { return channels * (8 + ks); }
static inline size_t cx_q8_dwconv_packed_size(size_t channels, size_t ks)
{
    return channels * (8 + ks) + channels / 64 * ((ks + 3) / 4) * 256;
}
/* w: (channels, ks) s8 (PyTorch depthwise order), bias: channels int32 or NULL. */
void cx_q8_dwconv_pack_weights(size_t channels, size_t ks, const int8_t *w, const int32_t *bias,
                               const float *scale, uint8_t a_zp, void *out);

/* ---------------------------------------------------------- scalar kernels */
void cx_qu8_igemm_ukernel_4x8c4__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                        const uint8_t *const *a, const void *w,
                                        uint8_t *c, size_t c_stride, const cx_q8_params *p);
void cx_q8_dwconv_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                  const void *w, uint8_t *out, const cx_q8_params *p);
void cx_u8_maxpool_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                   uint8_t *out, uint8_t ymin, uint8_t ymax);
void cx_q8_avgpool_ukernel__scalar(size_t channels, size_t ks, const uint8_t *const *in,
                                   uint8_t *out, const cx_q8_pool_params *p);
void cx_q8_gavgpool_ukernel__scalar(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                    uint8_t *out, const cx_q8_pool_params *p);
void cx_q8_gavgpool_f32_ukernel__scalar(size_t rows, size_t channels, size_t stride, const uint8_t *in,
                                        float *out, const cx_q8_pool_params *p);
void cx_q8_dwconv_ukernel__avx512vnni(size_t channels, size_t ks, const uint8_t *const *in, const void *w,
                                      uint8_t *out, const cx_q8_params *p);
void cx_u8_maxpool_ukernel__avx2(size_t channels, size_t ks, const uint8_t *const *in, uint8_t *out, uint8_t ymin,
                                 uint8_t ymax);
void cx_u8_maxpool_ukernel__avx512(size_t channels, size_t ks, const uint8_t *const *in, uint8_t *out, uint8_t ymin,
                                   uint8_t ymax);
void cx_q8_dqadd_ukernel__scalar(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p);
void cx_q8_dqavg_ukernel__scalar(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p);
void cx_q8_dqadd_ukernel__avx2(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p);
void cx_q8_dqavg_ukernel__avx2(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p);
void cx_q8_dqadd_ukernel__avx512(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p);
void cx_q8_dqavg_ukernel__avx512(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p);

/* SIMD kernels (defined in src/kernels/avx2/, src/kernels/avx512/) */
void cx_qu8_igemm_ukernel_4x16c4__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                                       const uint8_t *const *a, const void *w,
                                       uint8_t *c, size_t c_stride, const cx_q8_params *p);
void cx_qu8_igemm_ukernel_4x8c4__avx2exact(size_t mr, size_t nc, size_t kc, size_t ks,
                                           const uint8_t *const *a, const void *w,
                                           uint8_t *c, size_t c_stride, const cx_q8_params *p);
void cx_q8_dwconv_ukernel__avx2(size_t channels, size_t ks, const uint8_t *const *in,
                                const void *w, uint8_t *out, const cx_q8_params *p);
void cx_qu8_igemm_ukernel_8x32c4__avx512bw(size_t mr, size_t nc, size_t kc, size_t ks,
                                           const uint8_t *const *a, const void *w,
                                           uint8_t *c, size_t c_stride, const cx_q8_params *p);
void cx_qu8_igemm_ukernel_8x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, size_t ks,
                                             const uint8_t *const *a, const void *w,
                                             uint8_t *c, size_t c_stride, const cx_q8_params *p);
void cx_q8_dwconv_ukernel__avx512(size_t channels, size_t ks, const uint8_t *const *in,
                                  const void *w, uint8_t *out, const cx_q8_params *p);

#endif
