#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"

static int add_value(cx_graph *g, int channels, cx_vquant q)
{
    if (g->n_vals == g->cap_vals) {
        int nc = g->cap_vals ? g->cap_vals * 2 : 64;
        int *nv = realloc(g->val_c, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        g->val_c = nv;
        cx_vquant *nq = realloc(g->val_q, (size_t)nc * sizeof *nq);
        if (!nq) return -1;
        g->val_q = nq;
        g->cap_vals = nc;
    }
    g->val_c[g->n_vals] = channels;
    g->val_q[g->n_vals] = q;
    return g->n_vals++;
}

int cx_graph_add_value(cx_graph *g, int channels)
{
    return add_value(g, channels, (cx_vquant){ CX_V_F32, 1.0f, 0 });
}

int cx_graph_add_qvalue(cx_graph *g, int channels, float scale, int32_t zp)
{
    return add_value(g, channels, (cx_vquant){ CX_V_U8, scale, zp });
}

cx_node *cx_graph_add_node(cx_graph *g, cx_opkind op, const char *name)
{
    if (g->n_nodes == g->cap_nodes) {
        int nc = g->cap_nodes ? g->cap_nodes * 2 : 64;
        cx_node *nn = realloc(g->nodes, (size_t)nc * sizeof *nn);
        if (!nn) return NULL;
        g->nodes = nn;
        g->cap_nodes = nc;
    }
    cx_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in = n->in2 = n->out = -1;
    n->name = cx_strdup(name ? name : "");
    if (!n->name) return NULL;
    g->n_nodes++;
    return n;
}

void cx_graph_free(cx_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == CX_OP_CONV) cx_conv_destroy(&g->nodes[i].conv);
        if (g->nodes[i].op == CX_OP_QCONV) cx_qconv_destroy(&g->nodes[i].qconv);
        free(g->nodes[i].name);
    }
    free(g->nodes);
    free(g->val_c);
    free(g->val_q);
    memset(g, 0, sizeof *g);
}

const char *cx_op_name(cx_opkind op)
{
    switch (op) {
    case CX_OP_CONV: return "conv";
    case CX_OP_MAXPOOL: return "maxpool";
    case CX_OP_AVGPOOL: return "avgpool";
    case CX_OP_GAP: return "gap";
    case CX_OP_ADD: return "add";
    case CX_OP_QUANTIZE: return "quantize";
    case CX_OP_DEQUANTIZE: return "dequantize";
    case CX_OP_QCONV: return "qconv";
    case CX_OP_QMAXPOOL: return "qmaxpool";
    case CX_OP_QGAP_F32: return "qgap_f32";
    case CX_OP_UP2ADD: return "up2add";
    case CX_OP_QUP2ADD: return "qup2add";
    case CX_OP_QAVGPOOL: return "qavgpool";
    }
    return "?";
}
