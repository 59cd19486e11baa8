/* cortex-bench: microbenchmarks (model, gemm, conv). Medians of repeated runs;
 * GFLOP/s counts 2 FLOPs per multiply-accumulate. See CONTRACT.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cortex.h"
#include "layers/layers.h"
#include "layers/qlayers.h"
#include "runtime/pool.h"
#include "models/convert.h"
#include "models/models.h"
#include "models/quantize.h"
#include "runtime/common.h"
#include "runtime/model.h"

static const char USAGE[] =
    "usage: cortex-bench model ARCH|MODEL.ctx [--shape 1x3x224x224] [--threads N] [--iters N] [--int8] [--alpha A]\n"
    "                         [--json]\n"
    "       cortex-bench gemm M N K [--int8] [--threads N] [--iters N] [--json]\n"
    "       cortex-bench conv --shape NxCxHxW|NxCxTxHxW --out K --kernel 3x3|3x7x7 [--stride 2|1x2x2] [--pad 1|1x3x3]\n"
    "                         [--groups G] [--int8] [--threads N] [--iters N] [--json]\n"
    "       cortex-bench conv --preset SET[/LAYER]|list [--int8] [--threads N] [--iters N] [--json]\n"
    "                         (the conv shapes of resnet50, resnext101_32x8d, r2plus1d_18 at batch 1)\n"
    "       cortex-bench peak [--isa ISA] [--json]   (this CPU's f32 FMA and int8 multiply-add peaks, 1 thread,\n"
    "                         and the cache blocking the conv drivers use on it: CORTEX_L2_KIB overrides the L2)\n"
    "  common: --isa auto|scalar|avx2|avx512, --warmup N (default 2); model: --profile (per-layer times).\n"
    "  Every result also gives its % of this CPU's peak (threads x the 1-thread FMA or int8 peak, probed\n"
    "  for 0.3 s first; Winograd layers count a direct conv's multiplies, so > 100 % can happen);\n"
    "  --no-peak skips the probe.\n"
    "  --cold: evict the caches before every timed run (writes a 256 MiB buffer, untimed), so weights\n"
    "  come from memory as they do inside a model; default: warm, the same weights run back to back.\n"
    "  An ARCH name runs random weights (fixed seed, random BN statistics): no file needed; every arch,\n"
    "  video nets on 1x3x16x112x112 unless --shape says otherwise; --alpha: octresnet50's low-frequency\n"
    "  fraction in [0, 1) (default 0.25; a MODEL.ctx carries its own).\n"
    "  --int8: the int8 path (a model is calibrated in process on 4 random inputs of the bench shape,\n"
    "  unless MODEL.ctx is int8 already); --q8 scalar|avx2|avx2exact|avx512|avx512vnni forces the\n"
    "  int8 kernel table (default: the one matching --isa); --fp32-stem keeps the first conv fp32.\n";

typedef struct bopts {
    const char *pos[4];
    int npos;
    int64_t shape[CORTEX_MAX_DIMS];
    int rank;
    long threads, iters, warmup, out, groups, classes;
    int stride[3], stride_rank, pad[3], pad_rank;   /* --stride / --pad: 1..3 values, 0: not given */
    int kernel[3], kernel_rank;
    int json, profile, int8, fp32_stem, cold, no_peak;
    const char *isa, *q8, *preset;
    double alpha;        /* < 0: not given */
} bopts;

static int parse_kernel(const char *s, bopts *o)
{
    int64_t k[3];
    int r = cli_shape(s, k, 3);
    if (r < 1) return 0;
    o->kernel_rank = r;
    for (int i = 0; i < 3; i++) o->kernel[i] = 1;
    for (int i = 0; i < r; i++) o->kernel[3 - r + i] = (int)k[i];
    return 1;
}

/* "2", "2x2" or "1x2x2": 1..3 numbers in lo..2^20, x-separated */
static int parse_axes(const char *s, long lo, int *v)
{
    int r = 0;
    while (*s) {
        if (r == 3) return 0;
        long x;
        char num[24];
        size_t n = strcspn(s, "xX");
        if (n == 0 || n >= sizeof num) return 0;
        memcpy(num, s, n);
        num[n] = 0;
        if (!cli_int(num, lo, 1 << 20, &x)) return 0;
        v[r++] = (int)x;
        s += n;
        if (*s) {
            s++;
            if (!*s) return 0;   /* trailing x */
        }
    }
    return r;
}

