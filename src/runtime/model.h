/* Internal definition of cortex_model. */
#ifndef CX_MODEL_H
#define CX_MODEL_H
#include "io/ctx.h"
#include "models/models.h"
#include "runtime/graph.h"

struct cortex_model {
    cx_graph g;
    const cx_arch *arch;
    const cx_kernels *kt;
    const cx_q8_kernels *qk;  /* int8 models: the q8 table (cx_q8_kernels_for(kt) unless forced) */
    char *dtype;              /* "float32" or "int8" */
    int num_classes;
    char **labels;        /* num_classes entries or NULL */
    uint64_t params;
    int wbits;            /* int8: 8, or 7 when the q8 table's wmax forced 7-bit GEMM weights */
    char err[512];
};

/* Builds a model from an open .ctx (tensors are packed; f may be closed after). */
cortex_status cx_model_from_ctx(const cx_ctx_file *f, const cortex_load_options *opts,
                                cortex_model **out, char *err, size_t errlen);
/* Same, with the int8 kernel table forced (tests, benchmarks): qk NULL picks
 * cx_q8_kernels_for(the f32 table). */
cortex_status cx_model_from_ctx_q8(const cx_ctx_file *f, const cortex_load_options *opts,
                                   const cx_q8_kernels *qk, cortex_model **out, char *err, size_t errlen);
/* From a .ctx in memory, with the q8 table forced (NULL: default). */
cortex_status cx_model_load_memory_q8(const void *data, size_t size, const cortex_load_options *opts,
                                      const cx_q8_kernels *qk, cortex_model **out, char *err, size_t errlen);

/* Per-value dims for an input shape (NCHW / NCTHW); dims has g.n_vals entries. */
cortex_status cx_model_shapes(const cortex_model *m, const int64_t *shape, int rank, cx_dims *dims,
                              char *err, size_t errlen);
/* Profiling hook for cortex-bench: when set, each run adds every node's wall
 * time to per_node_seconds[node] (g.n_nodes entries). NULL turns it off. */
void cx_session_set_profile(cortex_session *s, double *per_node_seconds);

/* Observer hook (calibration): after node i of each run, fn gets the node and
 * its input and output: dims (NDHWC) and data (float * for f32 values,
 * uint8_t * for u8). The input is still intact (its memory is reused only by
 * later nodes). Runs on the thread that called cortex_run. NULL: off. */
typedef struct cx_node_io {
    cx_dims in, out;
    const void *x, *y;
} cx_node_io;
typedef void (*cx_node_observer)(void *ctx, int node_index, const cx_node *node, const cx_node_io *io);
void cx_session_set_observer(cortex_session *s, cx_node_observer fn, void *ctx);
#endif
