/* cortex: run a .ctx model (run, classify, info). See CONTRACT.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cortex.h"
#include "io/ctx.h"
#include "io/image.h"
#include "io/npy.h"
#include "runtime/model.h"

static const char USAGE[] =
    "usage: cortex run MODEL.ctx --input IN.npy --output OUT.npy [--threads N] [--isa ISA]\n"
    "       cortex classify MODEL.ctx IMAGE... [--topk K] [--threads N] [--isa ISA]\n"
    "       cortex info MODEL.ctx\n"
    "  IN.npy: float32 (N,3,H,W) or (N,3,T,H,W), normalised; OUT.npy: (N, classes) logits.\n"
    "  --threads defaults to the number of CPUs; --isa auto|scalar|avx2|avx512 (or CORTEX_ISA).\n"
    "  int8 models (cortex-convert --int8) run the same way; `info` prints their quantization.\n";

typedef struct opts {
    const char *model, *input, *output, *isa;
    const char *images[4096];
    int n_images;
    long threads, topk;
} opts;

static int parse(int argc, char **argv, opts *o, int cmd_allows_images)
{
    o->threads = cli_default_threads();
    o->topk = 5;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--input") || !strcmp(a, "--output") || !strcmp(a, "--threads") ||
            !strcmp(a, "--topk") || !strcmp(a, "--isa")) {
            if (!v) return cli_usage(USAGE, "%s needs a value", a);
            i++;
            if (!strcmp(a, "--input")) o->input = v;
            else if (!strcmp(a, "--output")) o->output = v;
            else if (!strcmp(a, "--isa")) {
                if (!cli_isa_name(v)) return cli_usage(USAGE, "--isa: '%s' is not one of auto, scalar, avx2, avx512", v);
                o->isa = v;
            }
            else if (!strcmp(a, "--threads")) {
                if (!cli_int(v, 1, 1024, &o->threads)) return cli_usage(USAGE, "--threads: '%s' is not a number in 1..1024", v);
            } else if (!cli_int(v, 1, 1000000, &o->topk))
                return cli_usage(USAGE, "--topk: '%s' is not a positive number", v);
        } else if (a[0] == '-' && a[1]) {
            return cli_usage(USAGE, "unknown option '%s'", a);
        } else if (!o->model) {
            o->model = a;
        } else if (cmd_allows_images && o->n_images < (int)(sizeof o->images / sizeof o->images[0])) {
            o->images[o->n_images++] = a;
        } else {
            return cli_usage(USAGE, "unexpected argument '%s'", a);
        }
    }
    if (!o->model) return cli_usage(USAGE, "missing MODEL.ctx");
    return 0;
}

static int load(const opts *o, cortex_model **m)
{
    char err[600];
    if (cli_check_isa(o->isa)) return 1;
    cortex_load_options lo = { o->isa };
    cortex_status st = cortex_model_load(o->model, &lo, m, err, sizeof err);
    if (st != CORTEX_OK) return cli_fail("%s", err);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    opts o = { 0 };
    int rc = parse(argc, argv, &o, 0);
    if (rc) return rc;
    if (!o.input || !o.output) return cli_usage(USAGE, "run needs --input and --output");
    cortex_model *m = NULL;
    cortex_session *s = NULL;
    cortex_pool *pool = NULL;
    cx_npy in = { 0 };
    float *out = NULL;
    char err[600];
    if ((rc = load(&o, &m))) return rc;
    cortex_status st = cx_npy_read_file(o.input, &in, err, sizeof err);
    if (st != CORTEX_OK) { rc = cli_fail("%s: %s", o.input, err); goto done; }
    int64_t oshape[CORTEX_MAX_DIMS];
    int orank;
    if (cortex_session_create(m, &s) != CORTEX_OK) { rc = cli_fail("%s: out of memory", o.model); goto done; }
    st = cortex_session_output_shape(s, in.shape, in.ndim, oshape, &orank);
    if (st != CORTEX_OK) {
        rc = cli_fail("%s: %s (model %s takes %s)", o.input, cortex_session_error(s), cortex_model_arch(m),
                      cortex_model_input_rank(m) == 5 ? "(N,3,T,H,W)" : "(N,3,H,W)");
        goto done;
    }
    size_t n = (size_t)oshape[0] * (size_t)oshape[1];
    out = malloc(n * sizeof(float));
    if (!out) { rc = cli_fail("%s: out of memory", o.input); goto done; }
    if (o.threads > 1 && cortex_pool_create((int)o.threads, &pool) != CORTEX_OK) {
        rc = cli_fail("%s: cannot start %ld threads", o.model, o.threads);
        goto done;
    }
    st = cortex_run(s, in.data, in.shape, in.ndim, out, n, pool);
    if (st != CORTEX_OK) { rc = cli_fail("%s: %s", o.input, cortex_session_error(s)); goto done; }
    st = cx_npy_write_file(o.output, out, orank, oshape, err, sizeof err);
    if (st != CORTEX_OK) { rc = cli_fail("%s: %s", o.output, err); goto done; }
done:
    free(out);
    cx_npy_free(&in);
    cortex_session_free(s);
    cortex_pool_destroy(pool);
    cortex_model_free(m);
    return rc;
}

static int cmd_classify(int argc, char **argv)
{
    opts o = { 0 };
    int rc = parse(argc, argv, &o, 1);
    if (rc) return rc;
    if (o.n_images == 0) return cli_usage(USAGE, "classify needs at least one IMAGE");
    cortex_model *m = NULL;
    if ((rc = load(&o, &m))) return rc;
    if (cortex_model_input_rank(m) != 4) {
        rc = cli_fail("%s: classify takes image models; %s is a video model (use run)", o.model, cortex_model_arch(m));
        cortex_model_free(m);
        return rc;
    }
    const int R = 256, C = 224, classes = cortex_model_num_classes(m);
    const size_t per = 3 * (size_t)C * C;
    float *batch = malloc(per * (size_t)o.n_images * sizeof(float));
    float *logits = malloc((size_t)classes * (size_t)o.n_images * sizeof(float));
    int *idx = malloc((size_t)classes * sizeof(int));
    cortex_session *s = NULL;
    cortex_pool *pool = NULL;
    char err[600];
    if (!batch || !logits || !idx || cortex_session_create(m, &s) != CORTEX_OK) {
        rc = cli_fail("%s: out of memory", o.model);
        goto done;
    }
    for (int i = 0; i < o.n_images; i++) {
        cortex_status st = cx_image_load_normalized(o.images[i], R, C, batch + per * (size_t)i, err, sizeof err);
        if (st != CORTEX_OK) { rc = cli_fail("%s: %s", o.images[i], err); goto done; }
    }
    if (o.threads > 1 && cortex_pool_create((int)o.threads, &pool) != CORTEX_OK) {
        rc = cli_fail("%s: cannot start %ld threads", o.model, o.threads);
        goto done;
    }
    int64_t shape[4] = { o.n_images, 3, C, C };
    if (cortex_run(s, batch, shape, 4, logits, (size_t)classes * (size_t)o.n_images, pool) != CORTEX_OK) {
        rc = cli_fail("%s: %s", o.model, cortex_session_error(s));
        goto done;
    }
    int k = (int)(o.topk < classes ? o.topk : classes);
    for (int i = 0; i < o.n_images; i++) {
        const float *l = logits + (size_t)classes * (size_t)i;
        double mx = -INFINITY, sum = 0;
        for (int c = 0; c < classes; c++) mx = l[c] > mx ? l[c] : mx;
        for (int c = 0; c < classes; c++) sum += exp(l[c] - mx);
        for (int c = 0; c < classes; c++) idx[c] = c;
        /* partial selection sort: k is small */
        for (int a = 0; a < k; a++)
            for (int b = a + 1; b < classes; b++)
                if (l[idx[b]] > l[idx[a]]) { int t = idx[a]; idx[a] = idx[b]; idx[b] = t; }
        printf("%s:\n", o.images[i]);
        for (int a = 0; a < k; a++) {
            const char *lab = cortex_model_label(m, idx[a]);
            printf("  %2d. %6.2f%%  %s%s(class %d)\n", a + 1, 100.0 * exp(l[idx[a]] - mx) / sum,
                   lab ? lab : "", lab ? " " : "", idx[a]);
        }
    }
