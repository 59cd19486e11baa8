/* Internal helpers shared by every part of libcortex: errors, aligned memory,
 * checked size arithmetic. Not part of the public API. */
#ifndef CX_COMMON_H
#define CX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include "cortex.h"

#define CX_ALIGN 64
#define CX_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CX_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CX_DIV_UP(a, b) (((a) + (b) - 1) / (b))
#define CX_ROUND_UP(a, b) (CX_DIV_UP(a, b) * (b))

/* Error sink: a caller-provided buffer (may be NULL/0). cx_errf formats into it
 * and returns the status so call sites read `return cx_errf(err, n, CORTEX_ERR_X, "...")`. */
cortex_status cx_errf(char *err, size_t errlen, cortex_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 64-byte aligned allocation (posix_memalign); NULL on failure or size 0 overflow. */
void *cx_alloc(size_t size);
void *cx_calloc(size_t size);
void cx_free(void *p);

/* Checked arithmetic: false on overflow. */
static inline bool cx_mul_ok(size_t a, size_t b, size_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool cx_add_ok(size_t a, size_t b, size_t *r) { return !__builtin_add_overflow(a, b, r); }

/* strdup that returns NULL on NULL */
char *cx_strdup(const char *s);

/* Element types of stored tensors. Values are on-disk codes in .ctx (keep stable). */
typedef enum cx_dtype {
    CX_F32 = 0, CX_F16 = 1, CX_BF16 = 2, CX_F64 = 3,
    CX_I8 = 4, CX_U8 = 5, CX_I32 = 6, CX_I64 = 7
} cx_dtype;
size_t cx_dtype_size(cx_dtype t);       /* 0 for an unknown code */
const char *cx_dtype_name(cx_dtype t);  /* "float32", ...; "?" for unknown */

/* A named, contiguous float32 tensor owned by a cx_tdict. */
typedef struct cx_ftensor {
    char *name;
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t numel;
    float *data;
} cx_ftensor;

/* A dictionary of float32 tensors: what a PyTorch state_dict becomes once read. */
typedef struct cx_tdict {
    cx_ftensor *items;
    size_t count, cap;
} cx_tdict;

/* Appends a tensor (copies name; takes ownership of data, allocated with cx_alloc). */
cortex_status cx_tdict_add(cx_tdict *d, const char *name, int ndim, const int64_t *shape, float *data);
const cx_ftensor *cx_tdict_find(const cx_tdict *d, const char *name);
void cx_tdict_free(cx_tdict *d);

/* float16 / bfloat16 -> float32 */
float cx_f16_to_f32(uint16_t h);
float cx_bf16_to_f32(uint16_t b);

/* Monotonic seconds, for progress and benchmarks. */
double cx_now(void);

#endif
