/* Winograd vs igemm 3x3 conv benchmark (not built by default).
 *
 *   make && gcc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc bench/wino_bench.c build/libcortex.a -lm -lpthread -o build/wino-bench
 *   build/wino-bench [--threads N] [--iters N] [--isa avx512|avx2|scalar] [CxHxW ...]
 *
 * Default shapes: ResNet-50's 3x3 stride-1 layers, batch 1, cout = cin, pad 1.
 * For each shape: cx_conv (igemm) and cx_wino F4 and F2 are created from the
 * same weights; runs are interleaved (igemm, F4, F2, igemm, ...) so a shared
 * machine's noise hits all alike; medians of wall time and of thread CPU time
 * (1 thread: the CPU time ignores time stolen by other tenants). --cold
 * flushes the caches before every run and re-reads input, output and
 * scratch: only the weights are cold, as in a net whose weights exceed L3. Accuracy:
 * max |y - ref| / max |ref| of each against cx_conv_ref (double), ReLU off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layers/conv_winograd.h"
#include "layers/layers.h"
#include "runtime/common.h"

static double now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* --cold: evict the caches (weights as cold as in a net whose weights exceed
 * L3), then bring back the scratch, output and input (the previous layers
 * just used them). */
static float *g_flush;
static volatile float g_sink;
static void flush_caches(const float *x, size_t xn, const float *y, size_t yn, const float *sc, size_t scn)
{
    const size_t n = (size_t)64 << 20 >> 2;
    if (!g_flush) { g_flush = cx_alloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) g_flush[i] = 1.0f; }
    float s = 0;
    for (size_t i = 0; i < n; i += 16) { g_flush[i] += 1.0f; s += g_flush[i]; }
    for (size_t i = 0; i < scn; i += 16) s += sc[i];
    for (size_t i = 0; i < yn; i += 16) s += y[i];
    for (size_t i = 0; i < xn; i += 16) s += x[i];
    g_sink = s;
}

static double layer_err(const float *a, const float *b, size_t n)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