static int parse(int argc, char **argv, bopts *o)
{
    o->threads = 1;
    o->iters = 10;
    o->warmup = 2;
    o->groups = 1;
    o->classes = 1000;
    o->alpha = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--profile")) { o->profile = 1; continue; }
        if (!strcmp(a, "--cold")) { o->cold = 1; continue; }
        if (!strcmp(a, "--no-peak")) { o->no_peak = 1; continue; }
        if (!strcmp(a, "--int8")) { o->int8 = 1; continue; }
        if (!strcmp(a, "--fp32-stem")) { o->int8 = 1; o->fp32_stem = 1; continue; }
        if (a[0] == '-' && a[1] == '-') {
            if (!v) return cli_usage(USAGE, "%s needs a value", a);
            i++;
            long *dst = NULL, lo = 1, hi = 1 << 20;
            if (!strcmp(a, "--threads")) { dst = &o->threads; hi = 1024; }
            else if (!strcmp(a, "--iters")) dst = &o->iters;
            else if (!strcmp(a, "--warmup")) { dst = &o->warmup; lo = 0; }
            else if (!strcmp(a, "--out")) dst = &o->out;
            else if (!strcmp(a, "--stride") || !strcmp(a, "--pad")) {
                const int is_s = a[2] == 's';
                int r = parse_axes(v, is_s ? 1 : 0, is_s ? o->stride : o->pad);
                if (!r) return cli_usage(USAGE, "%s: '%s' is not like %s (1 to 3 numbers, %s)", a, v,
                                         is_s ? "2 or 1x2x2" : "1 or 1x3x3", is_s ? ">= 1" : ">= 0");
                *(is_s ? &o->stride_rank : &o->pad_rank) = r;
                continue;
            }
            else if (!strcmp(a, "--groups")) dst = &o->groups;
            else if (!strcmp(a, "--classes")) dst = &o->classes;
            else if (!strcmp(a, "--isa")) {
                if (!cli_isa_name(v)) return cli_usage(USAGE, "--isa: '%s' is not one of auto, scalar, avx2, avx512", v);
                o->isa = v;
                continue;
            }
            else if (!strcmp(a, "--q8")) {
                if (!cx_q8_kernels_by_name(v) || !strcmp(v, "auto"))
                    return cli_usage(USAGE, "--q8: '%s' is not an int8 kernel table this CPU runs (scalar, avx2, avx2exact, avx512, avx512vnni)", v);
                o->q8 = v;
                continue;
            }
            else if (!strcmp(a, "--alpha")) {
                if (!cli_double(v, &o->alpha) || !(o->alpha >= 0 && o->alpha < 1))
                    return cli_usage(USAGE, "--alpha: '%s' is not a number in [0, 1)", v);
                continue;
            }
            else if (!strcmp(a, "--preset")) { o->preset = v; continue; }
            else if (!strcmp(a, "--shape")) {
                o->rank = cli_shape(v, o->shape, CORTEX_MAX_DIMS);
                if (o->rank < 0) return cli_usage(USAGE, "--shape: '%s' is not like 1x3x224x224", v);
                continue;
            } else if (!strcmp(a, "--kernel")) {
                if (!parse_kernel(v, o)) return cli_usage(USAGE, "--kernel: '%s' is not like 3x3 or 3x3x3", v);
                continue;
            } else return cli_usage(USAGE, "unknown option '%s'", a);
            if (!cli_int(v, lo, hi, dst)) return cli_usage(USAGE, "%s: '%s' is not a number in %ld..%ld", a, v, lo, hi);
            continue;
        }
        if (o->npos == 4) return cli_usage(USAGE, "unexpected argument '%s'", a);
        o->pos[o->npos++] = a;
    }
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*run_fn)(void *ctx);

/* --cold: a buffer larger than any last-level cache this runs on, written
 * before each timed run so the next run's weights and activations start in
 * memory. Allocated on first use. */
#define COLD_BYTES ((size_t)256 << 20)
static unsigned char *cold_buf;

static volatile unsigned char cold_sink;

static void evict_caches(void)
{
    if (!cold_buf) {   /* written once (real pages), then only read: no dirty lines to write back later */
        if (!(cold_buf = malloc(COLD_BYTES))) return;
        memset(cold_buf, 1, COLD_BYTES);
    }
    unsigned char v = 0;
    for (size_t i = 0; i < COLD_BYTES; i += 64) v ^= cold_buf[i];
    cold_sink = v;
}

static int g_cold;              /* set from bopts by main */
static cortex_pool *g_cold_pool; /* the pool of the run being timed, if any */

/* The eviction takes milliseconds, long enough for the pool's workers to go
 * to sleep; a run inside a model finds them spinning. Wake them (untimed)
 * so --cold measures cold caches, not a futex wake-up. */
static void noop_task(void *arg, size_t i, int worker) { (void)arg; (void)i; (void)worker; }

/* Times fn: warmup runs, then iters timed runs; median and min in ms. */
static void time_it(run_fn fn, void *ctx, long warmup, long iters, double *med, double *mn)
{
    for (long i = 0; i < warmup; i++) fn(ctx);
    double *t = malloc((size_t)iters * sizeof *t);
    for (long i = 0; i < iters; i++) {
        if (g_cold) {
            evict_caches();
            if (g_cold_pool) cx_parallel(g_cold_pool, noop_task, NULL, (size_t)cortex_pool_threads(g_cold_pool));
        }
        double t0 = cx_now();
        fn(ctx);
        t[i] = (cx_now() - t0) * 1e3;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_d);
    *med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    *mn = t[0];
    free(t);
}

/* The 1-thread peak a result is compared with: f32 FMA, or the int8
 * multiply-add peak with --int8, of the --isa table; best of 3 probes of
 * 0.1 s, once per process; 0 with --no-peak or when the table has no probe.
 * Results with Winograd count the direct conv's multiplies, so a model can
 * show more than 100 %. */
static double peak_gflops(const bopts *o)
{
    static double cached = -1;
    if (cached >= 0) return cached;
    cached = 0;
    if (o->no_peak) return cached;
    char err[256];
    const cx_kernels *kt = cx_kernels_select(o->isa, err, sizeof err);
    double (*probe)(double) = kt ? (o->int8 ? kt->q8_peak : kt->f32_peak) : NULL;
    if (!probe) return cached;
    for (int i = 0; i < 3; i++) {
        double v = probe(0.1);
        cached = v > cached ? v : cached;
    }
    return cached;
}

