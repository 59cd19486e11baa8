/* Layer tests: the convolution (every kernel table this CPU runs, igemm and
 * depthwise paths, 1-D/2-D/3-D, groups, stride, padding, dilation, residual,
 * ReLU, threads) against the naive reference cx_conv_ref; pooling against a
 * naive reference written here; the NCHW->NDHWC conversion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtest.h"
#include "layers/layers.h"
#include "runtime/pool.h"

typedef struct conv_case {
    const char *name;
    int n, cin, d, h, w, cout, groups;
    int k[3], s[3], p[3], dil[3];
    int relu, residual;
} conv_case;

static cx_conv_geom case_geom(const conv_case *cc)
{
    cx_conv_geom g;
    for (int i = 0; i < 3; i++) {
        g.k[i] = cc->k[i]; g.s[i] = cc->s[i]; g.p[i] = cc->p[i]; g.dil[i] = cc->dil[i] ? cc->dil[i] : 1;
    }
    return g;
}

/* cx_conv_run with per-thread scratch allocated and freed around it */
static void conv_run(const cx_conv *c, cx_dims in, const float *x, cx_dims out, float *y, const float *res,
                     cortex_pool *pool)
{
    int nt = cortex_pool_threads(pool);
    size_t sb = cx_conv_scratch_bytes(c);
    cx_scratch *sc = calloc((size_t)nt, sizeof *sc);
    for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ malloc(sb), sb };
    cx_conv_run(c, in, x, out, y, res, pool, sc);
    for (int i = 0; i < nt; i++) free(sc[i].p);
    free(sc);
}

/* Runs one case on one table with the given pool; returns 1 on success. */
static int run_conv_case(const conv_case *cc, const cx_kernels *kt, cortex_pool *pool)
{
    const cx_conv_geom g = case_geom(cc);
    int ks = g.k[0] * g.k[1] * g.k[2];
    size_t wn = (size_t)cc->cout * (size_t)(cc->cin / cc->groups) * (size_t)ks;
    float *w = malloc(wn * sizeof(float)), *b = malloc((size_t)cc->cout * sizeof(float));
    cxt_fill(w, wn, -1.0f, 1.0f);
    cxt_fill(b, (size_t)cc->cout, -0.5f, 0.5f);
    cx_conv c;
    ck_assert_int_eq(cx_conv_create(&c, cc->cin, cc->cout, cc->groups, &g, cc->relu, w, b, kt), CORTEX_OK);
    cx_dims in = { cc->n, cc->d, cc->h, cc->w, cc->cin }, out;
    ck_assert_int_eq(cx_conv_out_dims(&c, in, &out), CORTEX_OK);
    size_t xn = cx_dims_numel(in), yn = cx_dims_numel(out);
    float *x = malloc(xn * sizeof(float)), *ref = malloc(yn * sizeof(float)), *res = NULL;
    cxt_fill(x, xn, -1.0f, 1.0f);
    if (cc->residual) { res = malloc(yn * sizeof(float)); cxt_fill(res, yn, -1.0f, 1.0f); }
    cx_conv_ref(cc->cin, cc->cout, cc->groups, &g, w, b, cc->relu ? 0.0f : -INFINITY, INFINITY, in, x, out, ref, res);
    cxt_buf y = cxt_buf_new(yn);
    int nt = cortex_pool_threads(pool);
    conv_run(&c, in, x, out, y.p, res, pool);
    size_t worst;
    double tol = 2e-5 * sqrt((double)ks * (cc->cin / cc->groups));
    double err = cxt_rel_err(y.p, ref, yn, 1.0, &worst);
    int ok = err <= tol && cxt_buf_red_ok(&y);
    if (!ok)
        fprintf(stderr, "conv case '%s' on %s (%d threads): rel err %g at %zu (got %g want %g), red zones %s\n",
                cc->name, kt->name, nt, err, worst, y.p[worst], ref[worst], cxt_buf_red_ok(&y) ? "ok" : "WRITTEN");
    cxt_buf_free(&y);
    cx_conv_destroy(&c);
    free(w); free(b); free(x); free(ref); free(res);
    return ok;
}

