/* int8 model path (docs/int8.md): the quantized conv driver against a
 * reference of the quantized arithmetic on every q8 table this CPU runs,
 * calibration on synthetic histograms, int8 vs fp32 models, the converter's
 * errors, `cortex info`, and the int8 goldens (tests/data/golden_int8/, made
 * by tools/golden/gen_int8_goldens.py: calibration images and PyTorch fp32
 * logits for narrow models of tests/data/golden/).
 *
 * Exactness: the reference (cx_qconv_ref) sums (x - a_zp) * w exactly in
 * int64 and requantizes with cx_q8_requant, the normative formula of
 * kernels_q8.h, so every table must match it byte for byte; with weights in
 * the range of every table (|w| <= 64) the tables also match each other. */
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cxtest.h"
#include "cortex.h"
#include "io/npy.h"
#include "layers/qlayers.h"
#include "models/convert.h"
#include "models/models.h"
#include "models/quantize.h"
#include "runtime/model.h"

static int q8_tables(const cx_q8_kernels **out)
{
    const cx_q8_kernels *all[] = { &cx_q8_kernels_scalar, &cx_q8_kernels_avx2, &cx_q8_kernels_avx2exact,
                                   &cx_q8_kernels_avx512, &cx_q8_kernels_avx512vnni };
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (cx_q8_kernels_available(all[i])) out[n++] = all[i];
    return n;
}

/* ------------------------------------------------------------ qconv */

typedef struct qcase {
    const char *what;
    int n, d, h, w, cin, cout, groups;
    int k[3], s[3], p[3];
    int wlim;              /* |w| <= wlim */
    bool relu, residual;
    int a_zp, y_zp, r_zp;
    int dil;               /* 0: 1 */
} qcase;

static void run_layer(const cx_qconv *c, cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y, const uint8_t *res,
                      cortex_pool *pool)
{
    int nt = cortex_pool_threads(pool);
    size_t sb = CX_ROUND_UP(cx_qconv_scratch_bytes(c), CX_ALIGN);
    void *sm = cx_alloc(sb * (size_t)nt);
    cx_scratch sc[8];
    ck_assert_ptr_nonnull(sm);
    for (int i = 0; i < nt; i++) sc[i] = (cx_scratch){ (char *)sm + sb * (size_t)i, sb };
    cx_qconv_run(c, in, x, out, y, res, pool, sc);
    cx_free(sm);
}

/* Runs one case on every table; each must equal the reference; with
 * in-range weights the tables must also equal the scalar table. */
static void check_qcase(const qcase *q, cortex_pool *pool)
{
    const cx_q8_kernels *tabs[8];
    int nt = q8_tables(tabs);
    const int ks = q->k[0] * q->k[1] * q->k[2], kc = q->cin / q->groups;
    const size_t wn = (size_t)q->cout * kc * ks;
    int8_t *w = malloc(wn), *wu = malloc(wn);
    float *ws = malloc((size_t)q->cout * sizeof(float)), *b = malloc((size_t)q->cout * sizeof(float));
    float *sc = malloc((size_t)q->cout * sizeof(float));
    int32_t *bq = malloc((size_t)q->cout * sizeof(int32_t));
    for (size_t i = 0; i < wn; i++) w[i] = (int8_t)cxt_int(-q->wlim, q->wlim);
    for (int o = 0; o < q->cout; o++) {
        ws[o] = cxt_float(0.002f, 0.02f);
        b[o] = cxt_float(-2, 2);
    }
    cx_qconv_desc d = { .cin = q->cin, .cout = q->cout, .groups = q->groups, .w = w, .w_scale = ws, .bias = b,
                        .a_scale = 0.05f, .a_zp = q->a_zp, .y_scale = 0.04f, .y_zp = q->y_zp, .relu = q->relu,
                        .residual = q->residual, .r_scale = 0.07f, .r_zp = q->r_zp };
    for (int i = 0; i < 3; i++) {
        d.g.k[i] = q->k[i]; d.g.s[i] = q->s[i]; d.g.p[i] = q->p[i];
        d.g.dil[i] = q->dil && q->k[i] > 1 ? q->dil : 1;
    }
    cx_dims in = { q->n, q->d, q->h, q->w, q->cin }, out;
    size_t xn = cx_dims_numel(in);
    uint8_t *x = malloc(xn);
    for (size_t i = 0; i < xn; i++) x[i] = (uint8_t)cxt_int(0, 255);
    uint8_t *first = NULL, *res = NULL;
    size_t yn = 0;
    for (int t = 0; t < nt; t++) {
        cx_qconv c;
        ck_assert_int_eq(cx_qconv_create(&c, &d, tabs[t]), CORTEX_OK);
        ck_assert_int_eq(cx_qconv_out_dims(&c, in, &out), CORTEX_OK);
        yn = cx_dims_numel(out);
        if (!res) {
            res = malloc(yn);
            for (size_t i = 0; i < yn; i++) res[i] = (uint8_t)cxt_int(0, 255);
        }
        uint8_t *y = malloc(yn + 64), *yr = malloc(yn);
        memset(y, 0xA5, yn + 64);
        run_layer(&c, in, x, out, y, q->residual ? res : NULL, pool);
        for (size_t i = yn; i < yn + 64; i++) ck_assert_msg(y[i] == 0xA5, "%s/%s: wrote past the output", q->what, tabs[t]->name);
        cx_qconv_export(&c, &d, wu, bq, sc);
        cx_qconv_ref(&c, wu, bq, sc, in, x, out, yr, q->residual ? res : NULL);
        size_t bad = 0, first_bad = 0;
        for (size_t i = 0; i < yn; i++)
            if (y[i] != yr[i] && !bad++) first_bad = i;
        ck_assert_msg(bad == 0, "%s on %s: %zu of %zu bytes differ from the reference (first at %zu: %d vs %d)",
                      q->what, tabs[t]->name, bad, yn, first_bad, y[first_bad], yr[first_bad]);
        if (q->wlim <= 64 || tabs[t]->wmax == 127) ck_assert_int_eq(c.wbits, 8);
        if (q->wlim <= 64) {
            /* weights in every table's range: all tables agree exactly */
            if (!first) first = y;
            else {
                ck_assert_msg(memcmp(first, y, yn) == 0, "%s: %s differs from %s", q->what, tabs[t]->name, tabs[0]->name);
                free(y);
            }
        } else {
            free(y);
        }
        free(yr);
        cx_qconv_destroy(&c);
    }
    free(first);
    free(res);
    free(x);
    free(w); free(wu); free(ws); free(b); free(sc); free(bq);
}

