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
    char *dtype;
    int num_classes;
    char **labels;        /* num_classes entries or NULL */
    uint64_t params;
    char err[512];
};

/* Builds a model from an open .ctx (tensors are packed; f may be closed after). */
cortex_status cx_model_from_ctx(const cx_ctx_file *f, const cortex_load_options *opts,
                                cortex_model **out, char *err, size_t errlen);

/* Per-value dims for an input shape (NCHW / NCTHW); dims has g.n_vals entries. */
cortex_status cx_model_shapes(const cortex_model *m, const int64_t *shape, int rank, cx_dims *dims,
                              char *err, size_t errlen);
/* Profiling hook for cortex-bench: when set, each run adds every node's wall
 * time to per_node_seconds[node] (g.n_nodes entries). NULL turns it off. */
void cx_session_set_profile(cortex_session *s, double *per_node_seconds);
#endif
