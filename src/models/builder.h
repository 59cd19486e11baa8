/* The graph builder that architecture code (resnet.c, ...) talks to.
 *
 * One arch description serves two jobs:
 *  - CONVERT (cortex-convert): tensors come from a PyTorch state_dict; each
 *    conv's BatchNorm is folded into its weight and bias (in double, with the
 *    arch's BN eps) and written to a .ctx writer under the conv's name.
 *  - LOAD (cortex_model_load): folded tensors come from a .ctx file; each conv
 *    is created (weights packed for the kernel table) and added to the graph.
 * Either way the builder checks every tensor's presence and shape, infers
 * widths and groups from shapes, and at the end reports keys nobody used.
 * After the first error every call is a no-op returning -1: arch code need not
 * check each step. */
#ifndef CX_BUILDER_H
#define CX_BUILDER_H
#include "io/ctx.h"
#include "runtime/graph.h"

typedef enum cx_build_mode { CX_BUILD_CONVERT, CX_BUILD_LOAD } cx_build_mode;

typedef struct cx_builder {
    cx_build_mode mode;
    const cx_tdict *sd;          /* CONVERT: source state_dict */
    cx_ctx_writer *w;            /* CONVERT: destination */
    const cx_ctx_file *ctx;      /* LOAD: source */
    const cx_kernels *kt;        /* LOAD: kernel table to pack for */
    cx_graph *g;
    bool *used;                  /* per source tensor */
    double bn_eps;               /* set by the arch before its convs (default 1e-5) */
    cortex_status st;
    char err[512];
    uint64_t params;             /* learned parameters after folding */
    void (*progress)(void *ctx, int done);  /* called after each conv, may be NULL */
    void *progress_ctx;
    int convs_done;
} cx_builder;

void cx_builder_init(cx_builder *b, cx_build_mode mode, cx_graph *g);
/* Records the first error; returns -1 so arch code can `return cx_b_fail(...)`. */
int cx_b_fail(cx_builder *b, cortex_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool cx_b_ok(const cx_builder *b);
/* Whether the source has a tensor of this name (e.g. optional downsample). */
bool cx_b_has(const cx_builder *b, const char *name);

int cx_b_input(cx_builder *b, int channels);
/* Conv (weight "<conv>.weight", kernel k[3] in d,h,w) + optional BN "<bn>"
 * (NULL: the conv has its own bias or none) + optional residual value (-1
 * none) added before the optional ReLU. Output channels and groups come from
 * the weight's shape. For a 2-D net k[0] = 1 and the weight is 4-D. */
int cx_b_conv(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
              const int stride[3], const int pad[3], int residual, bool relu);
int cx_b_maxpool(cx_builder *b, int x, const char *name, const int k[3], const int s[3],
                 const int p[3], bool ceil_mode);
int cx_b_gap(cx_builder *b, int x, const char *name);
/* Linear layer "<name>.weight" (classes, C) + "<name>.bias" on a GAP output. */
int cx_b_fc(cx_builder *b, int x, const char *name);
int cx_b_add(cx_builder *b, int x, int y, const char *name, bool relu);
/* Finishes: sets the graph output and fails on source tensors never used. */
cortex_status cx_b_finish(cx_builder *b, int output);
void cx_builder_free(cx_builder *b);
#endif
