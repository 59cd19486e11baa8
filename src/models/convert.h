/* The conversion pipeline behind cortex-convert: PyTorch checkpoint -> .ctx. */
#ifndef CX_CONVERT_H
#define CX_CONVERT_H
#include <stdio.h>
#include "models/quantize.h"
#include "runtime/common.h"

typedef struct cx_convert_opts {
    const char *arch;
    double alpha;              /* octave nets; < 0: arch default */
    const char *labels_path;   /* one class name per line, or NULL */
    FILE *progress;            /* progress lines go here (NULL: silent) */
    /* int8 (cx_convert_int8): calibration data and options */
    const char *calib_path;    /* float32 .npy, (N,3,H,W) or (N,3,T,H,W) */
    cx_quant_opts quant;       /* method, percentile, batch, threads; progress is taken from above */
} cx_convert_opts;

/* Reads src (.pth), folds BN, validates every key against the arch, writes dst.
 * Errors name the file concerned: "<file>: <problem>". */
cortex_status cx_convert_pth(const char *src, const char *dst, const cx_convert_opts *o,
                             char *err, size_t errlen);
/* Same, into memory (for tests and in-process calibration); *data is malloc'd. */
cortex_status cx_convert_pth_to_memory(const char *src, const cx_convert_opts *o, void **data,
                                       size_t *size, char *err, size_t errlen);
/* int8: src is a .pth (o->arch required) or an fp32 .ctx (its arch is used;
 * o->arch, if set, must match). The fp32 model is calibrated on
 * o->calib_path and written quantized to dst (docs/int8.md). Errors name the
 * file concerned (the source, the calibration file or dst). */
cortex_status cx_convert_int8(const char *src, const char *dst, const cx_convert_opts *o, char *err, size_t errlen);
/* Same, into memory (*data malloc'd). */
cortex_status cx_convert_int8_to_memory(const char *src, const cx_convert_opts *o, void **data, size_t *size,
                                        char *err, size_t errlen);
/* Whether path starts with the .ctx magic (1), not (0), or cannot be read (-1). */
int cx_file_is_ctx(const char *path);

/* From a state_dict already in memory (synthetic weights, tests). */
cortex_status cx_convert_tdict_to_memory(const cx_tdict *sd, const cx_convert_opts *o, void **data,
                                         size_t *size, char *err, size_t errlen);
#endif
