/* Post-training static int8 quantization (docs/int8.md): calibration of
 * activation ranges on an fp32 model, per-channel symmetric weight
 * quantization, and the int8 .ctx writer behind `cortex-convert --int8`. */
#ifndef CX_QUANTIZE_H
#define CX_QUANTIZE_H
#include <stdio.h>
#include "io/ctx.h"
#include "runtime/common.h"

typedef enum cx_calib_method { CX_CALIB_MINMAX = 0, CX_CALIB_PERCENTILE = 1, CX_CALIB_MSE = 2 } cx_calib_method;

/* The default method and percentile (chosen by measured SQNR, docs/int8.md). */
#define CX_CALIB_DEFAULT CX_CALIB_MSE
#define CX_CALIB_DEFAULT_PERCENTILE 99.99

/* "minmax", "percentile", "percentile:P", "mse" -> method (+ percentile);
 * 0 ok, -1 unknown. */
int cx_calib_method_parse(const char *s, cx_calib_method *m, double *percentile);

typedef struct cx_quant_opts {
    cx_calib_method method;
    double percentile;        /* PERCENTILE: e.g. 99.99 (0 < p <= 100) */
    int batch;                /* images per calibration run; <= 0: 4 */
    int threads;              /* calibration threads; <= 0: one per CPU */
    bool fp32_stem;           /* keep the first conv fp32 (default: int8 too, measured faster; docs/int8.md) */
    bool no_bias_correction;  /* keep the float bias as is (default: absorb the mean shift of weight rounding) */
    FILE *progress;           /* progress lines (NULL: silent) */
} cx_quant_opts;

/* Default options (method CX_CALIB_DEFAULT). */
cx_quant_opts cx_quant_opts_default(void);

/* ---- histogram of one tensor's values (exposed for the tests)
 * Two-sided, 2*CX_HIST_HALF bins of width w (a power of two) centred on 0;
 * when a larger value arrives, w doubles and pairs of bins merge (exactly).
 * Exact zeros are counted apart (they quantize without error). */
#define CX_HIST_HALF 2048
typedef struct cx_hist {
    double *bins;             /* 2*CX_HIST_HALF counts; bin i covers [(i-H)*w, (i-H+1)*w) */
    double w;                 /* 0 until the first nonzero value */
    double zeros, count;      /* exact zeros; all values */
    float min, max;
} cx_hist;
cortex_status cx_hist_init(cx_hist *h);
void cx_hist_free(cx_hist *h);
void cx_hist_add(cx_hist *h, const float *x, size_t n);
/* The range [lo, hi] (lo <= 0 <= hi) the method picks; nonneg forces lo = 0. */
void cx_hist_range(const cx_hist *h, cx_calib_method m, double percentile, bool nonneg, double *lo, double *hi);
/* Expected squared quantization error per value of [lo, hi] over the histogram. */
double cx_hist_mse(const cx_hist *h, double lo, double hi);
/* u8 (scale, zp) of a range: scale = (hi-lo)/255, zp = rint(-lo/scale) in 0..255. */
void cx_qparams(double lo, double hi, float *scale, int32_t *zp);

/* Per output channel symmetric: scale[o] = max|w[o]|/127, q = rint(w/scale). */
void cx_quantize_weights(const float *w, size_t cout, size_t per, int8_t *q, float *scale);

/* Calibrates the fp32 model in f32ctx on calib (C-order float32 of shape,
 * rank 4 or 5, N images) and writes the int8 model into *out (a writer the
 * caller frees). Error text is prefixed by calib_name where it concerns the
 * calibration data. */
cortex_status cx_quantize_ctx(const cx_ctx_file *f32ctx, const float *calib, const int64_t *shape, int rank,
                              const char *calib_name, const cx_quant_opts *o, cx_ctx_writer **out,
                              char *err, size_t errlen);
/* Same from / to memory (cortex-bench, tests): *data is malloc'd. */
cortex_status cx_quantize_memory(const void *f32ctx, size_t size, const float *calib, const int64_t *shape,
                                 int rank, const cx_quant_opts *o, void **data, size_t *out_size,
                                 char *err, size_t errlen);
#endif
