/* The network as the runtime runs it: a list of nodes in execution order over
 * numbered values (activation tensors). Values carry only their channel count;
 * spatial sizes are resolved per input shape by the planner (plan.c), so any
 * H, W (and T) runs. */
#ifndef CX_GRAPH_H
#define CX_GRAPH_H
#include "layers/layers.h"

typedef enum cx_opkind {
    CX_OP_CONV,      /* in, optional residual in2 */
    CX_OP_MAXPOOL,
    CX_OP_AVGPOOL,
    CX_OP_GAP,       /* global average pool to 1x1x1 */
    CX_OP_ADD        /* in + in2, optional ReLU */
} cx_opkind;

typedef struct cx_node {
    cx_opkind op;
    char *name;          /* module name, e.g. "layer1.0.conv1" */
    int in, in2, out;    /* value ids; in2 = -1 when unused */
    bool relu;           /* ADD */
    cx_conv conv;
    cx_pool_desc pool;
} cx_node;

typedef struct cx_graph {
    cx_node *nodes;
    int n_nodes, cap_nodes;
    int *val_c;          /* channels of each value */
    int n_vals, cap_vals;
    int input, output;   /* value ids */
    int spatial;         /* 2 (NCHW input) or 3 (NCTHW) */
} cx_graph;

int cx_graph_add_value(cx_graph *g, int channels);          /* -1 on OOM */
cx_node *cx_graph_add_node(cx_graph *g, cx_opkind op, const char *name); /* NULL on OOM */
void cx_graph_free(cx_graph *g);
#endif