static void report(const bopts *o, const char *bench, const char *name, const char *isa, double med,
                   double mn, uint64_t macs)
{
    double gf = 2.0 * (double)macs / (med * 1e-3) / 1e9;
    const double pk = peak_gflops(o) * (double)o->threads, pct = pk > 0 ? 100.0 * gf / pk : 0;
    if (o->json)
        printf("{\"bench\":\"%s\",\"name\":\"%s\",\"threads\":%ld,\"iters\":%ld,\"ms_median\":%.4f,"
               "\"ms_min\":%.4f,\"gflops\":%.3f,\"macs\":%llu,\"isa\":\"%s\",\"cold\":%s,\"peak_gflops\":%.2f,"
               "\"pct_peak\":%.1f}\n",
               bench, name, o->threads, o->iters, med, mn, gf, (unsigned long long)macs, isa, o->cold ? "true" : "false",
               pk, pct);
    else {
        char pp[32] = "";
        if (pk > 0) snprintf(pp, sizeof pp, "  %5.1f %% peak", pct);
        printf("%-6s %-36s %-7s thr %-3ld  median %9.3f ms  min %9.3f ms  %8.2f GFLOP/s%s%s\n", bench, name, isa,
               o->threads, med, mn, gf, pp, o->cold ? "  (cold)" : "");
    }
    fflush(stdout);
}

/* ---- model */
typedef struct mctx { cortex_session *s; const float *in; const int64_t *shape; int rank; float *out; size_t n; cortex_pool *pool; } mctx;
static void run_model(void *v)
{
    mctx *c = v;
    cortex_run(c->s, c->in, c->shape, c->rank, c->out, c->n, c->pool);
}

/* Per-layer wall time over the timed iterations, sorted by cost. */
static void print_profile(const bopts *o, const cortex_model *m, cortex_session *s, mctx *c)
{
    int n = m->g.n_nodes;
    double *t = calloc((size_t)n, sizeof *t);
    cx_dims *d = calloc((size_t)m->g.n_vals, sizeof *d);
    int *idx = calloc((size_t)n, sizeof *idx);
    if (!t || !d || !idx) { free(t); free(d); free(idx); return; }
    cx_model_shapes(m, c->shape, c->rank, d, NULL, 0);
    cx_session_set_profile(s, t);
    for (long i = 0; i < o->iters; i++) run_model(c);
    cx_session_set_profile(s, NULL);
    double total = 0;
    for (int i = 0; i < n; i++) { idx[i] = i; total += t[i]; }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (t[idx[b]] > t[idx[a]]) { int x = idx[a]; idx[a] = idx[b]; idx[b] = x; }
    printf("       per layer (mean of %ld runs, slowest first):\n", o->iters);
    for (int k = 0; k < n; k++) {
        const cx_node *nd = &m->g.nodes[idx[k]];
        double ms = t[idx[k]] / (double)o->iters * 1e3;
        cx_dims od = d[nd->out];
        double gf = 0;
        char geo[64] = "";
        if (nd->op == CX_OP_CONV) {
            gf = 2.0 * (double)cx_conv_macs(&nd->conv, od) / (ms * 1e-3) / 1e9;
            snprintf(geo, sizeof geo, "%dx%dx%d s%d g%d %d->%d", nd->conv.g.k[0], nd->conv.g.k[1], nd->conv.g.k[2],
                     nd->conv.g.s[2], nd->conv.groups, nd->conv.cin, nd->conv.cout);
        } else if (nd->op == CX_OP_QCONV) {
            const cx_qconv *q = &nd->qconv;
            gf = 2.0 * (double)cx_qconv_macs(q, od) / (ms * 1e-3) / 1e9;
            snprintf(geo, sizeof geo, "q %dx%dx%d s%d g%d %d->%d", q->g.k[0], q->g.k[1], q->g.k[2], q->g.s[2],
                     q->groups, q->cin, q->cout);
        } else {
            snprintf(geo, sizeof geo, "%s", cx_op_name(nd->op));
        }
        printf("       %-28s %-30s out %4dx%-4d %8.3f ms %5.1f%% %7.1f GFLOP/s\n", nd->name, geo, od.h, od.w, ms,
               100.0 * t[idx[k]] / total, gf);
    }
    free(t); free(d); free(idx);
}

/* Random inputs in [-1, 1) (the timed input and the int8 calibration batch). */
static void fill_input(float *x, size_t n, uint64_t r)
{
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((r >> 40) & 0xffff) / 32768.0f - 1.0f;
    }
}