done:
    free(batch);
    free(logits);
    free(idx);
    cortex_session_free(s);
    cortex_pool_destroy(pool);
    cortex_model_free(m);
    return rc;
}

static void human(char *b, size_t n, double v)
{
    if (v >= 1e9) snprintf(b, n, "%.2f G ", v / 1e9);
    else if (v >= 1e6) snprintf(b, n, "%.2f M ", v / 1e6);
    else if (v >= 1e3) snprintf(b, n, "%.2f k ", v / 1e3);
    else snprintf(b, n, "%.0f ", v);
}

/* The int8 summary: calibration, kernels, and per layer the activation
 * (scale, zero point) in and out and the range of the weight scales. */
static void print_quant(const cx_ctx_file *f, const cortex_model *m)
{
    const cx_graph *g = &m->g;
    int64_t nimg = 0;
    cx_ctx_get_i64(f, "quant.calib_images", &nimg);
    const char *meth = cx_ctx_get_str(f, "quant.method");
    int nq = 0, nf = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nq += g->nodes[i].op == CX_OP_QCONV;
        nf += g->nodes[i].op == CX_OP_CONV;
    }
    printf("quantization: int8, calibrated with %s on %lld images\n", meth ? meth : "?", (long long)nimg);
    printf("  int8 kernels: %s (GEMM weights %d-bit%s)\n", m->qk->name, m->wbits,
           m->wbits < 8 ? ": this table's vpmaddubsw needs |w| <= 64" : "");
    printf("  layers: %d int8 convs, %d fp32 (", nq, nf);
    for (int i = 0, k = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == CX_OP_CONV) printf("%s%s", k++ ? ", " : "", g->nodes[i].name);
    printf(")\n");
    const cx_vquant *in = NULL;
    for (int i = 0; i < g->n_nodes && !in; i++)
        if (g->nodes[i].op == CX_OP_QUANTIZE) in = &g->val_q[g->nodes[i].out];
    double smin = INFINITY, smax = 0;
    for (int v = 0; v < g->n_vals; v++)
        if (g->val_q[v].type == CX_V_U8) {
            smin = fmin(smin, g->val_q[v].scale);
            smax = fmax(smax, g->val_q[v].scale);
        }
    if (smax > 0) printf("  activation scales: %.4g .. %.4g\n", smin, smax);
    printf("  %-30s %-22s %-22s %s\n", "layer", "in scale / zp", "out scale / zp", "weight scales");
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        if (n->op != CX_OP_QCONV && n->op != CX_OP_QUANTIZE) continue;
        const cx_vquant *a = &g->val_q[n->in], *y = &g->val_q[n->out];
        char ins[40], outs[40], ws[64] = "";
        if (a->type == CX_V_U8) snprintf(ins, sizeof ins, "%.4g / %d", a->scale, a->zp);
        else snprintf(ins, sizeof ins, "f32");
        snprintf(outs, sizeof outs, "%.4g / %d", y->scale, y->zp);
        if (n->op == CX_OP_QCONV) {
            char key[320];
            snprintf(key, sizeof key, "%s.wscale", n->name);
            const cx_ctx_tensor *t = cx_ctx_find(f, key);
            if (t && t->dtype == CX_F32 && t->numel) {
                const float *d = t->data;
                float lo = d[0], hi = d[0];
                for (size_t j = 1; j < t->numel; j++) { lo = d[j] < lo ? d[j] : lo; hi = d[j] > hi ? d[j] : hi; }
                snprintf(ws, sizeof ws, "%.3g .. %.3g%s", lo, hi, n->qconv.residual ? "  (+residual)" : "");
            }
        }
        printf("  %-30s %-22s %-22s %s\n", n->name, ins, outs, ws);
    }
}

