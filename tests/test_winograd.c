/* Winograd 3x3 convolution (F(4x4,3x3) and F(2x2,3x3)) against the naive
 * reference cx_conv_ref: ResNet channel counts at small spatial sizes, edge
 * tiles (H, W not multiples of the tile, smaller than a tile, 1x1), padding 0
 * and 1, channel counts off the kernels' NR and vector widths, residual and
 * ReLU on and off, batch 2, groups (ResNeXt's 32 channels per group, odd
 * group widths, one channel per group), every kernel table this CPU runs, 1
 * and 2 threads.
 *
 * Error measure: max |y - ref| / max |ref| over the layer (Winograd's error
 * scales with the layer's magnitude, not with each output's). Set
 * CX_WINO_VERBOSE=1 to print it per case. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtest.h"
#include "layers/conv_winograd.h"
#include "layers/layers.h"
#include "runtime/pool.h"

/* Measured worst over these cases: F4 5.2e-6 (cin 512), F2 7.8e-7; the
 * direct igemm path is ~2e-6 on the same shapes. */
#define TOL_F4 1e-5
#define TOL_F2 1e-5

typedef struct wcase {
    const char *name;
    int n, cin, h, w, cout, pad, relu, residual;
    int d;       /* depth (NDHWC, kernel depth 1); 0 = 1 */
    int groups;  /* 0 = 1 */
} wcase;

static const wcase CASES[] = {
    /* name                    n  cin  h   w  cout pad relu res d  groups */
    { "resnet 64 @ 12x12",     1, 64, 12, 12, 64, 1, 1, 0, 0, 0 },
    { "resnet 64 res+relu",    1, 64, 9, 10, 64, 1, 1, 1, 0, 0 },
    { "resnet 128 @ 7x7",      1, 128, 7, 7, 128, 1, 1, 1, 0, 0 },
    { "resnet 256 @ 6x6",      1, 256, 6, 6, 256, 1, 1, 0, 0, 0 },
    { "resnet 512 @ 5x5",      1, 512, 5, 5, 512, 1, 0, 1, 0, 0 },
    { "resnet 512 @ 7x7",      1, 512, 7, 7, 512, 1, 1, 1, 0, 0 },
    { "H,W not mult of 4",     1, 16, 7, 9, 24, 1, 1, 0, 0, 0 },
    { "H,W < 4",               1, 8, 3, 2, 8, 1, 0, 0, 0, 0 },
    { "H < 4, W large",        1, 8, 2, 13, 8, 1, 1, 1, 0, 0 },
    { "1x1 spatial",           1, 32, 1, 1, 40, 1, 0, 1, 0, 0 },
    { "pad 0",                 1, 16, 10, 11, 16, 0, 1, 0, 0, 0 },
    { "pad 0 exact 3x3",       1, 5, 3, 3, 7, 0, 0, 0, 0, 0 },
    { "pad 0 6x6",             2, 20, 6, 6, 17, 0, 1, 1, 0, 0 },
    { "cin,cout odd",          1, 3, 8, 8, 5, 1, 1, 0, 0, 0 },
    { "cin 17 cout 33",        1, 17, 5, 6, 33, 1, 0, 0, 0, 0 },
    { "cout 31 (NR-1)",        1, 23, 6, 5, 31, 1, 1, 1, 0, 0 },
    { "cout 65",               1, 24, 5, 5, 65, 1, 0, 1, 0, 0 },
    { "batch 2",               2, 32, 9, 7, 48, 1, 1, 1, 0, 0 },
    { "batch 2 res no relu",   2, 16, 4, 4, 16, 1, 0, 1, 0, 0 },
    { "many tiles (blocks)",   1, 64, 40, 36, 32, 1, 1, 1, 0, 0 },
    { "128 @ 14x14 (2 threads: whole tile groups + split leftover)", 1, 128, 14, 14, 128, 1, 1, 1, 0, 0 },
    { "batch 3 many tiles",    3, 40, 17, 19, 20, 1, 0, 0, 0, 0 },
    { "depth 3 (1x3x3 kernel)", 2, 12, 5, 6, 20, 1, 1, 1, 3, 0 },
    /* grouped                 n  cin  h   w  cout pad relu res d  groups */
    { "resnext 8x32 @ 14x14",  1, 256, 14, 14, 256, 1, 1, 1, 0, 8 },
    { "groups kc 5 nc 7",      1, 15, 9, 7, 21, 1, 0, 1, 0, 3 },
    { "groups nc 40 (> NR)",   1, 32, 6, 6, 80, 1, 1, 0, 0, 2 },
    { "groups nc 64 @ 7x7",    1, 128, 7, 7, 128, 1, 1, 1, 0, 2 },
    { "groups many tiles",     2, 64, 30, 26, 64, 1, 1, 1, 0, 4 },
    { "groups pad 0",          1, 48, 8, 9, 96, 0, 0, 0, 0, 3 },
    { "1 channel per group",   1, 8, 5, 5, 8, 1, 1, 1, 0, 8 },
    { "groups 1x1 spatial",    1, 16, 1, 1, 32, 1, 0, 1, 0, 4 },
};

