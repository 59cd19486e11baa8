#define _POSIX_C_SOURCE 200809L
#include "runtime/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cortex_status cx_errf(char *err, size_t errlen, cortex_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

void *cx_alloc(size_t size)
{
    void *p = NULL;
    if (size == 0) size = CX_ALIGN;
    /* round up so vector tails may read a full cache line without crossing into unmapped memory */
    if (size > SIZE_MAX - CX_ALIGN) return NULL;
    size = CX_ROUND_UP(size, CX_ALIGN);
    if (posix_memalign(&p, CX_ALIGN, size) != 0) return NULL;
    return p;
}

void *cx_calloc(size_t size)
{
    void *p = cx_alloc(size);
    if (p) memset(p, 0, CX_ROUND_UP(size ? size : 1, CX_ALIGN));
    return p;
}

void cx_free(void *p) { free(p); }

char *cx_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *r = malloc(n);
    if (r) memcpy(r, s, n);
    return r;
}

size_t cx_dtype_size(cx_dtype t)
{
    switch (t) {
    case CX_F32: case CX_I32: return 4;
    case CX_F16: case CX_BF16: return 2;
    case CX_F64: case CX_I64: return 8;
    case CX_I8: case CX_U8: return 1;
    }
    return 0;
}

const char *cx_dtype_name(cx_dtype t)
{
    switch (t) {
    case CX_F32: return "float32";
    case CX_F16: return "float16";
    case CX_BF16: return "bfloat16";
    case CX_F64: return "float64";
    case CX_I8: return "int8";
    case CX_U8: return "uint8";
    case CX_I32: return "int32";
    case CX_I64: return "int64";
    }
    return "?";
}

cortex_status cx_tdict_add(cx_tdict *d, const char *name, int ndim, const int64_t *shape, float *data)
{
    if (ndim < 0 || ndim > CORTEX_MAX_DIMS) return CORTEX_ERR_INVALID_ARG;
    if (d->count == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        cx_ftensor *ni = realloc(d->items, nc * sizeof *ni);
        if (!ni) return CORTEX_ERR_NOMEM;
        d->items = ni;
        d->cap = nc;
    }
    cx_ftensor *t = &d->items[d->count];
    memset(t, 0, sizeof *t);
    t->name = cx_strdup(name);
    if (!t->name) return CORTEX_ERR_NOMEM;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->data = data;
    d->count++;
    return CORTEX_OK;
}

const cx_ftensor *cx_tdict_find(const cx_tdict *d, const char *name)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, name) == 0) return &d->items[i];
    return NULL;
}

void cx_tdict_free(cx_tdict *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->items[i].name);
        cx_free(d->items[i].data);
    }
    free(d->items);
    d->items = NULL;
    d->count = d->cap = 0;
}

float cx_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float cx_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double cx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