START_TEST(qconv_matches_reference)
{
    cxt_rng_init(cxt_seed());
    static const qcase cases[] = {
        /* what                 n d  h  w cin cout g   k        s        p      wlim relu  res   azp yzp rzp dil */
        { "1x1 pointwise",      1, 1, 9, 7, 24, 40, 1, {1,1,1}, {1,1,1}, {0,0,0}, 64, true, false, 0, 0, 0, 0 },
        { "1x1 odd M, zp",      2, 1, 5, 3, 13, 37, 1, {1,1,1}, {1,1,1}, {0,0,0}, 64, false, false, 17, 128, 0, 0 },
        { "1x1 stride 2",       1, 1, 9, 8, 32, 16, 1, {1,1,1}, {1,2,2}, {0,0,0}, 64, true, false, 3, 0, 0, 0 },
        { "3x3 pad, residual",  1, 1, 8, 9, 16, 33, 1, {1,3,3}, {1,1,1}, {0,1,1}, 64, true, true, 5, 0, 77, 0 },
        { "3x3 s2 no relu",     2, 1, 11, 6, 20, 24, 1, {1,3,3}, {1,2,2}, {0,1,1}, 64, false, true, 200, 90, 255, 0 },
        { "7x7 s2 stem im2col", 1, 1, 23, 19, 3, 64, 1, {1,7,7}, {1,2,2}, {0,3,3}, 64, true, false, 128, 0, 0, 0 },
        { "grouped kc4 im2col", 1, 1, 7, 9, 32, 32, 8, {1,3,3}, {1,1,1}, {0,1,1}, 64, true, false, 9, 0, 0, 0 },
        /* im2col rows copied in runs of 21 / 40 bytes, clipped ones of 3..18 */
        { "3x7x7 video stem",   1, 4, 13, 15, 3, 16, 1, {3,7,7}, {1,2,2}, {1,3,3}, 64, true, false, 130, 0, 0, 0 },
        { "5x5 kc8 im2col",     1, 1, 12, 13, 8, 16, 1, {1,5,5}, {1,1,1}, {0,2,2}, 64, false, true, 60, 3, 9, 0 },
        { "grouped kc12",       1, 1, 6, 5, 48, 24, 4, {1,3,3}, {1,2,2}, {0,1,1}, 64, true, true, 0, 0, 3, 0 },
        { "depthwise 3x3",      2, 1, 7, 6, 40, 40, 40, {1,3,3}, {1,1,1}, {0,1,1}, 127, true, true, 11, 0, 5, 0 },
        { "depthwise 3x3x3 wide", 1, 3, 5, 19, 24, 24, 24, {3,3,3}, {1,1,2}, {1,1,1}, 127, true, false, 9, 0, 0, 0 },
        { "depthwise dil 2",    1, 1, 6, 21, 16, 16, 16, {1,3,3}, {1,1,1}, {0,2,2}, 127, false, true, 3, 7, 20, 2 },
        /* a whole 64-channel block (the VNNI kernel's interleaved weights) and a tail of 16 */
        { "depthwise 3x3x3 80 ch", 1, 3, 5, 6, 80, 80, 80, {3,3,3}, {1,1,1}, {1,1,1}, 127, true, true, 9, 3, 7, 0 },
        { "3-D 3x3x3",          1, 4, 5, 6, 8, 12, 1, {3,3,3}, {1,1,1}, {1,1,1}, 64, true, false, 2, 0, 0, 0 },
        /* temporal 3x1x1 (R(2+1)D), 35 pixels a frame */
        { "temporal 3x1x1",     2, 6, 5, 7, 24, 40, 1, {3,1,1}, {1,1,1}, {1,0,0}, 64, true, true, 5, 3, 9, 0 },
        { "temporal 3x1x1 s2",  1, 7, 3, 4, 16, 20, 1, {3,1,1}, {2,1,1}, {1,0,0}, 127, false, false, 200, 90, 0, 0 },
        { "full-range weights", 1, 1, 6, 7, 40, 48, 1, {1,3,3}, {1,1,1}, {0,1,1}, 127, true, false, 4, 0, 0, 0 },
        { "pointwise full w",   1, 1, 5, 5, 64, 64, 1, {1,1,1}, {1,1,1}, {0,0,0}, 127, false, true, 0, 60, 200, 0 },
        { "dilated im2col",     1, 1, 11, 10, 4, 24, 1, {1,3,3}, {1,1,1}, {0,2,2}, 64, true, false, 7, 0, 0, 2 },
        { "dilated 3x3 kc16",   1, 1, 9, 9, 16, 16, 1, {1,3,3}, {1,2,2}, {0,1,1}, 64, true, false, 7, 0, 0, 2 },
    };
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_qcase(&cases[i], NULL);
        check_qcase(&cases[i], pool);
    }
    cortex_pool_destroy(pool);
}
END_TEST

/* The int8 column block follows the L2 size like the f32 blocking
 * (CORTEX_L2_KIB scales the table's budget), and under the tiny blocks of a
 * 64 KiB L2 (several column blocks where 4096 KiB gives one) every table
 * still equals the reference byte for byte, so outputs do not depend on it. */
START_TEST(qconv_blocking)
{
    cxt_rng_init(cxt_seed());
    const cx_q8_kernels *tabs[8];
    const int nt = q8_tables(tabs);
    for (int t = 0; t < nt; t++) {
        char v[32];
        snprintf(v, sizeof v, "%u", 2 * tabs[t]->l2_kib);
        setenv("CORTEX_L2_KIB", v, 1);
        const char *src;
        ck_assert_uint_eq(cx_q8_block_kib(tabs[t], &src), 2 * tabs[t]->conv_block_kib);
        ck_assert_str_eq(src, "CORTEX_L2_KIB");
    }
    static const qcase cases[] = {
        /* what                 n d  h  w cin cout g   k        s        p      wlim relu  res   azp yzp rzp dil */
        { "1x1 256->512",       1, 1, 9, 7, 256, 512, 1, {1,1,1}, {1,1,1}, {0,0,0}, 64, true, true, 3, 0, 9, 0 },
        { "3x3 96->160",        1, 1, 6, 5, 96, 160, 1, {1,3,3}, {1,1,1}, {0,1,1}, 64, false, false, 7, 4, 0, 0 },
        { "groups 8 x 64",      1, 1, 5, 6, 512, 512, 8, {1,3,3}, {1,1,1}, {0,1,1}, 64, true, false, 0, 0, 0, 0 },
    };
    const char *l2[2] = { "64", "4096" };
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    for (int v = 0; v < 2; v++) {
        setenv("CORTEX_L2_KIB", l2[v], 1);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const qcase *q = &cases[i];
            if (v == 0) {
                /* the small budget really splits the columns on every table */
                const int ks = q->k[0] * q->k[1] * q->k[2];
                const size_t wn = (size_t)q->cout * (size_t)(q->cin / q->groups) * (size_t)ks;
                int8_t *w = calloc(wn, 1);
                float *ws = malloc((size_t)q->cout * sizeof(float)), *b = calloc((size_t)q->cout, sizeof(float));
                for (int o = 0; o < q->cout; o++) ws[o] = 0.01f;
                cx_qconv_desc d = { .cin = q->cin, .cout = q->cout, .groups = q->groups, .w = w, .w_scale = ws,
                                    .bias = b, .a_scale = 0.05f, .y_scale = 0.04f };
                for (int k = 0; k < 3; k++) { d.g.k[k] = q->k[k]; d.g.s[k] = q->s[k]; d.g.p[k] = q->p[k]; d.g.dil[k] = 1; }
                for (int t = 0; t < nt; t++) {
                    cx_qconv c;
                    ck_assert_int_eq(cx_qconv_create(&c, &d, tabs[t]), CORTEX_OK);
                    ck_assert_uint_eq(c.block_bytes, (size_t)cx_q8_block_kib(tabs[t], NULL) * 1024);
                    const size_t panels = CX_DIV_UP((size_t)c.pnc, tabs[t]->gemm.nr);
                    ck_assert_msg(c.block_bytes / c.panel_bytes < panels, "%s on %s: one column block at L2 64 KiB",
                                  q->what, tabs[t]->name);
                    cx_qconv_destroy(&c);
                }
                free(w); free(ws); free(b);
            }
            check_qcase(q, NULL);
            check_qcase(q, pool);
        }
    }
    unsetenv("CORTEX_L2_KIB");
    cortex_pool_destroy(pool);
}
END_TEST

