/* Model loading: validate the .ctx, find the arch, build the graph with the
 * selected kernel table (weights packed now), keep labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"

const char *cortex_status_str(cortex_status s)
{
    switch (s) {
    case CORTEX_OK: return "ok";
    case CORTEX_ERR_INVALID_ARG: return "invalid argument";
    case CORTEX_ERR_IO: return "I/O error";
    case CORTEX_ERR_FORMAT: return "wrong file format";
    case CORTEX_ERR_CORRUPT: return "corrupt file";
    case CORTEX_ERR_UNSUPPORTED: return "unsupported";
    case CORTEX_ERR_SHAPE: return "shape mismatch";
    case CORTEX_ERR_NOMEM: return "out of memory";
    case CORTEX_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

cortex_status cx_model_from_ctx(const cx_ctx_file *f, const cortex_load_options *opts,
                                cortex_model **out, char *err, size_t errlen)
{
    return cx_model_from_ctx_q8(f, opts, NULL, out, err, errlen);
}

cortex_status cx_model_from_ctx_q8(const cx_ctx_file *f, const cortex_load_options *opts,
                                   const cx_q8_kernels *qk, cortex_model **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *arch = cx_ctx_get_str(f, "arch");
    if (!arch) return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "metadata has no 'arch'");
    const cx_arch *a = cx_arch_find(arch);
    if (!a) return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "arch '%s' is not supported by this build", arch);
    const char *dtype = cx_ctx_get_str(f, "dtype");
    const bool int8 = dtype && strcmp(dtype, "int8") == 0;
    if (dtype && !int8 && strcmp(dtype, "float32") != 0)
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "dtype '%s' is not supported by this build", dtype);
    char kerr[256];
    const cx_kernels *kt = cx_kernels_select(opts ? opts->isa : NULL, kerr, sizeof kerr);
    if (!kt) return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "%s", kerr);
    if (cx_blocking_env_check(kerr, sizeof kerr)) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "%s", kerr);
    if (!qk) qk = cx_q8_kernels_for(kt);
    if (!cx_q8_kernels_available(qk))
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "int8 kernels '%s' do not run on this CPU", qk->name);

    cortex_model *m = calloc(1, sizeof *m);
    if (!m) return CORTEX_ERR_NOMEM;
    m->arch = a;
    m->kt = kt;
    m->qk = qk;
    m->dtype = cx_strdup(int8 ? "int8" : "float32");
    m->g.spatial = a->spatial;
    cx_builder b;
    cx_builder_init(&b, CX_BUILD_LOAD, &m->g);
    b.ctx = f;
    b.kt = kt;
    b.int8 = int8;
    b.qk = qk;
    int y = a->build(&b, a);
    cortex_status st = cx_b_finish(&b, y);
    m->params = b.params;
    m->wbits = b.wbits;
    if (st != CORTEX_OK) {
        cx_errf(err, errlen, st, "%s", b.err);
        cx_builder_free(&b);
        cortex_model_free(m);
        return st;
    }
    cx_builder_free(&b);
    m->num_classes = m->g.val_c[m->g.output];
    int64_t nc;
    if (cx_ctx_get_i64(f, "num_classes", &nc) == CORTEX_OK && nc != m->num_classes) {
        int n = m->num_classes;
        cortex_model_free(m);
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "metadata num_classes=%lld but fc has %d outputs",
                       (long long)nc, n);
    }
    size_t nl;
    const char *const *labels;
    if (cx_ctx_get_str_array(f, "labels", &nl, &labels) == CORTEX_OK) {
        if (nl != (size_t)m->num_classes) {
            int n = m->num_classes;
            cortex_model_free(m);
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%zu labels for %d classes", nl, n);
        }
        m->labels = calloc(nl, sizeof *m->labels);
        if (!m->labels) { cortex_model_free(m); return CORTEX_ERR_NOMEM; }
        for (size_t i = 0; i < nl; i++)
            if (!(m->labels[i] = cx_strdup(labels[i]))) { cortex_model_free(m); return CORTEX_ERR_NOMEM; }
    }
    if (!m->dtype) { cortex_model_free(m); return CORTEX_ERR_NOMEM; }
    *out = m;
    return CORTEX_OK;
}

cortex_status cortex_model_load(const char *path, const cortex_load_options *opts,
                                cortex_model **out, char *err, size_t errlen)
{
    if (!out) return CORTEX_ERR_INVALID_ARG;
    *out = NULL;
    if (!path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL path");
    char e[400];
    cx_ctx_file *f = NULL;
    cortex_status st = cx_ctx_open_file(path, &f, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", path, e);
    st = cx_model_from_ctx(f, opts, out, e, sizeof e);
    cx_ctx_close(f); /* weights were packed into the model: the mapping goes */
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", path, e);
    return CORTEX_OK;
}

cortex_status cortex_model_load_memory(const void *data, size_t size, const cortex_load_options *opts,
                                       cortex_model **out, char *err, size_t errlen)
{
    return cx_model_load_memory_q8(data, size, opts, NULL, out, err, errlen);
}

