#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"

int cx_graph_add_value(cx_graph *g, int channels)
{
    if (g->n_vals == g->cap_vals) {
        int nc = g->cap_vals ? g->cap_vals * 2 : 64;
        int *nv = realloc(g->val_c, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        g->val_c = nv;
        g->cap_vals = nc;
    }
    g->val_c[g->n_vals] = channels;
    return g->n_vals++;
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
        free(g->nodes[i].name);
    }
    free(g->nodes);
    free(g->val_c);
    memset(g, 0, sizeof *g);
}