static int verbose(void)
{
    const char *v = getenv("CX_WINO_VERBOSE");
    return v && *v && *v != '0';
}

/* max |a-b| / max |b| */
static double layer_err(const float *a, const float *b, size_t n)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (isnan(a[i])) e = INFINITY;
        d = e > d ? e : d;
        m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
    }
    return m > 0 ? d / m : d;
}

static double g_worst[2];   /* worst error seen per variant (F2, F4) */

static int run_case(const wcase *wc, cx_wino_variant v, const cx_kernels *kt, cortex_pool *pool)
{
    cx_conv_geom g = { { 1, 3, 3 }, { 1, 1, 1 }, { 0, wc->pad, wc->pad }, { 1, 1, 1 } };
    const int groups = wc->groups ? wc->groups : 1, kc = wc->cin / groups;
    ck_assert(cx_wino_applicable(wc->cin, wc->cout, groups, &g));
    size_t wn = (size_t)wc->cout * (size_t)kc * 9;
    float *w = malloc(wn * sizeof(float)), *b = malloc((size_t)wc->cout * sizeof(float));
    /* He-like weight scale, so outputs stay O(1) as in a trained net */
    float ws = (float)sqrt(3.0 / (9.0 * kc));
    cxt_fill(w, wn, -ws, ws);
    cxt_fill(b, (size_t)wc->cout, -0.5f, 0.5f);
    cx_wino cw;
    ck_assert_int_eq(cx_wino_create(&cw, v, wc->cin, wc->cout, groups, &g, wc->relu, w, b, kt), CORTEX_OK);
    const int d = wc->d ? wc->d : 1;
    cx_dims in = { wc->n, d, wc->h, wc->w, wc->cin };
    cx_dims out = { wc->n, d, wc->h + 2 * wc->pad - 2, wc->w + 2 * wc->pad - 2, wc->cout };
    size_t xn = cx_dims_numel(in), yn = cx_dims_numel(out);
    float *x = malloc(xn * sizeof(float)), *ref = malloc(yn * sizeof(float)), *res = NULL;
    cxt_fill(x, xn, -1.0f, 1.0f);
    if (wc->residual) { res = malloc(yn * sizeof(float)); cxt_fill(res, yn, -1.0f, 1.0f); }
    cx_conv_ref(wc->cin, wc->cout, groups, &g, w, b, wc->relu ? 0.0f : -INFINITY, INFINITY, in, x, out, ref, res);

    int nt = cortex_pool_threads(pool);
    size_t sb = cx_wino_scratch_bytes(&cw);
    cx_scratch *sc = calloc((size_t)nt, sizeof *sc);
    /* scratch deliberately misaligned by 4 bytes: the layer must align it */
    for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ (char *)malloc(sb + 4) + 4, sb };
    cxt_buf y = cxt_buf_new(yn);
    cx_wino_run(&cw, in, x, out, y.p, res, pool, sc);
    double err = layer_err(y.p, ref, yn);
    double tol = v == CX_WINO_F4 ? TOL_F4 : TOL_F2;
    int red = cxt_buf_red_ok(&y);
    int ok = err <= tol && red;
    double *wst = &g_worst[v == CX_WINO_F4];
    if (err > *wst) *wst = err;
    if (!ok || verbose())
        fprintf(stderr, "wino F%d '%s' (groups %d) on %s (%d threads): err %.3g (max|y-ref|/max|ref|), red zones %s\n",
                (int)v, wc->name, groups, kt->name, nt, err, red ? "ok" : "WRITTEN");
    for (int i = 0; i < nt; i++) free((char *)sc[i].p - 4);
    free(sc);
    cxt_buf_free(&y);
    cx_wino_destroy(&cw);
    free(w); free(b); free(x); free(ref); free(res);
    return ok;
}