/* QUANTIZE / DEQUANTIZE nodes (vectorised chunks) against the scalar
 * formulas element by element: NaN -> code 0, infinities and out-of-range
 * values clamp, halfway values round to even, lengths across chunk and
 * vector boundaries, 1 and 2 threads. */
START_TEST(quantize_dequantize_runs)
{
    cxt_rng_init(cxt_seed());
    const size_t lens[] = { 1, 15, 17, 16384, 16384 * 2 + 37 };
    const float scales[] = { 0.05f, 0.0173f, 1.0f };
    const int32_t zps[] = { 0, 128, 255, 7 };
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const size_t n = lens[li];
        float *x = malloc(n * sizeof(float)), *d = malloc((n + 8) * sizeof(float));
        uint8_t *q = malloc(n + 64);
        for (size_t i = 0; i < n; i++) x[i] = cxt_float(-20.0f, 20.0f);
        const float special[] = { NAN, INFINITY, -INFINITY, 0.5f * 0.05f, 1.5f * 0.05f, 2.5f * 0.05f, -0.5f * 0.05f,
                                  1e30f, -1e30f, -0.0f };
        for (size_t i = 0; i < sizeof special / sizeof special[0] && i < n; i++) x[(i * 7919) % n] = special[i];
        for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
            for (size_t zi = 0; zi < sizeof zps / sizeof zps[0]; zi++)
                for (int th = 0; th < 2; th++) {
                    memset(q, 0xA5, n + 64);
                    cx_quantize_run(n, x, scales[si], zps[zi], q, th ? pool : NULL);
                    const float inv = 1.0f / scales[si];
                    for (size_t i = 0; i < n; i++)
                        ck_assert_msg(q[i] == cx_q8_quantize1(x[i], inv, zps[zi]), "quantize n %zu x[%zu] = %g: %d vs %d", n, i,
                                      x[i], q[i], cx_q8_quantize1(x[i], inv, zps[zi]));
                    for (size_t i = n; i < n + 64; i++) ck_assert_msg(q[i] == 0xA5, "quantize wrote past the end");
                    for (size_t i = 0; i < n + 8; i++) d[i] = 12345.0f;
                    cx_dequantize_run(n, q, scales[si], zps[zi], d, th ? pool : NULL);
                    for (size_t i = 0; i < n; i++)
                        ck_assert_msg(d[i] == (float)((int32_t)q[i] - zps[zi]) * scales[si], "dequantize n %zu at %zu", n, i);
                    for (size_t i = n; i < n + 8; i++) ck_assert_msg(d[i] == 12345.0f, "dequantize wrote past the end");
                }
        free(x); free(d); free(q);
    }
    cortex_pool_destroy(pool);
}
END_TEST

/* The int8 upsample-add and average pool (qeltwise.c) against the path they
 * replace, DEQUANTIZE + the f32 op (pool.c) + QUANTIZE: bit-identical on
 * every table, 1 and 2 threads, odd sizes (cropped upsample, ceil-mode and
 * padded pools), ReLU on and off. */
START_TEST(qup2add_qavgpool_match_f32_path)
{
    cxt_rng_init(cxt_seed());
    const cx_q8_kernels *tabs[8];
    const int nt = q8_tables(tabs);
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    /* out (n, d, h, w, c) of the upsample-add; low is ceil(h/2) x ceil(w/2) */
    const cx_dims outs[] = { { 1, 1, 7, 5, 3 }, { 2, 1, 6, 9, 17 }, { 1, 2, 13, 14, 64 }, { 1, 1, 4, 4, 40 } };
    for (size_t si = 0; si < sizeof outs / sizeof outs[0]; si++) {
        const cx_dims o = outs[si];
        const cx_dims lo = { o.n, o.d, (o.h + 1) / 2, (o.w + 1) / 2, o.c };
        const size_t n = (size_t)o.n * o.d * o.h * o.w * o.c, nl = (size_t)lo.n * lo.d * lo.h * lo.w * lo.c;
        uint8_t *a = malloc(n), *b = malloc(nl), *y = malloc(n + 64), *e = malloc(n);
        float *fa = malloc(n * sizeof(float)), *fb = malloc(nl * sizeof(float)), *fy = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) a[i] = (uint8_t)cxt_int(0, 255);
        for (size_t i = 0; i < nl; i++) b[i] = (uint8_t)cxt_int(0, 255);
        for (int relu = 0; relu < 2; relu++) {
            const float sa = cxt_float(0.005f, 0.1f), sb = cxt_float(0.005f, 0.1f), sy = cxt_float(0.01f, 0.2f);
            const int32_t za = cxt_int(0, 255), zb = cxt_int(0, 255), zy = relu ? cxt_int(0, 40) : cxt_int(0, 255);
            cx_dequantize_run(n, a, sa, za, fa, NULL);
            cx_dequantize_run(nl, b, sb, zb, fb, NULL);
            cx_up2add_run(o, fa, lo, fb, fy, relu, NULL);
            cx_quantize_run(n, fy, sy, zy, e, NULL);
            for (int t = 0; t < nt; t++)
                for (int th = 0; th < 2; th++) {
                    memset(y, 0xA5, n + 64);
                    cx_qup2add_run(o, a, sa, za, lo, b, sb, zb, y, sy, zy, relu, tabs[t], th ? pool : NULL);
                    for (size_t i = 0; i < n; i++)
                        ck_assert_msg(y[i] == e[i], "[%s] qup2add case %zu relu %d threads %d: y[%zu] = %d, f32 path %d",
                                      tabs[t]->name, si, relu, th + 1, i, y[i], e[i]);
                    for (size_t i = n; i < n + 64; i++) ck_assert_msg(y[i] == 0xA5, "qup2add wrote past the end");
                }
        }
        /* average pools over `a` as the input (o's dims) */
        const cx_pool_desc pools[] = {
            { .k = { 1, 2, 2 }, .s = { 1, 2, 2 }, .p = { 0, 0, 0 }, .ceil_mode = true, .count_include_pad = false },
            { .k = { 1, 3, 3 }, .s = { 1, 2, 2 }, .p = { 0, 1, 1 }, .ceil_mode = false, .count_include_pad = true },
            { .k = { 1, 3, 3 }, .s = { 1, 1, 1 }, .p = { 0, 1, 1 }, .ceil_mode = false, .count_include_pad = false },
        };
        for (size_t pi = 0; pi < sizeof pools / sizeof pools[0]; pi++) {
            cx_dims po;
            if (cx_pool_out_dims(&pools[pi], o, &po) != CORTEX_OK) continue;
            const size_t m = (size_t)po.n * po.d * po.h * po.w * po.c;
            const float sx = cxt_float(0.005f, 0.1f), sy = cxt_float(0.005f, 0.1f);
            const int32_t zx = cxt_int(0, 255), zy = cxt_int(0, 255);
            uint8_t *q = malloc(m + 64), *qe = malloc(m);
            float *fp = malloc(m * sizeof(float));
            cx_dequantize_run(n, a, sx, zx, fa, NULL);
            cx_avgpool_run(&pools[pi], o, fa, po, fp, NULL);
            cx_quantize_run(m, fp, sy, zy, qe, NULL);
            for (int t = 0; t < nt; t++)
                for (int th = 0; th < 2; th++) {
                    memset(q, 0xA5, m + 64);
                    cx_qavgpool_run(&pools[pi], o, a, sx, zx, po, q, sy, zy, tabs[t], th ? pool : NULL);
                    for (size_t i = 0; i < m; i++)
                        ck_assert_msg(q[i] == qe[i], "[%s] qavgpool case %zu pool %zu threads %d: y[%zu] = %d, f32 path %d",
                                      tabs[t]->name, si, pi, th + 1, i, q[i], qe[i]);
                    for (size_t i = m; i < m + 64; i++) ck_assert_msg(q[i] == 0xA5, "qavgpool wrote past the end");
                }
            free(q); free(qe); free(fp);
        }
        free(a); free(b); free(y); free(e); free(fa); free(fb); free(fy);
    }
    cortex_pool_destroy(pool);
}
END_TEST