static int bench_model(const bopts *o)
{
    if (o->npos != 1) return cli_usage(USAGE, "model needs one ARCH or MODEL.ctx");
    const char *what = o->pos[0];
    cortex_load_options lo = { o->isa };
    const cx_q8_kernels *q8 = o->q8 ? cx_q8_kernels_by_name(o->q8) : NULL;
    cortex_model *m = NULL;
    char err[700], e[600] = "";
    cortex_status st;
    const cx_arch *a = cx_arch_find(what);
    void *buf = NULL;
    size_t size = 0;
    cx_ctx_file *cf = NULL;
    if (o->alpha >= 0 && (!a || a->build != cx_build_octresnet))
        return cli_usage(USAGE, "--alpha applies to the octresnet50 arch name only (a .ctx carries its own alpha)");
    if (a) {
        cx_tdict sd = { 0 };
        if ((st = cx_arch_synth(a, (int)o->classes, 1, o->alpha, &sd)) != CORTEX_OK)
            return cli_fail("%s: cannot make random weights (%s)", what, cortex_status_str(st));
        cx_convert_opts co = { .arch = a->name, .alpha = o->alpha };
        st = cx_convert_tdict_to_memory(&sd, &co, &buf, &size, err, sizeof err);
        cx_tdict_free(&sd);
        if (st != CORTEX_OK) return cli_fail("%s", err);
        st = cx_ctx_open_memory(buf, size, &cf, e, sizeof e);
    } else {
        st = cx_ctx_open_file(what, &cf, e, sizeof e);
    }
    if (st != CORTEX_OK) { free(buf); return cli_fail("%s: %s", what, e); }
    const cx_arch *fa = cx_arch_find(cx_ctx_get_str(cf, "arch"));
    const char *dt = cx_ctx_get_str(cf, "dtype");
    const bool int8_file = dt && !strcmp(dt, "int8");
    int64_t shape[CORTEX_MAX_DIMS] = { 1, 3, 224, 224 };
    int rank = fa && fa->spatial == 3 ? 5 : 4;
    if (rank == 5) { shape[2] = 16; shape[3] = 112; shape[4] = 112; }
    if (o->rank > 0) { memcpy(shape, o->shape, sizeof shape); rank = o->rank; }
    if (o->int8 && !int8_file) {
        /* calibrate the fp32 model in process */
        cx_ctx_writer *w = NULL;
        int64_t cs[CORTEX_MAX_DIMS];
        memcpy(cs, shape, sizeof cs);
        cs[0] = 4;
        size_t n = 1;
        for (int i = 0; i < rank; i++) n *= (size_t)cs[i];
        float *cal = cx_alloc(n * sizeof(float));
        cx_quant_opts q = cx_quant_opts_default();
        q.threads = (int)o->threads;
        q.fp32_stem = o->fp32_stem;
        if (!cal) st = CORTEX_ERR_NOMEM;
        else {
            fill_input(cal, n, 4242);
            st = cx_quantize_ctx(cf, cal, cs, rank, "<random calibration batch>", &q, &w, e, sizeof e);
        }
        cx_free(cal);
        void *qb = NULL;
        size_t qs = 0;
        if (st == CORTEX_OK) st = cx_ctx_writer_to_memory(w, &qb, &qs, e, sizeof e);
        cx_ctx_writer_free(w);
        if (st == CORTEX_OK) st = cx_model_load_memory_q8(qb, qs, &lo, q8, &m, e, sizeof e);
        free(qb);
    } else {
        st = cx_model_from_ctx_q8(cf, &lo, q8, &m, e, sizeof e);
    }
    cx_ctx_close(cf);
    free(buf);
    snprintf(err, sizeof err, "%s", e);
    if (st != CORTEX_OK) return cli_fail("%s: %s", what, err);
    cortex_session *s = NULL;
    cortex_pool *pool = NULL;
    uint64_t macs = 0;
    int rc = 0;
    if (cortex_session_create(m, &s) != CORTEX_OK) { rc = cli_fail("%s: out of memory", what); goto done; }
    if ((st = cortex_model_macs(m, shape, rank, &macs)) != CORTEX_OK) {
        rc = cli_fail("%s: input shape does not fit the model (rank %d expected)", what, cortex_model_input_rank(m));
        goto done;
    }
    size_t nin = 1;
    for (int i = 0; i < rank; i++) nin *= (size_t)shape[i];
    size_t nout = (size_t)shape[0] * (size_t)cortex_model_num_classes(m);
    float *in = cx_alloc(nin * sizeof(float)), *out = cx_alloc(nout * sizeof(float));
    if (!in || !out) { cx_free(in); cx_free(out); rc = cli_fail("%s: out of memory", what); goto done; }
    fill_input(in, nin, 42);
    if (o->threads > 1) cortex_pool_create((int)o->threads, &pool);
    mctx c = { s, in, shape, rank, out, nout, pool };
    if ((st = cortex_run(s, in, shape, rank, out, nout, pool)) != CORTEX_OK) {
        rc = cli_fail("%s: %s", what, cortex_session_error(s));
    } else {
        double med, mn;
        time_it(run_model, &c, o->warmup, o->iters, &med, &mn);
        char name[160];
        size_t off = (size_t)snprintf(name, sizeof name, "%s@", cortex_model_arch(m));
        for (int i = 0; i < rank; i++) off += (size_t)snprintf(name + off, sizeof name - off, "%s%lld", i ? "x" : "", (long long)shape[i]);
        report(o, "model", name, m->qk && !strcmp(cortex_model_dtype(m), "int8") ? m->qk->name : cortex_model_isa(m),
               med, mn, macs);
        if (o->profile) print_profile(o, m, s, &c);
        if (!o->json) {
            cortex_plan_info pi;
            cortex_session_plan_info(s, &pi);
            printf("       activations: arena %.1f MiB (no reuse: %.1f MiB), %d layers\n", pi.arena_bytes / 1048576.0,
                   pi.naive_bytes / 1048576.0, pi.num_layers);
        }
    }
    cx_free(in);
    cx_free(out);
done:
    cortex_session_free(s);
    cortex_pool_destroy(pool);
    cortex_model_free(m);
    return rc;
}