static const conv_case CASES[] = {
    /* name                  n cin d  h  w  cout g   k         s         p         dil       relu res */
    { "1x1 pointwise",       1, 16, 1, 5, 7, 24, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 1, 0 },
    { "1x1 k<4",             2, 3, 1, 4, 3, 5, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 0, 0 },
    { "1x1 stride 2",        1, 8, 1, 9, 9, 33, 1, {1,1,1}, {1,2,2}, {0,0,0}, {1,1,1}, 1, 0 },
    { "3x3 pad 1",           1, 7, 1, 6, 5, 17, 1, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
    { "3x3 stride 2 odd",    2, 5, 1, 7, 9, 8, 1, {1,3,3}, {1,2,2}, {0,1,1}, {1,1,1}, 1, 0 },
    { "7x7 stem s2 p3",      1, 3, 1, 23, 19, 16, 1, {1,7,7}, {1,2,2}, {0,3,3}, {1,1,1}, 1, 0 },
    { "7x7 s2 wide + res",   2, 3, 1, 9, 41, 8, 1, {1,7,7}, {1,2,2}, {0,3,3}, {1,1,1}, 1, 1 },  /* most kernel rows read in place */
    { "kc 3, w dilation 2",  1, 3, 1, 8, 12, 5, 1, {1,3,3}, {1,1,1}, {0,1,2}, {1,1,2}, 0, 0 },  /* runs always gathered */
    { "kc 8, 1x5 no pad",    1, 8, 1, 3, 11, 9, 1, {1,1,5}, {1,1,1}, {0,0,0}, {1,1,1}, 0, 0 },  /* every run in place */
    { "n not mult of NR",    1, 9, 1, 3, 3, 37, 1, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 0, 0 },
    { "single pixel (fc)",   3, 64, 1, 1, 1, 10, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 0, 0 },
    { "residual + relu",     1, 12, 1, 5, 5, 12, 1, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 1 },
    { "residual no relu",    2, 8, 1, 4, 6, 16, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 0, 1 },
    { "groups 4 (resnext)",  1, 16, 1, 6, 6, 16, 4, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
    { "groups 32 x1 ch",     1, 32, 1, 5, 5, 32, 32, {1,3,3}, {1,2,2}, {0,1,1}, {1,1,1}, 1, 0 },
    { "groups 2 wide",       1, 40, 1, 4, 4, 72, 2, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
    /* ~330 KiB of packed weights per group: one group per weight block, the
     * next group's weights prefetched (conv.c igemm_task) */
    { "groups 4 x 96 ch",    1, 384, 1, 5, 6, 384, 4, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 1 },
    { "groups 32 x 16 ch",   1, 512, 1, 4, 5, 512, 32, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 0, 0 },
    { "groups 32 x 32 ch (resnext-101 32x8d stage 3)", 1, 1024, 1, 7, 6, 1024, 32, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 1 },
    { "depthwise 3x3",       1, 24, 1, 7, 7, 24, 24, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
    { "depthwise 3x3x3 s2",  1, 19, 4, 6, 6, 19, 19, {3,3,3}, {2,2,2}, {1,1,1}, {1,1,1}, 1, 1 },
    /* long rows: the taps advance along w between interior columns (conv.c dw_task) */
    { "depthwise 5x5 s2 dil2 wide", 2, 37, 1, 9, 23, 37, 37, {1,5,5}, {1,2,2}, {0,3,4}, {1,2,2}, 1, 1 },
    { "depthwise 3x3x3 unpadded", 1, 20, 5, 5, 17, 20, 20, {3,3,3}, {1,1,3}, {0,0,0}, {1,1,1}, 0, 0 },
    { "3-D 3x3x3",           1, 4, 5, 6, 5, 8, 1, {3,3,3}, {1,1,1}, {1,1,1}, {1,1,1}, 1, 0 },
    { "3-D stem 3x7x7",      1, 3, 4, 15, 15, 8, 1, {3,7,7}, {1,2,2}, {1,3,3}, {1,1,1}, 1, 0 },
    { "(2+1)D temporal 3x1x1", 1, 6, 5, 4, 4, 10, 1, {3,1,1}, {2,1,1}, {1,0,0}, {1,1,1}, 1, 0 },
    /* temporal kd x 1 x 1: row tiles run frames fastest, within a frame (conv.c); 35 pixels a frame: partial tiles */
    { "temporal 3x1x1, 2 clips", 2, 24, 6, 5, 7, 40, 1, {3,1,1}, {1,1,1}, {1,0,0}, {1,1,1}, 1, 1 },
    { "temporal 3x1x1, 2 weight blocks", 1, 256, 4, 3, 5, 256, 1, {3,1,1}, {1,1,1}, {1,0,0}, {1,1,1}, 0, 1 },
    { "temporal 3x1x1 s2, 2 clips", 2, 5, 7, 5, 3, 9, 1, {3,1,1}, {2,1,1}, {1,0,0}, {1,1,1}, 1, 1 },
    { "1-D kernel 1x1x5",    2, 4, 1, 1, 17, 6, 1, {1,1,5}, {1,1,1}, {0,0,2}, {1,1,1}, 0, 0 },
    { "dilation 2",          1, 5, 1, 9, 9, 7, 1, {1,3,3}, {1,1,1}, {0,2,2}, {1,2,2}, 1, 0 },
    { "padding > half",      1, 3, 1, 3, 3, 4, 1, {1,3,3}, {1,1,1}, {0,2,2}, {1,1,1}, 0, 0 },
    { "large k (K=1152)",    1, 128, 1, 3, 3, 20, 1, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
};

/* Grouped 3x3 stride-1 layers whose groups fill whole panels of the main
 * kernel take the Winograd path on the SIMD tables (the cases above check
 * its numbers); narrower groups and the scalar table stay direct. */
START_TEST(conv_grouped_winograd_choice)
{
    const char *env = getenv("CORTEX_WINOGRAD");
    if (env && env[0] == '0') return;
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    cx_conv_geom g = { { 1, 3, 3 }, { 1, 1, 1 }, { 0, 1, 1 }, { 1, 1, 1 } };
    float *w = calloc((size_t)1024 * 32 * 9, sizeof(float));
    for (int i = 0; i < nt; i++) {
        const int nr = (int)t[i]->f32_gemm.nr;
        cx_conv c;
        ck_assert_int_eq(cx_conv_create(&c, 1024, 1024, 32, &g, true, w, NULL, t[i]), CORTEX_OK);
        ck_assert_msg(c.algo == (t[i] == &cx_kernels_scalar ? CX_CONV_IGEMM : CX_CONV_WINO), "32 per group on %s: algo %d",
                      t[i]->name, (int)c.algo);
        cx_conv_destroy(&c);
        /* 8 per group: never a whole panel */
        ck_assert_int_eq(cx_conv_create(&c, 256, 256, 32, &g, true, w, NULL, t[i]), CORTEX_OK);
        ck_assert_msg(c.algo != CX_CONV_WINO || 8 % nr == 0, "8 per group on %s took Winograd", t[i]->name);
        cx_conv_destroy(&c);
    }
    free(w);
}
END_TEST

START_TEST(conv_named_cases)
{
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    cortex_pool *pool2 = NULL;
    ck_assert_int_eq(cortex_pool_create(2, &pool2), CORTEX_OK);
    for (int i = 0; i < nt; i++)
        for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
            ck_assert_msg(run_conv_case(&CASES[c], t[i], NULL), "case %s on %s", CASES[c].name, t[i]->name);
            ck_assert_msg(run_conv_case(&CASES[c], t[i], pool2), "case %s on %s, 2 threads", CASES[c].name, t[i]->name);
        }
    cortex_pool_destroy(pool2);
}
END_TEST

/* The blocking budgets (kernels.h) follow the L2 size: CORTEX_L2_KIB
 * overrides it and is validated; any budget gives bit-identical outputs
 * (blocking orders tasks, never a sum), and the tiny blocks of a 64 KiB L2
 * (many column blocks, one group per block, small Winograd tile blocks) pass
 * every named case against the reference. */
static void run_pair_bitwise(const conv_case *cc, const cx_kernels *kt, cortex_pool *pool)
{
    const cx_conv_geom g = case_geom(cc);
    const int ks = g.k[0] * g.k[1] * g.k[2];
    const size_t wn = (size_t)cc->cout * (size_t)(cc->cin / cc->groups) * (size_t)ks;
    float *w = malloc(wn * sizeof(float)), *b = malloc((size_t)cc->cout * sizeof(float));
    cxt_fill(w, wn, -1.0f, 1.0f);
    cxt_fill(b, (size_t)cc->cout, -0.5f, 0.5f);
    cx_dims in = { cc->n, cc->d, cc->h, cc->w, cc->cin }, out;
    const size_t xn = cx_dims_numel(in);
    float *x = malloc(xn * sizeof(float));
    cxt_fill(x, xn, -1.0f, 1.0f);
    float *y[2] = { NULL, NULL };
    size_t yn = 0;
    const char *l2[2] = { "64", "4096" };
    for (int v = 0; v < 2; v++) {
        setenv("CORTEX_L2_KIB", l2[v], 1);
        cx_conv c;
        ck_assert_int_eq(cx_conv_create(&c, cc->cin, cc->cout, cc->groups, &g, cc->relu, w, b, kt), CORTEX_OK);
        ck_assert_uint_eq(c.block_bytes, (size_t)cx_kernels_blocking(kt, NULL).conv_block_kib * 1024);
        ck_assert_int_eq(cx_conv_out_dims(&c, in, &out), CORTEX_OK);
        yn = cx_dims_numel(out);
        y[v] = malloc(yn * sizeof(float));
        conv_run(&c, in, x, out, y[v], NULL, pool);
        cx_conv_destroy(&c);
    }
    unsetenv("CORTEX_L2_KIB");
    ck_assert_msg(memcmp(y[0], y[1], yn * sizeof(float)) == 0, "case %s on %s: outputs differ between L2 64 and 4096 KiB",
                  cc->name, kt->name);
    free(y[0]); free(y[1]); free(w); free(b); free(x);
}

START_TEST(conv_blocking)
{
    char err[256];
    unsetenv("CORTEX_L2_KIB");
    ck_assert_int_eq(cx_blocking_env_check(err, sizeof err), 0);
    const char *bad[] = { "abc", "12", "512k", "-512", "999999999999", " 512" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("CORTEX_L2_KIB", bad[i], 1);
        err[0] = 0;
        ck_assert_msg(cx_blocking_env_check(err, sizeof err) == -1, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "CORTEX_L2_KIB") && strstr(err, bad[i]), "message: %s", err);
        const char *src;
        cx_kernels_blocking(&cx_kernels_avx2, &src);
        ck_assert_msg(strcmp(src, "CORTEX_L2_KIB") != 0, "'%s' used", bad[i]);
    }
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    for (int i = 0; i < nt; i++) {
        const cx_f32_blocking tb = t[i]->f32_blocking;
        char v[32];
        snprintf(v, sizeof v, "%u", 2 * tb.l2_kib);
        setenv("CORTEX_L2_KIB", v, 1);
        ck_assert_int_eq(cx_blocking_env_check(err, sizeof err), 0);
        const char *src;
        cx_f32_blocking b = cx_kernels_blocking(t[i], &src);
        ck_assert_str_eq(src, "CORTEX_L2_KIB");
        ck_assert_uint_eq(b.l2_kib, 2 * tb.l2_kib);
        ck_assert_uint_eq(b.conv_block_kib, 2 * tb.conv_block_kib);
        ck_assert_uint_eq(b.wino_block_kib, 2 * tb.wino_block_kib);
        ck_assert_uint_eq(b.wino_heavy_block_kib, 2 * tb.wino_heavy_block_kib);
    }
    unsetenv("CORTEX_L2_KIB");

    cortex_pool *pool2 = NULL;
    ck_assert_int_eq(cortex_pool_create(2, &pool2), CORTEX_OK);
    static const conv_case PAIRS[] = {
        { "1x1 256->512 (column blocks)", 1, 256, 1, 9, 9, 512, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 1, 0 },
        /* activations outweigh the weights: rows split between threads first (conv.c) */
        { "1x1 64->96 at 20x20 (row parts)", 1, 64, 1, 20, 20, 96, 1, {1,1,1}, {1,1,1}, {0,0,0}, {1,1,1}, 1, 1 },
        { "3x3 s2 48->80 at 40x40 (row parts)", 1, 48, 1, 40, 40, 80, 1, {1,3,3}, {1,2,2}, {0,1,1}, {1,1,1}, 0, 0 },
        { "3x3 64 winograd (tile blocks)", 1, 64, 1, 13, 13, 64, 1, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
        { "groups 4 x 96 ch", 1, 384, 1, 5, 6, 384, 4, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
        { "groups 32 x 32 ch", 1, 1024, 1, 7, 6, 1024, 32, {1,3,3}, {1,1,1}, {0,1,1}, {1,1,1}, 1, 0 },
    };
    for (int i = 0; i < nt; i++) {
        for (size_t c = 0; c < sizeof PAIRS / sizeof PAIRS[0]; c++) {
            run_pair_bitwise(&PAIRS[c], t[i], NULL);
            run_pair_bitwise(&PAIRS[c], t[i], pool2);
        }
        setenv("CORTEX_L2_KIB", "64", 1);
        for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++)
            ck_assert_msg(run_conv_case(&CASES[c], t[i], pool2), "case %s on %s, L2 64 KiB", CASES[c].name, t[i]->name);
        unsetenv("CORTEX_L2_KIB");
    }
    cortex_pool_destroy(pool2);
}
END_TEST

START_TEST(conv_random_shapes)
{
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    for (int it = 0; it < 150; it++) {
        conv_case cc;
        memset(&cc, 0, sizeof cc);
        cc.name = "random";
        cc.n = cxt_int(1, 2);
        int three = cxt_int(0, 3) == 0;
        cc.groups = cxt_int(0, 2) == 0 ? cxt_int(1, 4) : 1;
        cc.cin = cc.groups * cxt_int(1, 12);
        cc.cout = cc.groups * cxt_int(1, 12);
        if (cxt_int(0, 5) == 0) cc.cout = cc.cin = cc.groups = cxt_int(2, 20); /* depthwise */
        cc.d = three ? cxt_int(1, 4) : 1;
        cc.h = cxt_int(1, 9);
        cc.w = cxt_int(1, 9);
        for (int a = 0; a < 3; a++) {
            int active = a > 0 || three;
            cc.k[a] = active ? cxt_int(1, 3) : 1;
            cc.s[a] = active ? cxt_int(1, 2) : 1;
            cc.p[a] = active ? cxt_int(0, cc.k[a] / 2 + 1) : 0;
            cc.dil[a] = 1;
        }
        if (cc.d + 2 * cc.p[0] < cc.k[0] || cc.h + 2 * cc.p[1] < cc.k[1] || cc.w + 2 * cc.p[2] < cc.k[2]) continue;
        cc.relu = cxt_int(0, 1);
        cc.residual = cxt_int(0, 2) == 0;
        const cx_kernels *kt = t[cxt_int(0, nt - 1)];
        ck_assert_msg(run_conv_case(&cc, kt, NULL),
                      "random case %d: n%d c%d->%d g%d dhw %dx%dx%d k %dx%dx%d s %d,%d,%d p %d,%d,%d on %s", it,
                      cc.n, cc.cin, cc.cout, cc.groups, cc.d, cc.h, cc.w, cc.k[0], cc.k[1], cc.k[2], cc.s[0],
                      cc.s[1], cc.s[2], cc.p[0], cc.p[1], cc.p[2], kt->name);
    }
}
END_TEST

START_TEST(conv_rejects_bad_shapes)
{
    cx_conv c;
    cx_conv_geom g = { { 1, 3, 3 }, { 1, 1, 1 }, { 0, 0, 0 }, { 1, 1, 1 } };
    float w[64] = { 0 };
    ck_assert_int_eq(cx_conv_create(&c, 6, 4, 4, &g, false, w, NULL, &cx_kernels_scalar), CORTEX_ERR_SHAPE);
    ck_assert_int_eq(cx_conv_create(&c, 2, 2, 1, &g, false, w, NULL, &cx_kernels_scalar), CORTEX_OK);
    cx_dims in = { 1, 1, 2, 2, 2 }, out;
    ck_assert_int_eq(cx_conv_out_dims(&c, in, &out), CORTEX_ERR_SHAPE); /* 2x2 input, 3x3 kernel, no pad */
    in.h = in.w = 3;
    in.c = 3;
    ck_assert_int_eq(cx_conv_out_dims(&c, in, &out), CORTEX_ERR_SHAPE); /* channels */
    cx_conv_destroy(&c);
}
END_TEST

/* ---- pooling */

static void pool_naive(const cx_pool_desc *p, bool is_max, cx_dims in, const float *x, cx_dims out, float *y)
{
    for (int n = 0; n < out.n; n++)
        for (int od = 0; od < out.d; od++)
            for (int oh = 0; oh < out.h; oh++)
                for (int ow = 0; ow < out.w; ow++)
                    for (int c = 0; c < in.c; c++) {
                        double acc = is_max ? -INFINITY : 0;
                        int cnt = 0, cnt_pad = 0;
                        for (int kd = 0; kd < p->k[0]; kd++)
                            for (int kh = 0; kh < p->k[1]; kh++)
                                for (int kw = 0; kw < p->k[2]; kw++) {
                                    int d = od * p->s[0] - p->p[0] + kd, h = oh * p->s[1] - p->p[1] + kh,
                                        w = ow * p->s[2] - p->p[2] + kw;
                                    /* PyTorch counts padded positions but not those past the padding */
                                    if (d < in.d + p->p[0] && h < in.h + p->p[1] && w < in.w + p->p[2]) cnt_pad++;
                                    if (d < 0 || h < 0 || w < 0 || d >= in.d || h >= in.h || w >= in.w) continue;
                                    float v = x[((((size_t)n * in.d + d) * in.h + h) * in.w + w) * in.c + c];
                                    if (is_max) acc = v > acc ? v : acc;
                                    else acc += v;
                                    cnt++;
                                }
                        if (!is_max) acc /= p->count_include_pad ? cnt_pad : cnt;
                        y[((((size_t)n * out.d + od) * out.h + oh) * out.w + ow) * in.c + c] = (float)acc;
                    }
}

START_TEST(pool_cases)
{
    /* k, s, p, ceil, cip; inputs of several sizes */
    const struct { int k[3], s[3], p[3]; bool ceil, cip; } P[] = {
        { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 1, 1 }, false, false },  /* resnet maxpool */
        { { 1, 2, 2 }, { 1, 2, 2 }, { 0, 0, 0 }, true, false },   /* octave pool2, odd sizes */
        { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 1, 1 }, true, true },
        { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 1, 1 }, false, true },
        { { 2, 2, 2 }, { 2, 2, 2 }, { 0, 0, 0 }, true, false },   /* 3-D */
        { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 0, 0 }, true, false },   /* ceil drops a window starting past the input */
    };
    /* channels: below, at and past the max pool's 64-channel register block */
    const cx_dims ins[] = { { 1, 1, 7, 7, 5 }, { 2, 1, 6, 9, 3 }, { 1, 3, 5, 5, 4 }, { 1, 1, 1, 1, 2 }, { 1, 2, 2, 3, 17 },
                            { 1, 1, 9, 8, 64 }, { 1, 2, 7, 6, 100 }, { 1, 1, 5, 5, 128 } };
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
        for (size_t j = 0; j < sizeof ins / sizeof ins[0]; j++)
            for (int is_max = 0; is_max < 2; is_max++) {
                cx_pool_desc d;
                memcpy(d.k, P[i].k, sizeof d.k);
                memcpy(d.s, P[i].s, sizeof d.s);
                memcpy(d.p, P[i].p, sizeof d.p);
                d.ceil_mode = P[i].ceil;
                d.count_include_pad = P[i].cip;
                cx_dims out;
                if (cx_pool_out_dims(&d, ins[j], &out) != CORTEX_OK) continue;
                size_t xn = cx_dims_numel(ins[j]), yn = cx_dims_numel(out);
                float *x = malloc(xn * sizeof(float)), *ref = malloc(yn * sizeof(float));
                cxt_fill(x, xn, -2.0f, 2.0f);
                pool_naive(&d, is_max, ins[j], x, out, ref);
                cxt_buf y = cxt_buf_new(yn);
                if (is_max) cx_maxpool_run(&d, ins[j], x, out, y.p, NULL);
                else cx_avgpool_run(&d, ins[j], x, out, y.p, NULL);
                ck_assert_msg(cxt_rel_err(y.p, ref, yn, 1.0, NULL) < 1e-6, "pool %zu input %zu max %d", i, j, is_max);
                ck_assert(cxt_buf_red_ok(&y));
                cxt_buf_free(&y);
                free(x);
                free(ref);
            }
}
END_TEST