/* Extreme accumulators: x = 255 with a_zp 0 and weights all +-wmax over many
 * taps saturate the output at 255 / 0 on every table; the same with a_zp 255
 * (x - a_zp = 0) leaves only the bias. */
START_TEST(qconv_saturation)
{
    const cx_q8_kernels *tabs[8];
    int nt = q8_tables(tabs);
    const int cin = 64, cout = 16, ks = 9;
    int8_t *w = malloc((size_t)cout * cin * ks);
    float ws[16], b[16];
    for (int o = 0; o < cout; o++) {
        for (int i = 0; i < cin * ks; i++) w[(size_t)o * cin * ks + i] = (int8_t)(o & 1 ? -127 : 127);
        ws[o] = 0.01f;
        b[o] = o & 2 ? 1.0f : 0.0f;
    }
    cx_dims in = { 1, 1, 4, 4, cin }, out;
    uint8_t x[1024], y[256];
    for (int azp = 0; azp <= 255; azp += 255) {
        memset(x, 255, sizeof x);
        cx_qconv_desc d = { .cin = cin, .cout = cout, .groups = 1, .w = w, .w_scale = ws, .bias = b,
                            .a_scale = 1.0f, .a_zp = azp, .y_scale = 0.01f, .y_zp = 10, .relu = false };
        for (int i = 0; i < 3; i++) { d.g.k[i] = i ? 3 : 1; d.g.s[i] = 1; d.g.p[i] = 0; d.g.dil[i] = 1; }
        for (int t = 0; t < nt; t++) {
            cx_qconv c;
            ck_assert_int_eq(cx_qconv_create(&c, &d, tabs[t]), CORTEX_OK);
            ck_assert_int_eq(cx_qconv_out_dims(&c, in, &out), CORTEX_OK);
            run_layer(&c, in, x, out, y, NULL, NULL);
            for (int m = 0; m < out.h * out.w; m++)
                for (int o = 0; o < cout; o++) {
                    int want = azp == 0 ? (o & 1 ? 0 : 255) : (o & 2 ? 110 : 10); /* bias 1.0 / 0.01 + zp */
                    ck_assert_msg(y[m * cout + o] == want, "%s azp %d: y[%d][%d] = %d, want %d", tabs[t]->name, azp, m,
                                  o, y[m * cout + o], want);
                }
            cx_qconv_destroy(&c);
        }
    }
    free(w);
}
END_TEST

/* 8-bit weights on a wmax-64 table: halved with round-half-to-even (unbiased),
 * the scale doubled; the result still equals the reference on those weights. */
START_TEST(qconv_seven_bit_requant)
{
    int8_t w[2 * 4] = { 127, -127, 3, -3, 1, 64, 65, -66 };
    /* power-of-two scales: every product below is exact */
    float ws[2] = { 0.015625f, 0.03125f }, b[2] = { 0.5f, -0.25f };
    cx_qconv_desc d = { .cin = 4, .cout = 2, .groups = 1, .w = w, .w_scale = ws, .bias = b, .a_scale = 0.125f,
                        .a_zp = 0, .y_scale = 0.125f, .y_zp = 0 };
    for (int i = 0; i < 3; i++) { d.g.k[i] = 1; d.g.s[i] = 1; d.g.p[i] = 0; d.g.dil[i] = 1; }
    cx_q8_kernels t64 = cx_q8_kernels_scalar;
    t64.wmax = 64;
    cx_qconv c;
    ck_assert_int_eq(cx_qconv_create(&c, &d, &t64), CORTEX_OK);
    ck_assert_int_eq(c.wbits, 7);
    int8_t wu[8];
    int32_t bq[2];
    float sc[2];
    cx_qconv_export(&c, &d, wu, bq, sc);
    const int8_t want[8] = { 64, -64, 2, -2, 0, 32, 32, -33 }; /* rint(w/2), half to even */
    for (int i = 0; i < 8; i++) ck_assert_int_eq(wu[i], want[i]);
    ck_assert(sc[0] == 0.03125f);   /* a_scale * 2 w_scale / y_scale */
    ck_assert_int_eq(bq[0], 128);   /* 0.5 / (0.125 * 2^-5) */
    ck_assert_int_eq(bq[1], -32);   /* -0.25 / (0.125 * 2^-4) */
    cx_qconv_destroy(&c);
    /* bias correction: with E[x] = 0.25 per weight, channel 1 changes by
     * sum (W7 - W8) E[x] = 2^-5 * (-1 + 0 - 1 + 0) * 0.25 = -2^-6, absorbed by
     * the bias: (-0.25 + 2^-6) * 128 = -30; channel 0's changes cancel */
    float xm[4] = { 0.25f, 0.25f, 0.25f, 0.25f };
    d.xmean = xm;
    ck_assert_int_eq(cx_qconv_create(&c, &d, &t64), CORTEX_OK);
    cx_qconv_export(&c, &d, wu, bq, sc);
    ck_assert_int_eq(bq[0], 128);
    ck_assert_int_eq(bq[1], -30);
    cx_qconv_destroy(&c);
}
END_TEST

/* ---------------------------------------------------------- calibration */