START_TEST(wino_cases)
{
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    cortex_pool *pool2 = NULL;
    ck_assert_int_eq(cortex_pool_create(2, &pool2), CORTEX_OK);
    const cx_wino_variant vs[2] = { CX_WINO_F4, CX_WINO_F2 };
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < nt; i++)
            for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
                ck_assert_msg(run_case(&CASES[c], vs[vi], t[i], NULL), "F%d case %s on %s", (int)vs[vi],
                              CASES[c].name, t[i]->name);
                ck_assert_msg(run_case(&CASES[c], vs[vi], t[i], pool2), "F%d case %s on %s, 2 threads",
                              (int)vs[vi], CASES[c].name, t[i]->name);
            }
    cortex_pool_destroy(pool2);
    fprintf(stderr, "winograd: worst layer error F4 %.3g, F2 %.3g\n", g_worst[1], g_worst[0]);
}
END_TEST

START_TEST(wino_random_shapes)
{
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    for (int it = 0; it < 60; it++) {
        wcase wc = { "random", cxt_int(1, 2), cxt_int(1, 70), cxt_int(1, 13), cxt_int(1, 13), cxt_int(1, 70),
                     cxt_int(0, 1), cxt_int(0, 1), cxt_int(0, 1), 1, 1 };
        if (cxt_int(0, 1)) {   /* grouped: cin, cout multiples of a random group count */
            wc.groups = cxt_int(2, 8);
            wc.cin = wc.groups * cxt_int(1, 12);
            wc.cout = wc.groups * cxt_int(1, 40);
        }
        if (wc.h + 2 * wc.pad < 3 || wc.w + 2 * wc.pad < 3) continue;
        cx_wino_variant v = cxt_int(0, 3) ? CX_WINO_F4 : CX_WINO_F2;
        const cx_kernels *kt = t[cxt_int(0, nt - 1)];
        ck_assert_msg(run_case(&wc, v, kt, NULL), "random %d: F%d n%d c%d->%d g%d %dx%d pad %d relu %d res %d on %s", it,
                      (int)v, wc.n, wc.cin, wc.cout, wc.groups, wc.h, wc.w, wc.pad, wc.relu, wc.residual, kt->name);
    }
}
END_TEST

/* The SIMD transforms against the scalar ones on the same data: equal up to
 * FMA contraction, so a tight bound. */
static void check_transforms(const char *name, int alpha, cx_f32_wino_in_fn ref_in, cx_f32_wino_out_fn ref_out,
                             cx_f32_wino_in_fn fin, cx_f32_wino_out_fn fout)
{
    const size_t chans[] = { 1, 7, 8, 15, 16, 17, 33, 64 };
    const int nf = alpha * alpha, mm = (alpha - 2) * (alpha - 2);
    for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++) {
        const size_t C = chans[ci], os = C + 3;
        float *src = malloc((size_t)nf * C * sizeof(float)), *a = malloc((size_t)nf * os * sizeof(float)),
              *b = malloc((size_t)nf * os * sizeof(float)), *bias = malloc(C * sizeof(float));
        const float *p[36];
        cxt_fill(src, (size_t)nf * C, -1.0f, 1.0f);
        cxt_fill(bias, C, -1.0f, 1.0f);
        for (int i = 0; i < nf; i++) p[i] = src + (size_t)(nf - 1 - i) * C;
        memset(a, 0, (size_t)nf * os * sizeof(float));
        memset(b, 0, (size_t)nf * os * sizeof(float));
        ref_in(C, p, a, os);
        fin(C, p, b, os);
        ck_assert_msg(layer_err(b, a, (size_t)nf * os) < 1e-6, "input transform %s C=%zu", name, C);
        /* output: M = a (stride os), residual rows from src */
        for (int withres = 0; withres < 2; withres++) {
            cxt_buf y1 = cxt_buf_new((size_t)mm * C), y2 = cxt_buf_new((size_t)mm * C);
            float *o1[16], *o2[16];
            const float *r[16];
            for (int i = 0; i < mm; i++) {
                o1[i] = y1.p + (size_t)i * C;
                o2[i] = y2.p + (size_t)i * C;
                r[i] = src + (size_t)(i + 3) * C;
            }
            ref_out(C, a, os, bias, o1, withres ? r : NULL, -0.5f, 40.0f);
            fout(C, a, os, bias, o2, withres ? r : NULL, -0.5f, 40.0f);
            ck_assert_msg(layer_err(y2.p, y1.p, (size_t)mm * C) < 1e-6, "output transform %s C=%zu", name, C);
            ck_assert(cxt_buf_red_ok(&y2));
            cxt_buf_free(&y1);
            cxt_buf_free(&y2);
        }
        free(src); free(a); free(b); free(bias);
    }
}