START_TEST(pool_output_sizes)
{
    /* ceil_mode sizes as PyTorch computes them */
    cx_pool_desc d = { { 1, 2, 2 }, { 1, 2, 2 }, { 0, 0, 0 }, true, false };
    cx_dims in = { 1, 1, 7, 8, 1 }, out;
    ck_assert_int_eq(cx_pool_out_dims(&d, in, &out), CORTEX_OK);
    ck_assert_int_eq(out.h, 4);
    ck_assert_int_eq(out.w, 4);
    cx_pool_desc m = { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 1, 1 }, false, false };
    in.h = 112; in.w = 112;
    ck_assert_int_eq(cx_pool_out_dims(&m, in, &out), CORTEX_OK);
    ck_assert_int_eq(out.h, 56);
    cx_pool_desc c = { { 1, 3, 3 }, { 1, 2, 2 }, { 0, 0, 0 }, true, false };
    in.h = 5; in.w = 6;  /* (6-3)/2 = 1.5 -> ceil 2 -> 3 windows; the 3rd starts at 4 < 6: kept */
    ck_assert_int_eq(cx_pool_out_dims(&c, in, &out), CORTEX_OK);
    ck_assert_int_eq(out.h, 2);
    ck_assert_int_eq(out.w, 3);
    /* ceil mode: a 2x2 window over a 1-pixel side still makes one output (octave pool2) */
    in.h = 1; in.w = 3;
    ck_assert_int_eq(cx_pool_out_dims(&d, in, &out), CORTEX_OK);
    ck_assert_int_eq(out.h, 1);
    ck_assert_int_eq(out.w, 2);
    /* ... but not without ceil mode, and not when the window would start past the input */
    d.ceil_mode = false;
    ck_assert_int_ne(cx_pool_out_dims(&d, in, &out), CORTEX_OK);
    c.k[1] = 4; in.h = 1;
    ck_assert_int_ne(cx_pool_out_dims(&c, in, &out), CORTEX_OK);
}
END_TEST