static double gauss(void)
{
    double u = (cxt_u32() + 0.5) / 4294967296.0, v = (cxt_u32() + 0.5) / 4294967296.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

START_TEST(calib_methods_on_histograms)
{
    cxt_rng_init(cxt_seed());
    enum { N = 200000 };
    float *x = malloc(N * sizeof(float));
    cx_hist h;
    double lo, hi, lo2, hi2, lo3, hi3;
    /* Laplace-like heavy tail, ReLU'd (half exact zeros), added in two
     * batches whose range grows (the histogram re-bins) */
    ck_assert_int_eq(cx_hist_init(&h), CORTEX_OK);
    for (int i = 0; i < N; i++) {
        double u = (cxt_u32() + 0.5) / 4294967296.0;
        double v = -log(u) * (cxt_u32() & 1 ? 1 : -1);
        x[i] = v > 0 ? (float)v : 0.0f;
    }
    x[0] = 0.5f;
    cx_hist_add(&h, x, N / 2);
    cx_hist_add(&h, x + N / 2, N / 2);
    ck_assert(h.count == N);
    double nb = h.zeros;
    for (int i = 0; i < 2 * CX_HIST_HALF; i++) nb += h.bins[i];
    ck_assert(nb == N);
    cx_hist_range(&h, CX_CALIB_MINMAX, 0, true, &lo, &hi);
    ck_assert(lo == 0 && hi == h.max);
    cx_hist_range(&h, CX_CALIB_PERCENTILE, 99.0, true, &lo2, &hi2);
    /* P(v > t) = exp(-t)/2 for the ReLU'd Laplace: 99th percentile at ln 50 */
    ck_assert_msg(fabs(hi2 - log(50.0)) < 0.15, "p99 %g, want %g", hi2, log(50.0));
    cx_hist_range(&h, CX_CALIB_MSE, 0, true, &lo3, &hi3);
    ck_assert_msg(hi3 < hi && hi3 > 1.0, "mse clip %g (max %g)", hi3, hi);
    double e1 = cx_hist_mse(&h, lo, hi), e2 = cx_hist_mse(&h, lo2, hi2), e3 = cx_hist_mse(&h, lo3, hi3);
    ck_assert_msg(e3 <= e1 && e3 <= e2, "mse %g, minmax %g, p99 %g", e3, e1, e2);
    float sc;
    int32_t zp;
    cx_qparams(lo3, hi3, &sc, &zp);
    ck_assert_int_eq(zp, 0);
    ck_assert(fabs(sc * 255.0 - hi3) < 1e-5 * hi3);
    cx_hist_free(&h);

    /* uniform on [-1, 3]: little to clip; mse keeps nearly the whole range,
     * the zero point puts real 0 on an integer (0.25 of the range) */
    ck_assert_int_eq(cx_hist_init(&h), CORTEX_OK);
    for (int i = 0; i < N; i++) x[i] = cxt_float(-1, 3);
    cx_hist_add(&h, x, N);
    cx_hist_range(&h, CX_CALIB_MSE, 0, false, &lo, &hi);
    ck_assert_msg(lo < -0.9 && hi > 2.8, "uniform: mse range [%g, %g]", lo, hi);
    cx_qparams(-1, 3, &sc, &zp);
    ck_assert_int_eq(zp, 64);
    /* Gaussian with a few far outliers: minmax is ruined, mse and percentile are not */
    cx_hist_free(&h);
    ck_assert_int_eq(cx_hist_init(&h), CORTEX_OK);
    for (int i = 0; i < N; i++) x[i] = (float)gauss();
    x[5] = 400.0f;
    x[6] = -300.0f;
    cx_hist_add(&h, x, N);
    cx_hist_range(&h, CX_CALIB_MINMAX, 0, false, &lo, &hi);
    cx_hist_range(&h, CX_CALIB_PERCENTILE, 99.99, false, &lo2, &hi2);
    cx_hist_range(&h, CX_CALIB_MSE, 0, false, &lo3, &hi3);
    ck_assert(lo == -300.0 && hi == 400.0);
    ck_assert_msg(hi2 < 6 && lo2 > -6, "p99.99 [%g, %g]", lo2, hi2);
    /* two outliers in 200000 values: clipping them costs more squared error
     * than the coarser step of keeping them; mse weighs exactly that */
    e1 = cx_hist_mse(&h, lo, hi);
    e2 = cx_hist_mse(&h, lo2, hi2);
    e3 = cx_hist_mse(&h, lo3, hi3);
    ck_assert_msg(e3 <= e1 * 1.0001 && e3 <= e2 * 1.0001, "mse [%g, %g]: %g; minmax %g, p99.99 %g", lo3, hi3, e3, e1, e2);
    cx_hist_free(&h);
    cx_hist_free(&h);
    /* all zeros: a valid (degenerate) range */
    ck_assert_int_eq(cx_hist_init(&h), CORTEX_OK);
    memset(x, 0, 100 * sizeof(float));
    cx_hist_add(&h, x, 100);
    cx_hist_range(&h, CX_CALIB_MSE, 0, false, &lo, &hi);
    ck_assert(lo == 0 && hi == 0);
    cx_qparams(lo, hi, &sc, &zp);
    ck_assert(sc > 0 && zp == 0);
    cx_hist_free(&h);
    free(x);

    cx_calib_method m;
    double p = 0;
    ck_assert_int_eq(cx_calib_method_parse("percentile:99.9", &m, &p), 0);
    ck_assert(m == CX_CALIB_PERCENTILE && p == 99.9);
    ck_assert_int_eq(cx_calib_method_parse("percentile:101", &m, &p), -1);
    ck_assert_int_eq(cx_calib_method_parse("kl", &m, &p), -1);
}
END_TEST

START_TEST(weight_quantization)
{
    float w[2 * 3] = { 0.5f, -1.0f, 0.25f, 0, 0, 0 };
    int8_t q[6];
    float s[2];
    cx_quantize_weights(w, 2, 3, q, s);
    ck_assert_float_eq(s[0], (float)(1.0 / 127));
    ck_assert_int_eq(q[0], 64); /* 63.5 -> 64 (half to even) */
    ck_assert_int_eq(q[1], -127);
    ck_assert_int_eq(q[2], 32);  /* 31.75 */
    ck_assert(s[1] == 0 && q[3] == 0 && q[4] == 0 && q[5] == 0);
}
END_TEST

/* ------------------------------------------------------------- models */

static void *synth_ctx(const char *arch, int classes, size_t *size)
{
    cx_tdict sd = { 0 };
    ck_assert_int_eq(cx_arch_synth(cx_arch_find(arch), classes, 3, -1, &sd), CORTEX_OK);
    void *buf = NULL;
    char err[600];
    cx_convert_opts o = { .arch = arch, .alpha = -1 };
    ck_assert_msg(cx_convert_tdict_to_memory(&sd, &o, &buf, size, err, sizeof err) == CORTEX_OK, "%s", err);
    cx_tdict_free(&sd);
    return buf;
}

static void fill_gauss(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)gauss();
}

static float *run_model_rank(const cortex_model *m, const float *x, const int64_t *shape, int rank, cortex_pool *pool)
{
    cortex_session *s;
    ck_assert_int_eq(cortex_session_create(m, &s), CORTEX_OK);
    size_t n = (size_t)shape[0] * (size_t)cortex_model_num_classes(m);
    float *y = malloc(n * sizeof(float));
    ck_assert_msg(cortex_run(s, x, shape, rank, y, n, pool) == CORTEX_OK, "run: %s", cortex_session_error(s));
    cortex_session_free(s);
    return y;
}

static float *run_model(const cortex_model *m, const float *x, const int64_t *shape, cortex_pool *pool)
{
    return run_model_rank(m, x, shape, 4, pool);
}

static double sqnr_db(const float *ref, const float *y, size_t n)
{
    double s = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]);
    }
    return 10 * log10(s / (e > 0 ? e : 1e-300));
}

