/* The conversion pipeline behind cortex-convert: PyTorch checkpoint -> .ctx. */
#ifndef CX_CONVERT_H
#define CX_CONVERT_H
#include <stdio.h>
#include "runtime/common.h"

typedef struct cx_convert_opts {
    const char *arch;
    double alpha;              /* octave nets; < 0: arch default */
    const char *labels_path;   /* one class name per line, or NULL */
    FILE *progress;            /* progress lines go here (NULL: silent) */
} cx_convert_opts;

/* Reads src (.pth), folds BN, validates every key against the arch, writes dst.
 * Errors name the file concerned: "<file>: <problem>". */
cortex_status cx_convert_pth(const char *src, const char *dst, const cx_convert_opts *o,
                             char *err, size_t errlen);
/* Same, into memory (for tests and in-process calibration); *data is malloc'd. */
cortex_status cx_convert_pth_to_memory(const char *src, const cx_convert_opts *o, void **data,
                                       size_t *size, char *err, size_t errlen);
/* From a state_dict already in memory (synthetic weights, tests). */
cortex_status cx_convert_tdict_to_memory(const cx_tdict *sd, const cx_convert_opts *o, void **data,
                                         size_t *size, char *err, size_t errlen);
#endif