START_TEST(up2add_crop)
{
    /* y = a + crop(nearest 2x upsample of b), NDHWC; odd maps (the last row
     * and column use half a low pixel), channel counts below and above a
     * vector with a tail, batch and depth, 1 and 2 threads; a NaN in a
     * stays NaN under the ReLU (as max(v, 0) written v < 0 ? 0 : v) */
    static const cx_dims OUT[3] = { { 1, 1, 3, 5, 2 }, { 2, 1, 5, 7, 37 }, { 1, 2, 4, 3, 16 } };
    cortex_pool *pool2;
    ck_assert_int_eq(cortex_pool_create(2, &pool2), CORTEX_OK);
    for (int k = 0; k < 3; k++) {
        const cx_dims out = OUT[k];
        const cx_dims low = { out.n, out.d, (out.h + 1) / 2, (out.w + 1) / 2, out.c };
        const size_t n = cx_dims_numel(out), nl = cx_dims_numel(low);
        float *a = malloc(n * sizeof(float)), *b = malloc(nl * sizeof(float)), *y = malloc((n + 16) * sizeof(float));
        for (size_t i = 0; i < n; i++) a[i] = (float)(i % 41) - 20.0f;
        for (size_t i = 0; i < nl; i++) b[i] = (float)(i % 13) * 3.0f - 18.0f;
        a[n / 2] = NAN;
        for (int relu = 0; relu < 2; relu++)
            for (int th = 0; th < 2; th++) {
                for (size_t i = 0; i < n + 16; i++) y[i] = 12345.0f;
                cx_up2add_run(out, a, low, b, y, relu, th ? pool2 : NULL);
                for (size_t i = n; i < n + 16; i++) ck_assert_msg(y[i] == 12345.0f, "wrote past the output");
                for (size_t nd = 0; nd < (size_t)out.n * out.d; nd++)
                    for (size_t h = 0; h < (size_t)out.h; h++)
                        for (size_t w = 0; w < (size_t)out.w; w++)
                            for (size_t c = 0; c < (size_t)out.c; c++) {
                                const size_t o = ((nd * out.h + h) * out.w + w) * out.c + c;
                                const size_t l = ((nd * low.h + h / 2) * low.w + w / 2) * low.c + c;
                                float v = a[o] + b[l];
                                if (relu && v < 0) v = 0;
                                if (isnan(v)) ck_assert_msg(isnan(y[o]), "case %d: NaN lost at %zu", k, o);
                                else ck_assert_msg(y[o] == v, "case %d relu %d threads %d: y[%zu] = %g, want %g", k,
                                                   relu, th + 1, o, y[o], v);
                            }
            }
        free(a); free(b); free(y);
    }
    cortex_pool_destroy(pool2);
}
END_TEST