int main(int argc, char **argv)
{
    int threads = 1, iters = 31, only = -1, cold = 0;
    const char *isa = NULL;
    int shapes[16][3], ns = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa = argv[++i];
        else if (!strcmp(argv[i], "--cold")) cold = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = atoi(argv[++i]); /* profiling: 0 igemm, 1 F4, 2 F2 */
        else if (ns < 16 && sscanf(argv[i], "%dx%dx%d", &shapes[ns][0], &shapes[ns][1], &shapes[ns][2]) == 3) ns++;
    }
    if (!ns) {
        const int d[4][3] = { { 64, 56, 56 }, { 128, 28, 28 }, { 256, 14, 14 }, { 512, 7, 7 } };
        memcpy(shapes, d, sizeof d);
        ns = 4;
    }
    char err[128];
    const cx_kernels *kt = cx_kernels_select(isa, err, sizeof err);
    if (!kt) { fprintf(stderr, "%s\n", err); return 1; }
    cortex_pool *pool = NULL;
    if (threads > 1 && cortex_pool_create(threads, &pool) != CORTEX_OK) return 1;
    const int nt = cortex_pool_threads(pool);
    printf("isa %s, %d thread(s), %d interleaved runs%s; times in ms (median wall / median thread-CPU)\n", kt->name, nt, iters,
           cold ? ", caches flushed before each (then input, output, scratch re-read: weights cold)" : "");
    printf("%-16s %17s %17s %17s %8s %8s | %9s %9s %9s\n", "shape", "igemm", "wino F4", "wino F2", "F4/ig", "F2/ig",
           "err igemm", "err F4", "err F2");
    for (int s = 0; s < ns; s++) {
        const int C = shapes[s][0], H = shapes[s][1], W = shapes[s][2];
        cx_conv_geom g = { { 1, 3, 3 }, { 1, 1, 1 }, { 0, 1, 1 }, { 1, 1, 1 } };
        size_t wn = (size_t)C * C * 9;
        float *w = malloc(wn * sizeof(float)), *b = malloc((size_t)C * sizeof(float));
        float ws = (float)sqrt(3.0 / (9.0 * C));
        for (size_t i = 0; i < wn; i++) w[i] = ws * frand();
        for (int i = 0; i < C; i++) b[i] = 0.1f * frand();
        cx_conv conv;
        cx_wino wf[2];
        if (cx_conv_create(&conv, C, C, 1, &g, false, w, b, kt) ||
            cx_wino_create(&wf[0], CX_WINO_F4, C, C, 1, &g, false, w, b, kt) ||
            cx_wino_create(&wf[1], CX_WINO_F2, C, C, 1, &g, false, w, b, kt)) return 1;
        cx_dims in = { 1, 1, H, W, C }, out;
        cx_conv_out_dims(&conv, in, &out);
        size_t xn = cx_dims_numel(in), yn = cx_dims_numel(out);
        float *x = malloc(xn * sizeof(float)), *y[3], *ref = malloc(yn * sizeof(float));
        for (size_t i = 0; i < xn; i++) x[i] = frand();
        for (int k = 0; k < 3; k++) y[k] = cx_alloc(yn * sizeof(float));
        size_t sb = cx_conv_scratch_bytes(&conv);
        sb = CX_MAX(sb, cx_wino_scratch_bytes(&wf[0]));
        sb = CX_MAX(sb, cx_wino_scratch_bytes(&wf[1]));
        sb = CX_ROUND_UP(sb, (size_t)CX_ALIGN);
        char *sm = cx_alloc(sb * (size_t)nt);
        cx_scratch sc[64];
        for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ sm + sb * (size_t)i, sb };
        double *tw[3], *tc[3];
        for (int k = 0; k < 3; k++) { tw[k] = malloc(sizeof(double) * (size_t)iters); tc[k] = malloc(sizeof(double) * (size_t)iters); }
        for (int it = -3; it < iters; it++)
            for (int k = 0; k < 3; k++) {
                if (only >= 0 && k != only) { tw[k][it < 0 ? 0 : it] = tc[k][it < 0 ? 0 : it] = 0; continue; }
                if (cold) flush_caches(x, xn, y[k], yn, (const float *)sm, sb * (size_t)nt / sizeof(float));
                double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
                if (k == 0) cx_conv_run(&conv, in, x, out, y[0], NULL, pool, sc);
                else cx_wino_run(&wf[k - 1], in, x, out, y[k], NULL, pool, sc);
                double c1 = now(CLOCK_THREAD_CPUTIME_ID), w1 = now(CLOCK_MONOTONIC);
                if (it >= 0) { tw[k][it] = w1 - w0; tc[k][it] = c1 - c0; }
            }
        double mw[3], mc[3];
        for (int k = 0; k < 3; k++) { mw[k] = median(tw[k], iters); mc[k] = median(tc[k], iters); }
        if (only >= 0) { printf("%dx%dx%d: %.3f ms\n", C, H, W, mc[only]); continue; }
        cx_conv_ref(C, C, 1, &g, w, b, -INFINITY, INFINITY, in, x, out, ref, NULL);
        char name[32];
        snprintf(name, sizeof name, "%dx%dx%d", C, H, W);
        printf("%-16s %7.3f / %7.3f %7.3f / %7.3f %7.3f / %7.3f %8.2f %8.2f | %9.2e %9.2e %9.2e\n", name, mw[0], mc[0], mw[1],
               mc[1], mw[2], mc[2], (nt > 1 ? mw[1] / mw[0] : mc[1] / mc[0]), (nt > 1 ? mw[2] / mw[0] : mc[2] / mc[0]),
               layer_err(y[0], ref, yn), layer_err(y[1], ref, yn), layer_err(y[2], ref, yn));
        fflush(stdout);
        for (int k = 0; k < 3; k++) { free(tw[k]); free(tc[k]); cx_free(y[k]); }
        cx_free(sm);
        free(x); free(ref); free(w); free(b);
        cx_conv_destroy(&conv);
        cx_wino_destroy(&wf[0]);
        cx_wino_destroy(&wf[1]);
    }
    cortex_pool_destroy(pool);
    return 0;
}