START_TEST(int8_model_vs_fp32)
{
    cxt_rng_init(cxt_seed());
    size_t size, qsize;
    const int classes = 10;
    void *buf = synth_ctx("resnet18", classes, &size);
    int64_t cs[4] = { 8, 3, 48, 40 }, xs[4] = { 2, 3, 48, 40 };
    size_t per = 3 * 48 * 40;
    float *cal = malloc(8 * per * sizeof(float)), *x = malloc(2 * per * sizeof(float));
    fill_gauss(cal, 8 * per);
    fill_gauss(x, 2 * per);
    cx_quant_opts qo = cx_quant_opts_default();
    qo.threads = 1;
    void *qbuf;
    char err[700];
    ck_assert_msg(cx_quantize_memory(buf, size, cal, cs, 4, &qo, &qbuf, &qsize, err, sizeof err) == CORTEX_OK, "%s", err);
    cortex_model *mf, *mq;
    ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &mf, err, sizeof err), CORTEX_OK);
    ck_assert_msg(cortex_model_load_memory(qbuf, qsize, NULL, &mq, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_str_eq(cortex_model_dtype(mq), "int8");
    ck_assert_str_eq(cortex_model_dtype(mf), "float32");
    ck_assert(cortex_model_param_count(mq) == cortex_model_param_count(mf));
    float *yf = run_model(mf, x, xs, NULL), *yq = run_model(mq, x, xs, NULL);
    double db = sqnr_db(yf, yq, 2 * classes);
    printf("  int8 resnet18 (random weights, 2x3x48x40, %s): SQNR %.1f dB vs fp32\n", mq->qk->name, db);
    ck_assert_msg(db >= 25, "SQNR %.1f dB", db);

    /* threads and batch do not change int8 results (bitwise) */
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    float *yt = run_model(mq, x, xs, pool);
    ck_assert_int_eq(memcmp(yt, yq, 2 * classes * sizeof(float)), 0);
    int64_t x1[4] = { 1, 3, 48, 40 };
    float *y1 = run_model(mq, x + per, x1, NULL);
    ck_assert_int_eq(memcmp(y1, yq + classes, classes * sizeof(float)), 0);
    cortex_pool_destroy(pool);

    /* every q8 table with full-range weights gives the same logits, bit for bit;
     * the 7-bit tables stay close */
    const cx_q8_kernels *tabs[8];
    int nt = q8_tables(tabs);
    float *ref = NULL;
    for (int t = 0; t < nt; t++) {
        cortex_model *m;
        ck_assert_int_eq(cx_model_load_memory_q8(qbuf, qsize, NULL, tabs[t], &m, err, sizeof err), CORTEX_OK);
        float *y = run_model(m, x, xs, NULL);
        double d = sqnr_db(yf, y, 2 * classes);
        printf("    table %-10s weights %d-bit: SQNR %.1f dB\n", tabs[t]->name, m->wbits, d);
        if (tabs[t]->wmax == 127) {
            ck_assert_int_eq(m->wbits, 8);
            if (!ref) ref = y;
            else { ck_assert_msg(memcmp(ref, y, 2 * classes * sizeof(float)) == 0, "%s differs", tabs[t]->name); free(y); }
        } else {
            ck_assert_int_eq(m->wbits, 7);
            ck_assert_msg(d >= 20, "%s: SQNR %.1f dB", tabs[t]->name, d);
            free(y);
        }
        cortex_model_free(m);
    }
    free(ref);
    free(yt); free(y1); free(yf); free(yq);
    cortex_model_free(mf);
    cortex_model_free(mq);
    free(qbuf); free(buf); free(cal); free(x);
}
END_TEST

/* The video and octave nets in int8 (random weights at their nominal
 * widths, small inputs): (2+1)D and 3x3x3 convs, depthwise 3x3x3 (CSN),
 * grouped 3x3x3 (resnext3d), octave convs with their f32 upsample-adds and
 * pools between int8 convs, close to fp32, and 1 vs 2 threads bit for bit. */
START_TEST(int8_video_and_octave_models)
{
    cxt_rng_init(cxt_seed() + 2);
    const char *archs[] = { "r2plus1d_18", "mc3_18", "ir_csn_50", "ip_csn_50", "resnext3d_101", "octresnet50" };
    const int classes = 7;
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
        const int rank = cx_arch_find(archs[i])->spatial == 3 ? 5 : 4;
        int64_t cs[5] = { 4, 3, 4, 32, 32 }, xs[5] = { 1, 3, 4, 32, 32 };
        if (rank == 4) { cs[2] = xs[2] = 48; cs[3] = xs[3] = 44; }
        const size_t per = rank == 5 ? 3 * 4 * 32 * 32 : 3 * 48 * 44;
        float *cal = malloc(4 * per * sizeof(float)), *x = malloc(per * sizeof(float));
        size_t size, qsize;
        void *buf = synth_ctx(archs[i], classes, &size), *qbuf;
        fill_gauss(cal, 4 * per);
        fill_gauss(x, per);
        cx_quant_opts qo = cx_quant_opts_default();
        char err[700];
        ck_assert_msg(cx_quantize_memory(buf, size, cal, cs, rank, &qo, &qbuf, &qsize, err, sizeof err) == CORTEX_OK,
                      "%s: %s", archs[i], err);
        cortex_model *mf, *mq;
        ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &mf, err, sizeof err), CORTEX_OK);
        ck_assert_msg(cortex_model_load_memory(qbuf, qsize, NULL, &mq, err, sizeof err) == CORTEX_OK, "%s: %s", archs[i], err);
        ck_assert_str_eq(cortex_model_dtype(mq), "int8");
        float *yf = run_model_rank(mf, x, xs, rank, NULL), *yq = run_model_rank(mq, x, xs, rank, NULL);
        float *yt = run_model_rank(mq, x, xs, rank, pool);
        const double db = sqnr_db(yf, yq, classes);
        printf("  int8 %-14s (random weights, %s, %s): SQNR %.1f dB vs fp32\n", archs[i],
               rank == 5 ? "1x3x4x32x32" : "1x3x48x44", mq->qk->name, db);
        ck_assert_msg(db >= 20, "%s: SQNR %.1f dB", archs[i], db);
        ck_assert_msg(memcmp(yt, yq, classes * sizeof(float)) == 0, "%s: 2 threads differ from 1", archs[i]);
        if (!strcmp(archs[i], "octresnet50")) {
            /* the upsample-adds and 2x2 pools run in int8: no conversion but the input's QUANTIZE */
            int qup = 0, qavg = 0, conv = 0, f32ops = 0;
            for (int k = 0; k < mq->g.n_nodes; k++) {
                const cx_opkind op = mq->g.nodes[k].op;
                qup += op == CX_OP_QUP2ADD;
                qavg += op == CX_OP_QAVGPOOL;
                conv += op == CX_OP_QUANTIZE || op == CX_OP_DEQUANTIZE;
                f32ops += op == CX_OP_UP2ADD || op == CX_OP_AVGPOOL;
            }
            ck_assert_msg(qup > 0 && qavg > 0 && f32ops == 0 && conv == 1,
                          "octresnet50 int8 graph: %d qup2add, %d qavgpool, %d f32 up2add/avgpool, %d conversions",
                          qup, qavg, f32ops, conv);
        }
        free(yf); free(yq); free(yt);
        cortex_model_free(mf);
        cortex_model_free(mq);
        free(qbuf); free(buf);
        free(cal); free(x);
    }
    cortex_pool_destroy(pool);
}
END_TEST