START_TEST(gap_and_layout)
{
    cx_dims d = { 2, 2, 3, 2, 5 };
    size_t n = cx_dims_numel(d);
    float *nchw = malloc(n * sizeof(float)), *nhwc = malloc(n * sizeof(float)), y[10];
    for (size_t i = 0; i < n; i++) nchw[i] = (float)i;
    cx_nchw_to_ndhwc(d, nchw, nhwc);
    /* element (n=1, c=3, d=1, h=2, w=1) */
    size_t src = ((((size_t)1 * 5 + 3) * 2 + 1) * 3 + 2) * 2 + 1;
    size_t dst = ((((size_t)1 * 2 + 1) * 3 + 2) * 2 + 1) * 5 + 3;
    ck_assert_float_eq(nhwc[dst], nchw[src]);
    cx_gap_run(d, nhwc, y, NULL);
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 5; c++) {
            double s = 0;
            for (int k = 0; k < 12; k++) s += nchw[(b * 5 + c) * 12 + k];
            ck_assert_double_eq_tol(y[b * 5 + c], s / 12, 1e-4);
        }
    free(nchw);
    free(nhwc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("layers");
    TCase *t = tcase_create("conv");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, conv_named_cases);
    tcase_add_test(t, conv_grouped_winograd_choice);
    tcase_add_test(t, conv_random_shapes);
    tcase_add_test(t, conv_blocking);
    tcase_add_test(t, conv_rejects_bad_shapes);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("pool");
    tcase_add_test(p, pool_cases);
    tcase_add_test(p, pool_output_sizes);
    tcase_add_test(p, up2add_crop);
    tcase_add_test(p, gap_and_layout);
    suite_add_tcase(s, p);
    return s;
}

CXT_MAIN(suite)
