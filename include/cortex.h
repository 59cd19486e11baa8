/*
 * libcortex — CNN inference in C.
 *
 * One public header. Link with libcortex.a -lpthread -lm.
 *
 * Objects and their lifetimes
 *   cortex_model    a loaded .ctx model: weights packed for this CPU at load.
 *                   Immutable after cortex_model_load*; any number of threads may
 *                   use one model at once (each through its own session).
 *   cortex_session  per-thread state: the activation arena planned for an input
 *                   shape, scratch buffers and the last error text. A session is
 *                   used by one thread at a time; make one per thread.
 *   cortex_pool     a thread pool. Either the library's (persistent pthread
 *                   workers) or the caller's (a parallel-for callback). A pool may
 *                   be shared by several sessions, but runs one job at a time:
 *                   concurrent cortex_run calls on one pool take turns.
 *
 * Tensors cross the API as dense float32 arrays in C order, laid out as PyTorch
 * lays them: (N, C, H, W) for image models, (N, C, T, H, W) for video models; the
 * output is (N, classes) logits. Layout conversion happens inside cortex_run.
 *
 * Errors: every function returns a cortex_status. Detail text goes to the object
 * concerned (cortex_model_error, cortex_session_error); there is no global error
 * string. Functions that create objects and fail write detail into the caller's
 * buffer (err, errlen; both may be NULL/0).
 */
#ifndef CORTEX_H
#define CORTEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORTEX_VERSION_MAJOR 0
#define CORTEX_VERSION_MINOR 1
#define CORTEX_MAX_DIMS 8

typedef enum cortex_status {
    CORTEX_OK = 0,
    CORTEX_ERR_INVALID_ARG = 1,  /* a NULL where an object was needed, a bad option */
    CORTEX_ERR_IO = 2,           /* open/read/write/mmap failed (errno text in detail) */
    CORTEX_ERR_FORMAT = 3,       /* the file is not of the expected format at all */
    CORTEX_ERR_CORRUPT = 4,      /* right format, but truncated, inconsistent or checksum mismatch */
    CORTEX_ERR_UNSUPPORTED = 5,  /* valid but beyond this build: unknown arch, dtype, version */
    CORTEX_ERR_SHAPE = 6,        /* an input or weight shape does not fit the model */
    CORTEX_ERR_NOMEM = 7,        /* an allocation failed or a size overflowed */
    CORTEX_ERR_INTERNAL = 8      /* a bug: please report with the detail text */
} cortex_status;

/* Static English name of a status ("ok", "corrupt file", ...). Never NULL. */
const char *cortex_status_str(cortex_status s);

typedef struct cortex_model cortex_model;
typedef struct cortex_session cortex_session;
typedef struct cortex_pool cortex_pool;

/* ------------------------------------------------------------------ thread pools */

/* Creates the library's pool: nthreads-1 persistent workers plus the calling
 * thread (nthreads <= 0 means one per online CPU). The workers sleep between
 * jobs. Errors: CORTEX_ERR_NOMEM, CORTEX_ERR_INTERNAL (pthread_create failed). */
cortex_status cortex_pool_create(int nthreads, cortex_pool **out);

/* A caller-owned pool. parallel_for(ctx, task, task_arg, n) must call
 * task(task_arg, i, worker) exactly once for every i in [0, n), with worker in
 * [0, nthreads), no two concurrent calls sharing a worker index, and return
 * only when all calls have returned. The library calls it from the thread that
 * called cortex_run. ctx is the caller's and outlives the pool object. */
typedef void (*cortex_task_fn)(void *task_arg, size_t i, int worker);
typedef struct cortex_pool_ops {
    int nthreads;
    void *ctx;
    void (*parallel_for)(void *ctx, cortex_task_fn task, void *task_arg, size_t n);
} cortex_pool_ops;
cortex_status cortex_pool_create_custom(const cortex_pool_ops *ops, cortex_pool **out);

/* Number of threads that run jobs (>= 1). NULL pool: 1. */
int cortex_pool_threads(const cortex_pool *pool);

/* Stops and joins the workers. The pool must be idle. NULL is a no-op. */
void cortex_pool_destroy(cortex_pool *pool);

/* ------------------------------------------------------------------ models */