/* A model whose first conv stays fp32 (--fp32-stem) and one with an int8 stem (the default)
 * both load and run; the int8 file refuses to be quantized again. */
START_TEST(int8_model_variants)
{
    cxt_rng_init(cxt_seed() + 1);
    size_t size, qsize;
    void *buf = synth_ctx("resnext50_32x4d", 5, &size);
    int64_t cs[4] = { 4, 3, 40, 36 }, xs[4] = { 1, 3, 40, 36 };
    size_t per = 3 * 40 * 36;
    float *cal = malloc(4 * per * sizeof(float));
    fill_gauss(cal, 4 * per);
    char err[700];
    cortex_model *mf;
    ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &mf, err, sizeof err), CORTEX_OK);
    float *yf = run_model(mf, cal, xs, NULL);
    for (int stem = 0; stem < 2; stem++) {
        cx_quant_opts qo = cx_quant_opts_default();
        qo.fp32_stem = !stem;
        qo.method = stem ? CX_CALIB_PERCENTILE : CX_CALIB_MINMAX;
        void *qbuf;
        ck_assert_msg(cx_quantize_memory(buf, size, cal, cs, 4, &qo, &qbuf, &qsize, err, sizeof err) == CORTEX_OK, "%s", err);
        cortex_model *mq;
        ck_assert_msg(cortex_model_load_memory(qbuf, qsize, NULL, &mq, err, sizeof err) == CORTEX_OK, "%s", err);
        int nconv = 0, nq = 0;
        for (int i = 0; i < mq->g.n_nodes; i++) {
            nconv += mq->g.nodes[i].op == CX_OP_CONV;
            nq += mq->g.nodes[i].op == CX_OP_QCONV;
        }
        ck_assert_int_eq(nconv, stem ? 1 : 2); /* fc (+ conv1) */
        ck_assert_int_eq(nq, stem ? 53 : 52);
        float *yq = run_model(mq, cal, xs, NULL);
        double db = sqnr_db(yf, yq, 5);
        printf("  int8 resnext50_32x4d (%s stem): SQNR %.1f dB\n", stem ? "int8" : "fp32", db);
        ck_assert_msg(db >= 20, "SQNR %.1f dB", db);
        void *q2;
        size_t s2;
        ck_assert_int_eq(cx_quantize_memory(qbuf, qsize, cal, cs, 4, &qo, &q2, &s2, err, sizeof err), CORTEX_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(err, "already int8"));
        free(yq);
        cortex_model_free(mq);
        free(qbuf);
    }
    free(yf);
    cortex_model_free(mf);
    free(cal);
    free(buf);
}
END_TEST

/* Invalid quantization metadata in an int8 file is a CORRUPT load error that
 * names the key, never a crash. */
START_TEST(int8_bad_metadata)
{
    cxt_rng_init(cxt_seed() + 2);
    size_t size;
    void *buf = synth_ctx("resnet18", 3, &size);
    int64_t cs[4] = { 2, 3, 32, 32 };
    float *cal = malloc(2 * 3 * 32 * 32 * sizeof(float));
    fill_gauss(cal, 2 * 3 * 32 * 32);
    char err[700];
    cx_ctx_file *f;
    ck_assert_int_eq(cx_ctx_open_memory(buf, size, &f, err, sizeof err), CORTEX_OK);
    const float nan2[2] = { NAN, 0 }, neg[2] = { -1.0f, 3 }, frac[2] = { 0.1f, 2.5f }, one[1] = { 0.1f };
    const struct { const char *key; const float *v; size_t n; } bad[] = {
        { "quant.act.layer1.0.conv1", nan2, 2 }, { "quant.act.layer2.0.conv2", neg, 2 },
        { "quant.input", frac, 2 },              { "quant.act.layer3.1.conv1", one, 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_ctx_writer *w = NULL;
        cx_quant_opts qo = cx_quant_opts_default();
        qo.threads = 1;
        ck_assert_int_eq(cx_quantize_ctx(f, cal, cs, 4, "cal", &qo, &w, err, sizeof err), CORTEX_OK);
        ck_assert_int_eq(cx_ctx_writer_set_f32_array(w, bad[i].key, bad[i].n, bad[i].v), CORTEX_OK);
        void *qb;
        size_t qs;
        ck_assert_int_eq(cx_ctx_writer_to_memory(w, &qb, &qs, err, sizeof err), CORTEX_OK);
        cx_ctx_writer_free(w);
        cortex_model *m = NULL;
        ck_assert_int_eq(cortex_model_load_memory(qb, qs, NULL, &m, err, sizeof err), CORTEX_ERR_CORRUPT);
        ck_assert_msg(strstr(err, bad[i].key) != NULL, "%s: %s", bad[i].key, err);
        ck_assert_ptr_null(m);
        free(qb);
    }
    cx_ctx_close(f);
    free(cal);
    free(buf);
}
END_TEST

/* ---------------------------------------------- converter and tools */

static char g_build[512];

/* The build dir holding the tools: the directory above this test's binary. */
static const char *build_dir(void)
{
    if (g_build[0]) return g_build;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *s = strrchr(exe, '/');
    if (!s) return NULL;
    *s = 0;
    s = strrchr(exe, '/');
    if (!s) return NULL;
    *s = 0;
    snprintf(g_build, sizeof g_build, "%s", exe);
    return g_build;
}

static int sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_npy(const char *path, const float *x, int nd, const int64_t *shape)
{
    char err[300];
    ck_assert_msg(cx_npy_write_file(path, x, nd, shape, err, sizeof err) == CORTEX_OK, "%s", err);
}

START_TEST(converter_errors_and_info)
{
    char dir[] = "/tmp/cx_int8_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cal4[600], cal5[600], pth[] = "tests/data/golden/resnet18_ckpt.pth", out[600], fctx[600], err[900];
    snprintf(cal4, sizeof cal4, "%s/cal4.npy", dir);
    snprintf(cal5, sizeof cal5, "%s/cal5.npy", dir);
    snprintf(out, sizeof out, "%s/q.ctx", dir);
    snprintf(fctx, sizeof fctx, "%s/f.ctx", dir);
    float x[4 * 3 * 2 * 20 * 20];
    cxt_rng_init(5);
    fill_gauss(x, sizeof x / sizeof x[0]);
    int64_t s4[4] = { 4, 3, 40, 20 }, s5[5] = { 2, 3, 2, 20, 20 };
    write_npy(cal4, x, 4, s4);
    write_npy(cal5, x, 5, s5);

    /* in process */
    cx_convert_opts o = { .arch = "resnet18", .alpha = -1, .quant = cx_quant_opts_default() };
    ck_assert_int_eq(cx_convert_int8(pth, out, &o, err, sizeof err), CORTEX_ERR_INVALID_ARG); /* no calib */
    ck_assert_ptr_nonnull(strstr(err, "--calib"));
    o.calib_path = cal5;
    ck_assert_int_eq(cx_convert_int8(pth, out, &o, err, sizeof err), CORTEX_ERR_SHAPE);
    ck_assert_msg(strstr(err, cal5) && strstr(err, "(N,3,H,W)"), "%s", err);
    o.calib_path = "/nonexistent/cal.npy";
    ck_assert_int_eq(cx_convert_int8(pth, out, &o, err, sizeof err), CORTEX_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/cal.npy"));
    o.calib_path = cal4;
    ck_assert_msg(cx_convert_int8(pth, out, &o, err, sizeof err) == CORTEX_OK, "%s", err);
    o.arch = "resnet34";
    ck_assert_int_eq(cx_convert_int8(out, fctx, &o, err, sizeof err), CORTEX_ERR_INVALID_ARG); /* int8 already / arch */

    /* the tools (when built next to this test) */
    const char *B = build_dir();
    char cmd_out[16384];
    char conv[600], cortex[600];
    snprintf(conv, sizeof conv, "%s/cortex-convert", B ? B : "build");
    snprintf(cortex, sizeof cortex, "%s/cortex", B ? B : "build");
    if (access(conv, X_OK) == 0 && access(cortex, X_OK) == 0) {
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s %s --arch resnet18 --int8 -o %s 2>&1", conv, pth, out), 2);
        ck_assert_ptr_nonnull(strstr(cmd_out, "--calib"));
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s %s --arch resnet18 --int8 --calib %s -o %s 2>&1 >/dev/null", conv,
                            pth, cal5, out), 1);
        ck_assert_msg(strstr(cmd_out, "cortex: error: ") && strstr(cmd_out, cal5), "%s", cmd_out);
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s %s --arch resnet18 -q -o %s 2>&1", conv, pth, fctx), 0);
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s %s --int8 --calib %s --calib-method percentile:99.9 -q -o %s 2>&1",
                            conv, fctx, cal4, out), 0);
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s %s --int8 --calib %s --calib-method kl -o %s 2>&1", conv, fctx,
                            cal4, out), 2);
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s info %s", cortex, out), 0);
        ck_assert_msg(strstr(cmd_out, "dtype:       int8") && strstr(cmd_out, "quantization: int8, calibrated with percentile:99.9 on 4 images") &&
                      strstr(cmd_out, "int8 kernels: ") && strstr(cmd_out, "layer1.0.conv1"),
                      "%s", cmd_out);
        char in[600], yo[600];
        snprintf(in, sizeof in, "%s/in.npy", dir);
        snprintf(yo, sizeof yo, "%s/out.npy", dir);
        int64_t s1[4] = { 1, 3, 33, 35 };
        write_npy(in, x, 4, s1);
        ck_assert_int_eq(sh(cmd_out, sizeof cmd_out, "%s run %s --input %s --output %s --threads 2 2>&1", cortex, out, in, yo), 0);
        cx_npy y = { 0 };
        ck_assert_int_eq(cx_npy_read_file(yo, &y, err, sizeof err), CORTEX_OK);
        ck_assert(y.ndim == 2 && y.shape[0] == 1 && y.shape[1] == 4);
        cx_npy_free(&y);
        remove(in);
        remove(yo);
    } else {
        printf("  tools not found next to the test (%s): CLI checks skipped\n", conv);
    }
    remove(cal4);
    remove(cal5);
    remove(out);
    remove(fctx);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------ int8 goldens */

