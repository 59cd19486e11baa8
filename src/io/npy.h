/* Strict .npy (NumPy format 1.0/2.0/3.0) reader and writer for float32 arrays:
 * dtype '<f4' only, C order only, header bounded, data size checked against
 * the shape. */
#ifndef CX_NPY_H
#define CX_NPY_H
#include "runtime/common.h"

typedef struct cx_npy {
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t numel;
    float *data;            /* cx_alloc'd, owned */
} cx_npy;

cortex_status cx_npy_read_file(const char *path, cx_npy *out, char *err, size_t errlen);
cortex_status cx_npy_read_memory(const void *buf, size_t size, cx_npy *out, char *err, size_t errlen);
cortex_status cx_npy_write_file(const char *path, const float *data, int ndim, const int64_t *shape,
                                char *err, size_t errlen);
void cx_npy_free(cx_npy *a);
#endif