START_TEST(wino_transforms_match_scalar)
{
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    for (int ti = 0; ti < nt; ti++) {
        if (t[ti] == &cx_kernels_avx512) {
            check_transforms("F4 avx512", 6, cx_f32_wino4x3_in__scalar, cx_f32_wino4x3_out__scalar,
                             cx_f32_wino4x3_in__avx512, cx_f32_wino4x3_out__avx512);
            check_transforms("F2 avx512", 4, cx_f32_wino2x3_in__scalar, cx_f32_wino2x3_out__scalar,
                             cx_f32_wino2x3_in__avx512, cx_f32_wino2x3_out__avx512);
        }
        if (t[ti] == &cx_kernels_avx2) {
            check_transforms("F4 avx2", 6, cx_f32_wino4x3_in__scalar, cx_f32_wino4x3_out__scalar,
                             cx_f32_wino4x3_in__avx2, cx_f32_wino4x3_out__avx2);
            check_transforms("F2 avx2", 4, cx_f32_wino2x3_in__scalar, cx_f32_wino2x3_out__scalar,
                             cx_f32_wino2x3_in__avx2, cx_f32_wino2x3_out__avx2);
        }
    }
}
END_TEST

START_TEST(wino_applicability)
{
    cx_conv_geom g = { { 1, 3, 3 }, { 1, 1, 1 }, { 0, 1, 1 }, { 1, 1, 1 } };
    ck_assert(cx_wino_applicable(64, 64, 1, &g));
    ck_assert(cx_wino_applicable(64, 64, 2, &g));
    ck_assert(!cx_wino_applicable(64, 64, 3, &g));   /* groups must divide both */
    ck_assert(!cx_wino_applicable(64, 48, 32, &g));
    g.s[1] = g.s[2] = 2;
    ck_assert(!cx_wino_applicable(64, 64, 1, &g));
    g.s[1] = g.s[2] = 1;
    g.dil[2] = 2;
    ck_assert(!cx_wino_applicable(64, 64, 1, &g));
    g.dil[2] = 1;
    g.p[1] = 2;
    ck_assert(!cx_wino_applicable(64, 64, 1, &g));
    g.p[1] = 1;
    g.k[0] = 3;
    ck_assert(!cx_wino_applicable(64, 64, 1, &g));
    g.k[0] = 1;
    g.k[2] = 1;
    ck_assert(!cx_wino_applicable(64, 64, 1, &g));
    g.k[2] = 3;
    cx_wino w;
    float wt[9] = { 0 };
    ck_assert_int_eq(cx_wino_create(&w, CX_WINO_F4, 1, 1, 1, &g, false, wt, NULL, &cx_kernels_scalar), CORTEX_OK);
    cx_wino_destroy(&w);
    g.s[1] = 2;
    ck_assert_int_eq(cx_wino_create(&w, CX_WINO_F4, 1, 1, 1, &g, false, wt, NULL, &cx_kernels_scalar), CORTEX_ERR_SHAPE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("winograd");
    TCase *t = tcase_create("winograd");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, wino_applicability);
    tcase_add_test(t, wino_transforms_match_scalar);
    tcase_add_test(t, wino_cases);
    tcase_add_test(t, wino_random_shapes);
    suite_add_tcase(s, t);
    return s;
}

CXT_MAIN(suite)