#define GDIR "tests/data/golden_int8/"

START_TEST(int8_goldens)
{
    FILE *f = fopen(GDIR "MANIFEST", "r");
    ck_assert_msg(f != NULL, "missing " GDIR "MANIFEST");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], arch[64];
        double min_db, torch_db;
        if (line[0] == '#' || sscanf(line, "%127s %63s %lf %lf", name, arch, &min_db, &torch_db) != 4) continue;
        char pth[300], cal[300], in[300], want[300], err[900];
        snprintf(pth, sizeof pth, "tests/data/golden/%s.pth", name);
        snprintf(cal, sizeof cal, GDIR "%s.calib.npy", name);
        snprintf(in, sizeof in, GDIR "%s.in.npy", name);
        snprintf(want, sizeof want, GDIR "%s.out.npy", name);
        cx_convert_opts o = { .arch = arch, .alpha = -1, .calib_path = cal, .quant = cx_quant_opts_default() };
        void *buf;
        size_t size;
        ck_assert_msg(cx_convert_int8_to_memory(pth, &o, &buf, &size, err, sizeof err) == CORTEX_OK, "%s: %s", name, err);
        cx_npy x = { 0 }, y = { 0 };
        ck_assert_msg(cx_npy_read_file(in, &x, err, sizeof err) == CORTEX_OK, "%s: %s", in, err);
        ck_assert_msg(cx_npy_read_file(want, &y, err, sizeof err) == CORTEX_OK, "%s: %s", want, err);
        const cx_q8_kernels *tabs[8];
        int nt = q8_tables(tabs);
        for (int t = 0; t < nt; t++) {
            cortex_model *m;
            ck_assert_msg(cx_model_load_memory_q8(buf, size, NULL, tabs[t], &m, err, sizeof err) == CORTEX_OK, "%s", err);
            cortex_session *s;
            ck_assert_int_eq(cortex_session_create(m, &s), CORTEX_OK);
            float *yq = malloc(y.numel * sizeof(float));
            ck_assert_msg(cortex_run(s, x.data, x.shape, x.ndim, yq, y.numel, NULL) == CORTEX_OK, "%s", cortex_session_error(s));
            double db = sqnr_db(y.data, yq, y.numel);
            /* the 7-bit tables may lose up to 6 dB (one bit of weights) */
            double need = m->wbits == 8 ? min_db : min_db - 6;
            char tdb[32];
            if (isnan(torch_db)) snprintf(tdb, sizeof tdb, "n/a");
            else snprintf(tdb, sizeof tdb, "%.1f dB", torch_db);
            printf("  %-18s %-11s int8 vs PyTorch fp32: SQNR %5.1f dB (need >= %.0f; PyTorch int8: %s) %s\n", name,
                   tabs[t]->name, db, need, tdb, db >= need ? "ok" : "FAIL");
            ck_assert_msg(db >= need, "%s on %s: SQNR %.1f dB < %.1f", name, tabs[t]->name, db, need);
            free(yq);
            cortex_session_free(s);
            cortex_model_free(m);
        }
        cx_npy_free(&x);
        cx_npy_free(&y);
        free(buf);
        n++;
    }
    fclose(f);
    ck_assert_int_gt(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("int8");
    TCase *t = tcase_create("qconv");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, qconv_matches_reference);
    tcase_add_test(t, qconv_saturation);
    tcase_add_test(t, qconv_blocking);
    tcase_add_test(t, quantize_dequantize_runs);
    tcase_add_test(t, qup2add_qavgpool_match_f32_path);
    tcase_add_test(t, qconv_seven_bit_requant);
    suite_add_tcase(s, t);
    t = tcase_create("calibration");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, calib_methods_on_histograms);
    tcase_add_test(t, weight_quantization);
    suite_add_tcase(s, t);
    t = tcase_create("models");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, int8_model_vs_fp32);
    tcase_add_test(t, int8_video_and_octave_models);
    tcase_add_test(t, int8_model_variants);
    tcase_add_test(t, int8_bad_metadata);
    tcase_add_test(t, converter_errors_and_info);
    tcase_add_test(t, int8_goldens);
    suite_add_tcase(s, t);
    return s;
}

CXT_MAIN(suite)
