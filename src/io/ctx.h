/* The .ctx weight file: reader (validating, mmap-able) and writer.
 * Layout, field by field, in docs/format.md. */
#ifndef CX_CTX_H
#define CX_CTX_H
#include "runtime/common.h"

typedef enum cx_meta_type {
    CX_META_I64 = 0, CX_META_F64 = 1, CX_META_STR = 2, CX_META_STR_ARRAY = 3, CX_META_F32_ARRAY = 4
} cx_meta_type;

/* "i64", "f64", "str", "str array", "f32 array"; "?" for another value */
const char *cx_meta_type_name(cx_meta_type t);

typedef struct cx_ctx_tensor {
    const char *name;
    cx_dtype dtype;
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t numel;
    const void *data;       /* points into the mapped file, 64-byte aligned */
    size_t nbytes;
} cx_ctx_tensor;

typedef struct cx_ctx_file cx_ctx_file;

/* Opens and fully validates a file (every field, bounds, overflow, dtype/shape
 * vs size, header checksum and every tensor's checksum). The file is mmap'd
 * read-only. Error text names the problem (the caller prefixes the path). */
cortex_status cx_ctx_open_file(const char *path, cx_ctx_file **out, char *err, size_t errlen);
/* Same over a caller buffer; the buffer must outlive the cx_ctx_file. */
cortex_status cx_ctx_open_memory(const void *data, size_t size, cx_ctx_file **out, char *err, size_t errlen);
void cx_ctx_close(cx_ctx_file *f);
/* cx_ctx_open_memory with flags. CX_CTX_SKIP_CHECKSUMS skips the header and
 * tensor checksums (every other check still runs): for fuzzing the parser
 * behind the checksum, never for loading models. */
#define CX_CTX_SKIP_CHECKSUMS 1u
cortex_status cx_ctx_open_memory_flags(const void *data, size_t size, unsigned flags, cx_ctx_file **out,
                                       char *err, size_t errlen);

/* Metadata lookups: NULL / non-OK when missing or of another type. */
const char *cx_ctx_get_str(const cx_ctx_file *f, const char *key);
cortex_status cx_ctx_get_i64(const cx_ctx_file *f, const char *key, int64_t *v);
cortex_status cx_ctx_get_f64(const cx_ctx_file *f, const char *key, double *v);
/* string array: count and i-th element (NUL-terminated, lives with f) */
cortex_status cx_ctx_get_str_array(const cx_ctx_file *f, const char *key, size_t *count, const char *const **items);
cortex_status cx_ctx_get_f32_array(const cx_ctx_file *f, const char *key, size_t *count, const float **items);
size_t cx_ctx_meta_count(const cx_ctx_file *f);
/* i-th metadata key and type, for `cortex info` */
const char *cx_ctx_meta_key(const cx_ctx_file *f, size_t i, cx_meta_type *type);

size_t cx_ctx_tensor_count(const cx_ctx_file *f);
const cx_ctx_tensor *cx_ctx_tensor_at(const cx_ctx_file *f, size_t i);
const cx_ctx_tensor *cx_ctx_find(const cx_ctx_file *f, const char *name);
uint32_t cx_ctx_version(const cx_ctx_file *f);
/* Tell the kernel the mapped weight pages are no longer needed (after packing). */
void cx_ctx_release_pages(cx_ctx_file *f);
/* Same for one tensor's whole pages (no-op for memory-opened files). Data stays
 * readable: a later access faults the pages back in from the file. */
void cx_ctx_release_tensor(const cx_ctx_file *f, const cx_ctx_tensor *t);

/* Writer: collects metadata and tensors (copied), then writes atomically
 * (temp file + rename). */
typedef struct cx_ctx_writer cx_ctx_writer;
cx_ctx_writer *cx_ctx_writer_new(void);
void cx_ctx_writer_free(cx_ctx_writer *w);
cortex_status cx_ctx_writer_set_i64(cx_ctx_writer *w, const char *key, int64_t v);
cortex_status cx_ctx_writer_set_f64(cx_ctx_writer *w, const char *key, double v);
cortex_status cx_ctx_writer_set_str(cx_ctx_writer *w, const char *key, const char *v);
cortex_status cx_ctx_writer_set_str_array(cx_ctx_writer *w, const char *key, size_t n, const char *const *v);
cortex_status cx_ctx_writer_set_f32_array(cx_ctx_writer *w, const char *key, size_t n, const float *v);
cortex_status cx_ctx_writer_add_tensor(cx_ctx_writer *w, const char *name, cx_dtype dtype,
                                       int ndim, const int64_t *shape, const void *data);
cortex_status cx_ctx_writer_save(cx_ctx_writer *w, const char *path, char *err, size_t errlen);
/* Serialises to a malloc'd buffer (free()), e.g. to load in-process. */
cortex_status cx_ctx_writer_to_memory(cx_ctx_writer *w, void **data, size_t *size, char *err, size_t errlen);
#endif
