/* The network as the runtime runs it: a list of nodes in execution order over
 * numbered values (activation tensors). Values carry their channel count and
 * element type (f32, or u8 with a per-tensor scale and zero point); spatial
 * sizes are resolved per input shape by the planner (session.c), so any H, W
 * (and T) runs. An fp32 model has only f32 values; an int8 model (docs/int8.md)
 * mixes them: QUANTIZE / DEQUANTIZE nodes convert where a consumer needs the
 * other type. */
#ifndef CX_GRAPH_H
#define CX_GRAPH_H
#include "layers/layers.h"
#include "layers/qlayers.h"

typedef enum cx_opkind {
    CX_OP_CONV,      /* f32: in, optional residual in2 */
    CX_OP_MAXPOOL,
    CX_OP_AVGPOOL,
    CX_OP_GAP,       /* global average pool to 1x1x1 */
    CX_OP_ADD,       /* in + in2, optional ReLU */
    CX_OP_QUANTIZE,  /* f32 -> u8 with the output value's (scale, zp) */
    CX_OP_DEQUANTIZE,/* u8 -> f32 */
    CX_OP_QCONV,     /* u8 -> u8: in, optional u8 residual in2 (its own scale) */
    CX_OP_QMAXPOOL,  /* u8 -> u8, same (scale, zp) */
    CX_OP_QGAP_F32,  /* u8 -> f32 global average */
    CX_OP_UP2ADD,    /* f32: in + crop(nearest 2x upsample of in2) to in's size, optional ReLU */
    CX_OP_QUP2ADD,   /* u8: UP2ADD of in and in2 (each its own scale) requantized to out's */
    CX_OP_QAVGPOOL   /* u8 -> u8 average pooling requantized to out's (scale, zp) */
} cx_opkind;

/* Element type of a value. */
typedef enum cx_vtype { CX_V_F32 = 0, CX_V_U8 = 1 } cx_vtype;

/* Quantization of a value: real = scale * (q - zp). Unused for f32 values. */
typedef struct cx_vquant {
    cx_vtype type;
    float scale;
    int32_t zp;
} cx_vquant;

typedef struct cx_node {
    cx_opkind op;
    char *name;          /* module name, e.g. "layer1.0.conv1" */
    int in, in2, out;    /* value ids; in2 = -1 when unused */
    bool relu;           /* ADD, UP2ADD, QUP2ADD */
    cx_conv conv;        /* CONV */
    cx_qconv qconv;      /* QCONV */
    cx_pool_desc pool;   /* MAXPOOL, AVGPOOL, QMAXPOOL, QAVGPOOL */
} cx_node;

typedef struct cx_graph {
    cx_node *nodes;
    int n_nodes, cap_nodes;
    int *val_c;          /* channels of each value */
    cx_vquant *val_q;    /* element type and quantization of each value */
    int n_vals, cap_vals;
    int input, output;   /* value ids (both f32) */
    int spatial;         /* 2 (NCHW input) or 3 (NCTHW) */
} cx_graph;

int cx_graph_add_value(cx_graph *g, int channels);          /* f32 value; -1 on OOM */
/* A u8 value with its quantization; -1 on OOM. */
int cx_graph_add_qvalue(cx_graph *g, int channels, float scale, int32_t zp);
cx_node *cx_graph_add_node(cx_graph *g, cx_opkind op, const char *name); /* NULL on OOM */
void cx_graph_free(cx_graph *g);
/* Bytes of one element of value v (4 or 1). */
static inline size_t cx_graph_elem_size(const cx_graph *g, int v) { return g->val_q[v].type == CX_V_U8 ? 1 : 4; }
/* Static name of an op ("conv", "qconv", ...). */
const char *cx_op_name(cx_opkind op);
#endif