typedef struct cortex_load_options {
    /* "auto" (NULL) picks by CPUID; "scalar", "avx2", "avx512" force a kernel
     * table. The environment variable CORTEX_ISA overrides "auto". Forcing an
     * ISA the CPU lacks fails with CORTEX_ERR_UNSUPPORTED. */
    const char *isa;
} cortex_load_options;

/* Loads a .ctx file: the file is mmap'd, every field validated, checksums
 * verified, and weights packed for the selected kernels. opts may be NULL.
 * On failure *out is NULL and err holds "<path>: <what is wrong>".
 * Thread-safe (no shared state). */
cortex_status cortex_model_load(const char *path, const cortex_load_options *opts,
                                cortex_model **out, char *err, size_t errlen);

/* As cortex_model_load, from a caller's buffer; the buffer is only read during
 * the call (weights are copied/packed), so it may be freed afterwards. */
cortex_status cortex_model_load_memory(const void *data, size_t size,
                                       const cortex_load_options *opts,
                                       cortex_model **out, char *err, size_t errlen);

/* Frees a model. No session of it may be alive. NULL is a no-op. */
void cortex_model_free(cortex_model *model);

/* Read-only queries; safe from any thread. Strings live as long as the model. */
const char *cortex_model_arch(const cortex_model *model);     /* "resnet50", ... */
const char *cortex_model_isa(const cortex_model *model);      /* "avx2", ... */
const char *cortex_model_dtype(const cortex_model *model);    /* "float32" or "int8" */
int cortex_model_num_classes(const cortex_model *model);
int cortex_model_input_rank(const cortex_model *model);       /* 4 (NCHW) or 5 (NCTHW) */
/* Label of class i, or NULL when the model carries no labels or i is out of range. */
const char *cortex_model_label(const cortex_model *model, int i);
/* Number of learned parameters (after BN folding: conv/fc weights and biases). */
uint64_t cortex_model_param_count(const cortex_model *model);
/* Multiply-accumulates for one input of the given shape (rank 4 or 5, N counted). */
cortex_status cortex_model_macs(const cortex_model *model, const int64_t *shape, int rank,
                                uint64_t *macs);
/* Detail text of the last failed call that took this model (load excepted). */
const char *cortex_model_error(const cortex_model *model);

/* ------------------------------------------------------------------ sessions */

/* A session runs one model from one thread at a time. Cheap to create: the
 * activation arena is planned and allocated on the first run of each input
 * shape and kept for the next run of the same shape. */
cortex_status cortex_session_create(const cortex_model *model, cortex_session **out);
void cortex_session_free(cortex_session *s);

/* Output shape (N, classes) for an input shape; out_shape has room for
 * CORTEX_MAX_DIMS. Errors: CORTEX_ERR_SHAPE (rank, channels, too small). */
cortex_status cortex_session_output_shape(cortex_session *s, const int64_t *in_shape,
                                          int in_rank, int64_t *out_shape, int *out_rank);

/* Runs the model. input: float32 C order of in_shape; output: room for
 * N*classes floats. pool may be NULL (run on the calling thread).
 * Errors: CORTEX_ERR_SHAPE, CORTEX_ERR_NOMEM, CORTEX_ERR_INVALID_ARG. */
cortex_status cortex_run(cortex_session *s, const float *input, const int64_t *in_shape,
                         int in_rank, float *output, size_t output_len, cortex_pool *pool);

/* Introspection of the plan for the last input shape run or shaped. */
typedef struct cortex_plan_info {
    size_t arena_bytes;      /* peak activation memory the planner reserved */
    size_t naive_bytes;      /* sum of all activation sizes (no reuse), for comparison */
    size_t scratch_bytes;    /* per-thread scratch (im2col tiles, indirection) */
    int num_layers;          /* graph nodes */
} cortex_plan_info;
cortex_status cortex_session_plan_info(const cortex_session *s, cortex_plan_info *info);

/* Shape of a named intermediate (node output) for the last planned input, e.g.
 * "layer1.0.conv1"; NCHW / NCTHW order. CORTEX_ERR_INVALID_ARG for an unknown name. */
cortex_status cortex_session_tensor_shape(const cortex_session *s, const char *name,
                                          int64_t *shape, int *rank);

const char *cortex_session_error(const cortex_session *s);

#ifdef __cplusplus
}
#endif
#endif