cortex_status cx_model_load_memory_q8(const void *data, size_t size, const cortex_load_options *opts,
                                      const cx_q8_kernels *qk, cortex_model **out, char *err, size_t errlen)
{
    if (!out) return CORTEX_ERR_INVALID_ARG;
    *out = NULL;
    if (!data) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL buffer");
    char e[400];
    cx_ctx_file *f = NULL;
    cortex_status st = cx_ctx_open_memory(data, size, &f, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    st = cx_model_from_ctx_q8(f, opts, qk, out, e, sizeof e);
    cx_ctx_close(f);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    return CORTEX_OK;
}

void cortex_model_free(cortex_model *m)
{
    if (!m) return;
    cx_graph_free(&m->g);
    if (m->labels)
        for (int i = 0; i < m->num_classes; i++) free(m->labels[i]);
    free(m->labels);
    free(m->dtype);
    free(m);
}

const char *cortex_model_arch(const cortex_model *m) { return m ? m->arch->name : NULL; }
const char *cortex_model_isa(const cortex_model *m) { return m ? m->kt->name : NULL; }
const char *cortex_model_dtype(const cortex_model *m) { return m ? m->dtype : NULL; }
int cortex_model_num_classes(const cortex_model *m) { return m ? m->num_classes : 0; }
int cortex_model_input_rank(const cortex_model *m) { return m ? m->g.spatial + 2 : 0; }
uint64_t cortex_model_param_count(const cortex_model *m) { return m ? m->params : 0; }
const char *cortex_model_error(const cortex_model *m) { return m ? m->err : "NULL model"; }

const char *cortex_model_label(const cortex_model *m, int i)
{
    if (!m || !m->labels || i < 0 || i >= m->num_classes) return NULL;
    return m->labels[i];
}

cortex_status cx_model_shapes(const cortex_model *m, const int64_t *shape, int rank, cx_dims *dims,
                              char *err, size_t errlen)
{
    const cx_graph *g = &m->g;
    if (!shape || rank != g->spatial + 2)
        return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "input must have rank %d (%s), got %d",
                       g->spatial + 2, g->spatial == 2 ? "N,C,H,W" : "N,C,T,H,W", rank);
    for (int i = 0; i < rank; i++)
        if (shape[i] <= 0 || shape[i] > (1 << 20))
            return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "input dimension %d is %lld", i, (long long)shape[i]);
    if (shape[1] != g->val_c[g->input])
        return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "input has %lld channels, the model takes %d",
                       (long long)shape[1], g->val_c[g->input]);
    cx_dims in = { (int)shape[0], 1, (int)shape[rank - 2], (int)shape[rank - 1], (int)shape[1] };
    if (rank == 5) in.d = (int)shape[2];
    if ((uint64_t)cx_dims_numel(in) > ((uint64_t)1 << 34))
        return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "input is too large");
    for (int v = 0; v < g->n_vals; v++) dims[v] = (cx_dims){ 0, 0, 0, 0, 0 };
    dims[g->input] = in;
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        cx_dims o = { 0, 0, 0, 0, 0 };
        cortex_status st = CORTEX_OK;
        switch (n->op) {
        case CX_OP_CONV: st = cx_conv_out_dims(&n->conv, dims[n->in], &o); break;
        case CX_OP_MAXPOOL:
        case CX_OP_AVGPOOL: st = cx_pool_out_dims(&n->pool, dims[n->in], &o); break;
        case CX_OP_QMAXPOOL:
        case CX_OP_QAVGPOOL: st = cx_pool_out_dims(&n->pool, dims[n->in], &o); break;
        case CX_OP_QCONV: st = cx_qconv_out_dims(&n->qconv, dims[n->in], &o); break;
        case CX_OP_GAP:
        case CX_OP_QGAP_F32: o = dims[n->in]; o.d = o.h = o.w = 1; break;
        case CX_OP_ADD:
        case CX_OP_QUANTIZE:
        case CX_OP_DEQUANTIZE: o = dims[n->in]; break;
        case CX_OP_UP2ADD:
        case CX_OP_QUP2ADD: {
            o = dims[n->in];
            cx_dims r = dims[n->in2];
            if (r.n != o.n || r.d != o.d || r.c != o.c || 2 * (int64_t)r.h < o.h || 2 * (int64_t)r.w < o.w)
                st = CORTEX_ERR_SHAPE;
            break;
        }
        }
        if (st == CORTEX_OK && n->in2 >= 0 && n->op != CX_OP_UP2ADD && n->op != CX_OP_QUP2ADD) {
            cx_dims r = dims[n->in2];
            if (r.n != o.n || r.d != o.d || r.h != o.h || r.w != o.w || r.c != o.c)
                st = CORTEX_ERR_SHAPE;
        }
        if (st != CORTEX_OK)
            return cx_errf(err, errlen, CORTEX_ERR_SHAPE,
                           "input %lldx%lldx...: too small for layer '%s'", (long long)shape[0],
                           (long long)shape[1], n->name);
        dims[n->out] = o;
    }
    return CORTEX_OK;
}

cortex_status cortex_model_macs(const cortex_model *m, const int64_t *shape, int rank, uint64_t *macs)
{
    if (!m || !macs) return CORTEX_ERR_INVALID_ARG;
    cx_dims *d = calloc((size_t)m->g.n_vals, sizeof *d);
    if (!d) return CORTEX_ERR_NOMEM;
    cortex_status st = cx_model_shapes(m, shape, rank, d, NULL, 0);
    uint64_t t = 0;
    if (st == CORTEX_OK) {
        for (int i = 0; i < m->g.n_nodes; i++) {
            const cx_node *n = &m->g.nodes[i];
            if (n->op == CX_OP_CONV) t += cx_conv_macs(&n->conv, d[n->out]);
            else if (n->op == CX_OP_QCONV) t += cx_qconv_macs(&n->qconv, d[n->out]);
        }
    }
    free(d);
    *macs = t;
    return st;
}
