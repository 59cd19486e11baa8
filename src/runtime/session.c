/* Sessions: per-thread activation arena and scratch, planned per input shape.
 *
 * The planner gives each value (activation) a lifetime [producer, last reader]
 * and packs them into one arena, largest first, each at the lowest offset that
 * does not overlap a value alive at the same time (greedy best-fit on
 * intervals). A value never shares memory with a value alive at the same node,
 * so a layer's input and output never alias. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/pool.h"

struct cortex_session {
    const cortex_model *m;
    int64_t shape[CORTEX_MAX_DIMS];
    int rank;
    bool planned;
    cx_dims *dims;            /* per value */
    size_t *off;              /* per value, bytes into arena */
    size_t arena_bytes, naive_bytes;
    char *arena;
    size_t scratch_each;      /* bytes per worker */
    void *scratch_mem;
    cx_scratch *scratch;
    int n_scratch;
    double *profile;          /* per-node accumulated seconds, or NULL */
    cx_node_observer observe; /* called after each node, or NULL */
    void *observe_ctx;
    char err[512];
};

void cx_session_set_profile(cortex_session *s, double *per_node_seconds) { s->profile = per_node_seconds; }

void cx_session_set_observer(cortex_session *s, cx_node_observer fn, void *ctx)
{
    s->observe = fn;
    s->observe_ctx = ctx;
}

cortex_status cortex_session_create(const cortex_model *m, cortex_session **out)
{
    if (!out) return CORTEX_ERR_INVALID_ARG;
    *out = NULL;
    if (!m) return CORTEX_ERR_INVALID_ARG;
    cortex_session *s = calloc(1, sizeof *s);
    if (!s) return CORTEX_ERR_NOMEM;
    s->m = m;
    s->dims = calloc((size_t)m->g.n_vals, sizeof *s->dims);
    s->off = calloc((size_t)m->g.n_vals, sizeof *s->off);
    if (!s->dims || !s->off) { cortex_session_free(s); return CORTEX_ERR_NOMEM; }
    *out = s;
    return CORTEX_OK;
}

void cortex_session_free(cortex_session *s)
{
    if (!s) return;
    free(s->dims);
    free(s->off);
    cx_free(s->arena);
    cx_free(s->scratch_mem);
    free(s->scratch);
    free(s);
}

const char *cortex_session_error(const cortex_session *s) { return s ? s->err : "NULL session"; }

typedef struct { int v; int first, last; size_t size; } life_t;

static int by_size_desc(const void *a, const void *b)
{
    const life_t *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->v - y->v;
}