/* ---- conv and gemm (a GEMM is a 1x1 conv over M pixels) */
typedef struct cctx { cx_conv *c; cx_dims in, out; const float *x; float *y; cortex_pool *pool; cx_scratch *sc; } cctx;
static void run_conv(void *v)
{
    cctx *c = v;
    cx_conv_run(c->c, c->in, c->x, c->out, c->y, NULL, c->pool, c->sc);
}

/* ---- int8 conv: random u8 activations and s8 weights through the q8 table */
typedef struct qctx { cx_qconv *c; cx_dims in, out; const uint8_t *x; uint8_t *y; cortex_pool *pool; cx_scratch *sc; } qctx;
static void run_qconv(void *v)
{
    qctx *c = v;
    cx_qconv_run(c->c, c->in, c->x, c->out, c->y, NULL, c->pool, c->sc);
}

static int bench_qconv_layer(const bopts *o, const char *bench, const char *name, cx_dims in, int cout,
                             int groups, const cx_conv_geom *g)
{
    char err[256];
    const cx_kernels *kt = cx_kernels_select(o->isa, err, sizeof err);
    if (!kt) return cli_fail("--isa: %s", err);
    const cx_q8_kernels *qk = o->q8 ? cx_q8_kernels_by_name(o->q8) : cx_q8_kernels_for(kt);
    if (in.c % groups || cout % groups) return cli_usage(USAGE, "--groups %d does not divide %d and %d", groups, in.c, cout);
    size_t wn = (size_t)cout * (size_t)(in.c / groups) * (size_t)(g->k[0] * g->k[1] * g->k[2]);
    int8_t *w = malloc(wn);
    float *ws = malloc((size_t)cout * sizeof(float)), *b = malloc((size_t)cout * sizeof(float));
    if (!w || !ws || !b) { free(w); free(ws); free(b); return cli_fail("%s: out of memory", name); }
    for (size_t i = 0; i < wn; i++) w[i] = (int8_t)((int)((i * 2654435761u) % 255) - 127);
    for (int i = 0; i < cout; i++) { ws[i] = 0.01f; b[i] = 0.01f * (float)i; }
    cx_qconv_desc d = { .cin = in.c, .cout = cout, .groups = groups, .g = *g, .w = w, .w_scale = ws, .bias = b,
                        .a_scale = 0.05f, .a_zp = 3, .y_scale = 0.5f, .y_zp = 0, .relu = true };
    cx_qconv c;
    cortex_status st = cx_qconv_create(&c, &d, qk);
    free(w); free(ws); free(b);
    if (st != CORTEX_OK) return cli_fail("%s: cannot create int8 conv (%s)", name, cortex_status_str(st));
    cx_dims out;
    if (cx_qconv_out_dims(&c, in, &out) != CORTEX_OK) { cx_qconv_destroy(&c); return cli_usage(USAGE, "input too small for the kernel"); }
    uint8_t *x = cx_alloc(cx_dims_numel(in)), *y = cx_alloc(cx_dims_numel(out));
    cortex_pool *pool = NULL;
    if (o->threads > 1) cortex_pool_create((int)o->threads, &pool);
    int nt = cortex_pool_threads(pool), rc = 0;
    size_t sb = CX_ROUND_UP(cx_qconv_scratch_bytes(&c), CX_ALIGN);
    void *sm = cx_alloc(sb * (size_t)nt);
    cx_scratch *sc = calloc((size_t)nt, sizeof *sc);
    if (!x || !y || !sm || !sc) { rc = cli_fail("%s: out of memory", name); goto done; }
    for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ (char *)sm + sb * (size_t)i, sb };
    for (size_t i = 0; i < cx_dims_numel(in); i++) x[i] = (uint8_t)((i * 7 + i / 13) % 251);
    qctx cc = { &c, in, out, x, y, pool, sc };
    g_cold_pool = pool;
    double med, mn;
    time_it(run_qconv, &cc, o->warmup, o->iters, &med, &mn);
    report(o, bench, name, qk->name, med, mn, cx_qconv_macs(&c, out));
done:
    cx_free(x);
    cx_free(y);
    cx_free(sm);
    free(sc);
    cortex_pool_destroy(pool);
    cx_qconv_destroy(&c);
    return rc;
}