static int cmd_info(int argc, char **argv)
{
    opts o = { 0 };
    int rc = parse(argc, argv, &o, 0);
    if (rc) return rc;
    cx_ctx_file *f = NULL;
    char err[600];
    cortex_status st = cx_ctx_open_file(o.model, &f, err, sizeof err);
    if (st != CORTEX_OK) return cli_fail("%s: %s", o.model, err);
    cortex_model *m = NULL;
    if ((rc = load(&o, &m))) { cx_ctx_close(f); return rc; }
    printf("file:        %s (format version %u)\n", o.model, cx_ctx_version(f));
    printf("arch:        %s\n", cortex_model_arch(m));
    printf("dtype:       %s\n", cortex_model_dtype(m));
    printf("classes:     %d%s\n", cortex_model_num_classes(m), cortex_model_label(m, 0) ? " (labelled)" : "");
    char b1[32], b2[32];
    human(b1, sizeof b1, (double)cortex_model_param_count(m));
    printf("parameters:  %s(%llu, BN folded)\n", b1, (unsigned long long)cortex_model_param_count(m));
    int rank = cortex_model_input_rank(m);
    int64_t shp[5] = { 1, 3, 224, 224, 0 };
    if (rank == 5) { shp[2] = 16; shp[3] = 112; shp[4] = 112; }
    uint64_t macs = 0;
    if (cortex_model_macs(m, shp, rank, &macs) == CORTEX_OK) {
        human(b2, sizeof b2, (double)macs);
        if (rank == 5) printf("MACs:        %s(input 1x3x16x112x112)\n", b2);
        else printf("MACs:        %s(input 1x3x224x224)\n", b2);
    }
    printf("kernels:     %s\n", cortex_model_isa(m));
    if (m->qk && !strcmp(cortex_model_dtype(m), "int8")) print_quant(f, m);
    printf("metadata:\n");
    for (size_t i = 0; i < cx_ctx_meta_count(f); i++) {
        cx_meta_type t;
        const char *k = cx_ctx_meta_key(f, i, &t);
        int64_t iv;
        double dv;
        size_t n;
        const char *const *sa;
        const float *fa;
        if (!strncmp(k, "quant.act.", 10)) continue; /* listed per layer above */
        printf("  %-14s ", k);
        switch (t) {
        case CX_META_I64: cx_ctx_get_i64(f, k, &iv); printf("%lld\n", (long long)iv); break;
        case CX_META_F64: cx_ctx_get_f64(f, k, &dv); printf("%g\n", dv); break;
        case CX_META_STR: printf("%s\n", cx_ctx_get_str(f, k)); break;
        case CX_META_STR_ARRAY:
            cx_ctx_get_str_array(f, k, &n, &sa);
            printf("[%zu strings]%s%s%s\n", n, n ? " \"" : "", n ? sa[0] : "", n ? "\", ..." : "");
            break;
        case CX_META_F32_ARRAY:
            cx_ctx_get_f32_array(f, k, &n, &fa);
            if (n <= 4) {
                printf("[");
                for (size_t j = 0; j < n; j++) printf("%s%g", j ? ", " : "", fa[j]);
                printf("]\n");
            } else printf("[%zu floats]\n", n);
            break;
        default: printf("?\n");
        }
    }
    size_t nt = cx_ctx_tensor_count(f);
    printf("tensors:     %zu\n", nt);
    for (size_t i = 0; i < nt; i++) {
        const cx_ctx_tensor *t = cx_ctx_tensor_at(f, i);
        char shape[128];
        size_t off = 0;
        for (int d = 0; d < t->ndim; d++)
            off += (size_t)snprintf(shape + off, sizeof shape - off, "%s%lld", d ? "x" : "", (long long)t->shape[d]);
        if (t->ndim == 0) snprintf(shape, sizeof shape, "scalar");
        printf("  %-40s %-8s %s\n", t->name, cx_dtype_name(t->dtype), shape);
    }
    cortex_model_free(m);
    cx_ctx_close(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return cli_usage(USAGE, "missing command");
    if (!strcmp(argv[1], "run")) return cmd_run(argc, argv);
    if (!strcmp(argv[1], "classify")) return cmd_classify(argc, argv);
    if (!strcmp(argv[1], "info")) return cmd_info(argc, argv);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { fputs(USAGE, stdout); return 0; }
    return cli_usage(USAGE, "unknown command '%s'", argv[1]);
}