static cortex_status plan(cortex_session *s, const int64_t *shape, int rank)
{
    if (s->planned && rank == s->rank && memcmp(shape, s->shape, (size_t)rank * sizeof *shape) == 0)
        return CORTEX_OK;
    s->planned = false;
    const cx_graph *g = &s->m->g;
    cortex_status st = cx_model_shapes(s->m, shape, rank, s->dims, s->err, sizeof s->err);
    if (st != CORTEX_OK) return st;

    life_t *lv = calloc((size_t)g->n_vals, sizeof *lv);
    size_t *placed = calloc((size_t)g->n_vals, sizeof *placed);
    if (!lv || !placed) { free(lv); free(placed); return CORTEX_ERR_NOMEM; }
    for (int v = 0; v < g->n_vals; v++) {
        lv[v].v = v;
        lv[v].first = v == g->input ? -1 : g->n_nodes;
        lv[v].last = -2;
        /* bytes, rounded to a cache line so every tensor starts aligned */
        lv[v].size = CX_ROUND_UP(cx_dims_numel(s->dims[v]) * cx_graph_elem_size(g, v), (size_t)CX_ALIGN);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        lv[n->out].first = i;
        if (lv[n->in].last < i) lv[n->in].last = i;
        if (n->in2 >= 0 && lv[n->in2].last < i) lv[n->in2].last = i;
    }
    lv[g->output].last = g->n_nodes; /* read after the last node */
    size_t naive = 0, peak = 0, scratch = 0;
    for (int v = 0; v < g->n_vals; v++) naive += lv[v].size;
    qsort(lv, (size_t)g->n_vals, sizeof *lv, by_size_desc);
    int np = 0;
    for (int k = 0; k < g->n_vals; k++) {
        if (lv[k].last < lv[k].first) continue; /* never used (CONVERT-only values) */
        /* candidate offsets: 0 and the end of every placed value that overlaps in time */
        size_t best = SIZE_MAX;
        for (int c = -1; c < np; c++) {
            size_t o = c < 0 ? 0 : s->off[lv[placed[c]].v] + lv[placed[c]].size;
            if (c >= 0 && !(lv[placed[c]].first <= lv[k].last && lv[k].first <= lv[placed[c]].last)) continue;
            bool ok = true;
            for (int q = 0; q < np && ok; q++) {
                const life_t *p = &lv[placed[q]];
                if (p->first > lv[k].last || lv[k].first > p->last) continue;
                size_t po = s->off[p->v];
                if (o < po + p->size && po < o + lv[k].size) ok = false;
            }
            if (ok && o < best) best = o;
        }
        s->off[lv[k].v] = best;
        placed[np++] = (size_t)k;
        if (best + lv[k].size > peak) peak = best + lv[k].size;
    }
    free(lv);
    free(placed);
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == CX_OP_CONV) scratch = CX_MAX(scratch, cx_conv_scratch_bytes(&g->nodes[i].conv));
        if (g->nodes[i].op == CX_OP_QCONV) scratch = CX_MAX(scratch, cx_qconv_scratch_bytes(&g->nodes[i].qconv));
    }
    if (peak > s->arena_bytes || !s->arena) {
        cx_free(s->arena);
        s->arena = cx_alloc(peak);
        if (!s->arena) { s->arena_bytes = 0; return CORTEX_ERR_NOMEM; }
        s->arena_bytes = peak;
    }
    s->naive_bytes = naive;
    s->scratch_each = CX_ROUND_UP(scratch, CX_ALIGN);
    s->n_scratch = 0; /* re-sized for the pool on run */
    memcpy(s->shape, shape, (size_t)rank * sizeof *shape);
    s->rank = rank;
    s->planned = true;
    return CORTEX_OK;
}

static cortex_status ensure_scratch(cortex_session *s, int nthreads)
{
    if (s->n_scratch >= nthreads) return CORTEX_OK;
    cx_free(s->scratch_mem);
    free(s->scratch);
    s->scratch_mem = cx_alloc(s->scratch_each * (size_t)nthreads);
    s->scratch = calloc((size_t)nthreads, sizeof *s->scratch);
    if (!s->scratch_mem || !s->scratch) { s->n_scratch = 0; return CORTEX_ERR_NOMEM; }
    for (int i = 0; i < nthreads; i++)
        s->scratch[i] = (cx_scratch){ (char *)s->scratch_mem + (size_t)i * s->scratch_each, s->scratch_each };
    s->n_scratch = nthreads;
    return CORTEX_OK;
}

cortex_status cortex_session_output_shape(cortex_session *s, const int64_t *in_shape, int in_rank,
                                          int64_t *out_shape, int *out_rank)
{
    if (!s || !out_shape || !out_rank) return CORTEX_ERR_INVALID_ARG;
    cortex_status st = cx_model_shapes(s->m, in_shape, in_rank, s->dims, s->err, sizeof s->err);
    s->planned = false; /* dims were overwritten */
    if (st != CORTEX_OK) return st;
    out_shape[0] = in_shape[0];
    out_shape[1] = s->m->num_classes;
    *out_rank = 2;
    return CORTEX_OK;
}