static int bench_conv_layer(const bopts *o, const char *bench, const char *name, cx_dims in, int cout,
                            int groups, const cx_conv_geom *g)
{
    char err[256];
    const cx_kernels *kt = cx_kernels_select(o->isa, err, sizeof err);
    if (!kt) return cli_fail("--isa: %s", err);
    if (in.c % groups || cout % groups) return cli_usage(USAGE, "--groups %d does not divide %d and %d", groups, in.c, cout);
    size_t wn = (size_t)cout * (size_t)(in.c / groups) * (size_t)(g->k[0] * g->k[1] * g->k[2]);
    float *w = cx_alloc(wn * sizeof(float)), *b = cx_alloc((size_t)cout * sizeof(float));
    cx_conv c;
    int rc = 0;
    if (!w || !b) return cli_fail("%s: out of memory", name);
    for (size_t i = 0; i < wn; i++) w[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < cout; i++) b[i] = 0.01f * (float)i;
    if (cx_conv_create(&c, in.c, cout, groups, g, true, w, b, kt) != CORTEX_OK) {
        cx_free(w); cx_free(b);
        return cli_fail("%s: cannot create conv", name);
    }
    cx_free(w);
    cx_free(b);
    cx_dims out;
    if (cx_conv_out_dims(&c, in, &out) != CORTEX_OK) { cx_conv_destroy(&c); return cli_usage(USAGE, "input too small for the kernel"); }
    float *x = cx_alloc(cx_dims_numel(in) * sizeof(float)), *y = cx_alloc(cx_dims_numel(out) * sizeof(float));
    cortex_pool *pool = NULL;
    if (o->threads > 1) cortex_pool_create((int)o->threads, &pool);
    int nt = cortex_pool_threads(pool);
    size_t sb = cx_conv_scratch_bytes(&c);
    void *sm = cx_alloc(sb * (size_t)nt);
    cx_scratch *sc = calloc((size_t)nt, sizeof *sc);
    if (!x || !y || !sm || !sc) { rc = cli_fail("%s: out of memory", name); goto done; }
    for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ (char *)sm + sb * (size_t)i, sb };
    for (size_t i = 0; i < cx_dims_numel(in); i++) x[i] = (float)(i % 17) * 0.1f - 0.8f;
    cctx cc = { &c, in, out, x, y, pool, sc };
    g_cold_pool = pool;
    double med, mn;
    time_it(run_conv, &cc, o->warmup, o->iters, &med, &mn);
    report(o, bench, name, kt->name, med, mn, cx_conv_macs(&c, out));
done:
    cx_free(x);
    cx_free(y);
    cx_free(sm);
    free(sc);
    cortex_pool_destroy(pool);
    cx_conv_destroy(&c);
    return rc;
}

static int bench_gemm(const bopts *o)
{
    long mnk[3];
    if (o->npos != 3) return cli_usage(USAGE, "gemm needs M N K");
    for (int i = 0; i < 3; i++)
        if (!cli_int(o->pos[i], 1, 1 << 20, &mnk[i])) return cli_usage(USAGE, "gemm: '%s' is not a positive number", o->pos[i]);
    cx_dims in = { 1, 1, (int)mnk[0], 1, (int)mnk[2] };
    cx_conv_geom g = { { 1, 1, 1 }, { 1, 1, 1 }, { 0, 0, 0 }, { 1, 1, 1 } };
    char name[96];
    snprintf(name, sizeof name, "%ldx%ldx%ld", mnk[0], mnk[1], mnk[2]);
    if (o->int8) return bench_qconv_layer(o, "gemm", name, in, (int)mnk[1], 1, &g);
    return bench_conv_layer(o, "gemm", name, in, (int)mnk[1], 1, &g);
}

static int bench_preset(const bopts *o);

static int bench_conv(const bopts *o)
{
    if (o->preset) {
        if (o->rank || o->out || o->kernel_rank || o->stride_rank || o->pad_rank || o->groups != 1)
            return cli_usage(USAGE, "--preset gives the shape: no --shape, --out, --kernel, --stride, --pad or --groups");
        return bench_preset(o);
    }
    if (o->rank != 4 && o->rank != 5) return cli_usage(USAGE, "conv needs --shape NxCxHxW or NxCxTxHxW");
    if (o->out <= 0) return cli_usage(USAGE, "conv needs --out K");
    if (!o->kernel_rank) return cli_usage(USAGE, "conv needs --kernel (e.g. 3x3)");
    cx_dims in = { (int)o->shape[0], 1, (int)o->shape[o->rank - 2], (int)o->shape[o->rank - 1], (int)o->shape[1] };
    if (o->rank == 5) in.d = (int)o->shape[2];
    /* one stride / pad value: every spatial axis (2-D: h, w); two or three:
     * the last axes (d, h, w), as --kernel */
    cx_conv_geom g;
    for (int i = 0; i < 3; i++) {
        g.k[i] = o->kernel[i];
        const bool active = (o->rank == 5) || i > 0;  /* 2-D: no stride/pad in depth */
        g.s[i] = 1;
        g.p[i] = active ? o->kernel[i] / 2 : 0;
        g.dil[i] = 1;
        if (active && o->stride_rank == 1) g.s[i] = o->stride[0];
        else if (o->stride_rank > 1 && i >= 3 - o->stride_rank) g.s[i] = o->stride[i - (3 - o->stride_rank)];
        if (active && o->pad_rank == 1) g.p[i] = o->pad[0];
        else if (o->pad_rank > 1 && i >= 3 - o->pad_rank) g.p[i] = o->pad[i - (3 - o->pad_rank)];
    }
    if (o->rank == 4 && (g.s[0] != 1 || g.p[0] != 0 || g.k[0] != 1))
        return cli_usage(USAGE, "a 2-D --shape takes a 2-D --kernel, --stride and --pad (or 1 in depth)");
    char name[200], shape[64];
    if (o->rank == 5) snprintf(shape, sizeof shape, "%dx%dx%dx%dx%d", in.n, in.c, in.d, in.h, in.w);
    else snprintf(shape, sizeof shape, "%dx%dx%dx%d", in.n, in.c, in.h, in.w);
    snprintf(name, sizeof name, "%s->%ld k%dx%dx%d s%dx%dx%d p%dx%dx%d g%ld", shape, o->out, g.k[0], g.k[1], g.k[2],
             g.s[0], g.s[1], g.s[2], g.p[0], g.p[1], g.p[2], o->groups);
    if (o->int8) return bench_qconv_layer(o, "conv", name, in, (int)o->out, (int)o->groups, &g);
    return bench_conv_layer(o, "conv", name, in, (int)o->out, (int)o->groups, &g);
}