cortex_status cortex_run(cortex_session *s, const float *input, const int64_t *in_shape, int in_rank,
                         float *output, size_t output_len, cortex_pool *pool)
{
    if (!s) return CORTEX_ERR_INVALID_ARG;
    if (!input || !output || !in_shape) {
        snprintf(s->err, sizeof s->err, "NULL input, output or shape");
        return CORTEX_ERR_INVALID_ARG;
    }
    cortex_status st = plan(s, in_shape, in_rank);
    if (st != CORTEX_OK) {
        if (st == CORTEX_ERR_NOMEM) snprintf(s->err, sizeof s->err, "out of memory planning activations");
        return st;
    }
    const cx_graph *g = &s->m->g;
    const size_t need = (size_t)in_shape[0] * (size_t)s->m->num_classes;
    if (output_len < need) {
        snprintf(s->err, sizeof s->err, "output buffer holds %zu floats, need %zu", output_len, need);
        return CORTEX_ERR_INVALID_ARG;
    }
    if (ensure_scratch(s, cortex_pool_threads(pool)) != CORTEX_OK) {
        snprintf(s->err, sizeof s->err, "out of memory for scratch");
        return CORTEX_ERR_NOMEM;
    }
    char *A = s->arena;
    const cx_q8_kernels *qk = s->m->qk;
    cx_nchw_to_ndhwc(s->dims[g->input], input, (float *)(A + s->off[g->input]));
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        void *x = A + s->off[n->in];
        void *y = A + s->off[n->out];
        const void *x2 = n->in2 >= 0 ? A + s->off[n->in2] : NULL;
        const cx_dims di = s->dims[n->in], dout = s->dims[n->out];
        double t0 = s->profile ? cx_now() : 0;
        switch (n->op) {
        case CX_OP_CONV: cx_conv_run(&n->conv, di, x, dout, y, x2, pool, s->scratch); break;
        case CX_OP_MAXPOOL: cx_maxpool_run(&n->pool, di, x, dout, y, pool); break;
        case CX_OP_AVGPOOL: cx_avgpool_run(&n->pool, di, x, dout, y, pool); break;
        case CX_OP_GAP: cx_gap_run(di, x, y, pool); break;
        case CX_OP_ADD: cx_add_run(cx_dims_numel(dout), x, x2, y, n->relu, pool); break;
        case CX_OP_UP2ADD: cx_up2add_run(dout, x, s->dims[n->in2], x2, y, n->relu, pool); break;
        case CX_OP_QUANTIZE:
            cx_quantize_run(cx_dims_numel(dout), x, g->val_q[n->out].scale, g->val_q[n->out].zp, y, pool);
            break;
        case CX_OP_DEQUANTIZE:
            cx_dequantize_run(cx_dims_numel(dout), x, g->val_q[n->in].scale, g->val_q[n->in].zp, y, pool);
            break;
        case CX_OP_QCONV: cx_qconv_run(&n->qconv, di, x, dout, y, x2, pool, s->scratch); break;
        case CX_OP_QMAXPOOL: cx_qmaxpool_run(&n->pool, di, x, dout, y, qk, pool); break;
        case CX_OP_QGAP_F32: cx_qgap_f32_run(di, x, g->val_q[n->in].scale, g->val_q[n->in].zp, y, qk, pool); break;
        case CX_OP_QUP2ADD: {
            const cx_vquant qa = g->val_q[n->in], qb = g->val_q[n->in2], qy = g->val_q[n->out];
            cx_qup2add_run(dout, x, qa.scale, qa.zp, s->dims[n->in2], x2, qb.scale, qb.zp, y, qy.scale, qy.zp,
                           n->relu, qk, pool);
            break;
        }
        case CX_OP_QAVGPOOL: {
            const cx_vquant qx = g->val_q[n->in], qy = g->val_q[n->out];
            cx_qavgpool_run(&n->pool, di, x, qx.scale, qx.zp, dout, y, qy.scale, qy.zp, qk, pool);
            break;
        }
        }
        if (s->profile) s->profile[i] += cx_now() - t0;
        if (s->observe) {
            const cx_node_io io = { di, dout, x, y };
            s->observe(s->observe_ctx, i, n, &io);
        }
    }
    memcpy(output, A + s->off[g->output], need * sizeof(float));
    return CORTEX_OK;
}

cortex_status cortex_session_plan_info(const cortex_session *s, cortex_plan_info *info)
{
    if (!s || !info) return CORTEX_ERR_INVALID_ARG;
    info->arena_bytes = s->planned ? s->arena_bytes : 0;
    info->naive_bytes = s->planned ? s->naive_bytes : 0;
    info->scratch_bytes = s->scratch_each;
    info->num_layers = s->m->g.n_nodes;
    return CORTEX_OK;
}

cortex_status cortex_session_tensor_shape(const cortex_session *s, const char *name, int64_t *shape, int *rank)
{
    if (!s || !name || !shape || !rank) return CORTEX_ERR_INVALID_ARG;
    if (!s->planned) return CORTEX_ERR_INVALID_ARG;
    const cx_graph *g = &s->m->g;
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) {
            cx_dims d = s->dims[g->nodes[i].out];
            int r = 0;
            shape[r++] = d.n;
            shape[r++] = d.c;
            if (g->spatial == 3) shape[r++] = d.d;
            shape[r++] = d.h;
            shape[r++] = d.w;
            *rank = r;
            return CORTEX_OK;
        }
    return CORTEX_ERR_INVALID_ARG;
}