/* ---- conv presets: the distinct conv shapes of three backbones at batch 1
 * (ResNet-50 and ResNeXt-101 32x8d at 224x224, R(2+1)D-18 at 16x112x112),
 * padding k/2 per dimension as the nets use it. */
typedef struct conv_preset {
    const char *set, *layer;
    int c, t, h, w;         /* input channels and size (t = 0: a 2-D layer) */
    int out, k[3], s[3], groups;
} conv_preset;

static const conv_preset PRESETS[] = {
    /* set                layer          c   t    h    w  out    kernel     stride    g */
    { "resnet50",         "conv1",       3,  0, 224, 224, 64,  {1,7,7}, {1,2,2},  1 },
    { "resnet50",         "l1.1x1in",    64, 0, 56, 56,   64,  {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l1.3x3",      64, 0, 56, 56,   64,  {1,3,3}, {1,1,1},  1 },
    { "resnet50",         "l1.1x1out",   64, 0, 56, 56,   256, {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l1.1x1red",   256, 0, 56, 56,  64,  {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l2.3x3s2",    128, 0, 56, 56,  128, {1,3,3}, {1,2,2},  1 },
    { "resnet50",         "l2.down",     256, 0, 56, 56,  512, {1,1,1}, {1,2,2},  1 },
    { "resnet50",         "l2.3x3",      128, 0, 28, 28,  128, {1,3,3}, {1,1,1},  1 },
    { "resnet50",         "l2.1x1red",   512, 0, 28, 28,  128, {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l2.1x1out",   128, 0, 28, 28,  512, {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l3.3x3",      256, 0, 14, 14,  256, {1,3,3}, {1,1,1},  1 },
    { "resnet50",         "l3.1x1red",   1024, 0, 14, 14, 256, {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l3.1x1out",   256, 0, 14, 14,  1024, {1,1,1}, {1,1,1}, 1 },
    { "resnet50",         "l4.3x3",      512, 0, 7, 7,    512, {1,3,3}, {1,1,1},  1 },
    { "resnet50",         "l4.1x1red",   2048, 0, 7, 7,   512, {1,1,1}, {1,1,1},  1 },
    { "resnet50",         "l4.1x1out",   512, 0, 7, 7,    2048, {1,1,1}, {1,1,1}, 1 },
    { "resnext101_32x8d", "l1.g3x3",     256, 0, 56, 56,  256, {1,3,3}, {1,1,1},  32 },
    { "resnext101_32x8d", "l1.1x1",      256, 0, 56, 56,  256, {1,1,1}, {1,1,1},  1 },
    { "resnext101_32x8d", "l2.g3x3s2",   512, 0, 56, 56,  512, {1,3,3}, {1,2,2},  32 },
    { "resnext101_32x8d", "l2.g3x3",     512, 0, 28, 28,  512, {1,3,3}, {1,1,1},  32 },
    { "resnext101_32x8d", "l2.1x1",      512, 0, 28, 28,  512, {1,1,1}, {1,1,1},  1 },
    { "resnext101_32x8d", "l3.g3x3",     1024, 0, 14, 14, 1024, {1,3,3}, {1,1,1}, 32 },
    { "resnext101_32x8d", "l3.1x1",      1024, 0, 14, 14, 1024, {1,1,1}, {1,1,1}, 1 },
    { "resnext101_32x8d", "l4.g3x3",     2048, 0, 7, 7,   2048, {1,3,3}, {1,1,1}, 32 },
    { "resnext101_32x8d", "l4.1x1",      2048, 0, 7, 7,   2048, {1,1,1}, {1,1,1}, 1 },
    /* R(2+1)D: spatial 1x3x3 into the mid width, temporal 3x1x1 back */
    { "r2plus1d_18",      "stem.s",      3,  16, 112, 112, 45, {1,7,7}, {1,2,2},  1 },
    { "r2plus1d_18",      "stem.t",      45, 16, 56, 56,  64,  {3,1,1}, {1,1,1},  1 },
    { "r2plus1d_18",      "l1.s",        64, 16, 56, 56,  144, {1,3,3}, {1,1,1},  1 },
    { "r2plus1d_18",      "l1.t",        144, 16, 56, 56, 64,  {3,1,1}, {1,1,1},  1 },
    { "r2plus1d_18",      "l2.s",        128, 8, 28, 28,  288, {1,3,3}, {1,1,1},  1 },
    { "r2plus1d_18",      "l2.t",        288, 8, 28, 28,  128, {3,1,1}, {1,1,1},  1 },
    { "r2plus1d_18",      "l3.s",        256, 4, 14, 14,  576, {1,3,3}, {1,1,1},  1 },
    { "r2plus1d_18",      "l3.t",        576, 4, 14, 14,  256, {3,1,1}, {1,1,1},  1 },
    { "r2plus1d_18",      "l4.s",        512, 2, 7, 7,    1152, {1,3,3}, {1,1,1}, 1 },
    { "r2plus1d_18",      "l4.t",        1152, 2, 7, 7,   512, {3,1,1}, {1,1,1},  1 },
};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

static void preset_desc(const conv_preset *p, char *buf, size_t n)
{
    if (p->t)
        snprintf(buf, n, "%s/%s 1x%dx%dx%dx%d->%d k%dx%dx%d s%dx%dx%d g%d", p->set, p->layer, p->c, p->t, p->h, p->w,
                 p->out, p->k[0], p->k[1], p->k[2], p->s[0], p->s[1], p->s[2], p->groups);
    else
        snprintf(buf, n, "%s/%s 1x%dx%dx%d->%d k%dx%d s%d g%d", p->set, p->layer, p->c, p->h, p->w, p->out, p->k[1],
                 p->k[2], p->s[1], p->groups);
}

/* --preset list | SET | SET/LAYER */
static int bench_preset(const bopts *o)
{
    char desc[160];
    if (!strcmp(o->preset, "list")) {
        for (size_t i = 0; i < NPRESETS; i++) {
            preset_desc(&PRESETS[i], desc, sizeof desc);
            printf("%s\n", desc);
        }
        return 0;
    }
    const char *slash = strchr(o->preset, '/');
    const size_t setlen = slash ? (size_t)(slash - o->preset) : strlen(o->preset);
    int found = 0, rc = 0;
    for (size_t i = 0; i < NPRESETS && !rc; i++) {
        const conv_preset *p = &PRESETS[i];
        if (strlen(p->set) != setlen || strncmp(p->set, o->preset, setlen)) continue;
        if (slash && strcmp(p->layer, slash + 1)) continue;
        found++;
        cx_dims in = { 1, p->t ? p->t : 1, p->h, p->w, p->c };
        cx_conv_geom g;
        for (int d = 0; d < 3; d++) {
            g.k[d] = p->k[d];
            g.s[d] = p->s[d];
            g.p[d] = p->k[d] / 2;
            g.dil[d] = 1;
        }
        preset_desc(p, desc, sizeof desc);
        rc = o->int8 ? bench_qconv_layer(o, "conv", desc, in, p->out, p->groups, &g)
                     : bench_conv_layer(o, "conv", desc, in, p->out, p->groups, &g);
    }
    if (!found)
        return cli_usage(USAGE, "--preset: no preset '%s' (sets: resnet50, resnext101_32x8d, r2plus1d_18; "
                                "'--preset list' prints every SET/LAYER)", o->preset);
    return rc;
}

/* ---- peak: the ceiling every GEMM result is a fraction of */
static int bench_peak(const bopts *o)
{
    char err[256];
    const cx_kernels *kt = cx_kernels_select(o->isa, err, sizeof err);
    if (!kt) return cli_fail("--isa: %s", err);
    const double secs = 0.25;
    double f[5], q[5];
    int n = o->iters < 5 ? (int)(o->iters > 0 ? o->iters : 1) : 5;
    for (int i = 0; i < n; i++) {
        f[i] = kt->f32_peak ? kt->f32_peak(secs) : 0;
        q[i] = kt->q8_peak ? kt->q8_peak(secs) : 0;
    }
    double fb = 0, qb = 0; /* best of n: a peak is what the core can do when nothing interferes */
    for (int i = 0; i < n; i++) { fb = f[i] > fb ? f[i] : fb; qb = q[i] > qb ? q[i] : qb; }
    if (o->json) {
        printf("{\"bench\":\"peak\",\"name\":\"f32_fma\",\"threads\":1,\"iters\":%d,\"gflops\":%.2f,\"isa\":\"%s\"}\n", n, fb, kt->name);
        if (qb > 0) printf("{\"bench\":\"peak\",\"name\":\"int8_madd\",\"threads\":1,\"iters\":%d,\"gflops\":%.2f,\"isa\":\"%s\"}\n", n, qb, kt->name);
    } else {
        printf("peak   f32 FMA                              %-7s thr 1    %8.1f GFLOP/s (best of %d)\n", kt->name, fb, n);
        if (qb > 0) printf("peak   int8 multiply-add                    %-7s thr 1    %8.1f GOPS    (best of %d)\n", kt->name, qb, n);
        const char *src;
        const cx_f32_blocking b = cx_kernels_blocking(kt, &src);
        printf("blocking  L2 %u KiB (%s): weight block %u KiB, Winograd block %u KiB (%u KiB for DRAM-bound layers)\n",
               b.l2_kib, src, b.conv_block_kib, b.wino_block_kib, b.wino_heavy_block_kib);
        const cx_q8_kernels *qk = cx_q8_kernels_for(kt);
        printf("blocking  int8 (%s): weight block %u KiB\n", qk->name, cx_q8_block_kib(qk, NULL));
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return cli_usage(USAGE, "missing command");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { fputs(USAGE, stdout); return 0; }
    bopts o = { 0 };
    int rc = parse(argc, argv, &o);
    g_cold = o.cold;
    if (rc) return rc;
    if (cli_check_isa(o.isa)) return 1;
    if (!strcmp(argv[1], "model")) return bench_model(&o);
    if (!strcmp(argv[1], "gemm")) return bench_gemm(&o);
    if (!strcmp(argv[1], "conv")) return bench_conv(&o);
    if (!strcmp(argv[1], "peak")) return bench_peak(&o);
    return cli_usage(USAGE, "unknown command '%s'", argv[1]);
}
