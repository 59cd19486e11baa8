/* Whole-model tests in process: synthetic weights -> convert (BN folding) ->
 * .ctx in memory -> load on each kernel table -> run. Checks tables agree,
 * batches and threads do not change results, shape errors are clean, and the
 * converter names the offending key. (PyTorch agreement: test_golden.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtest.h"
#include "cortex.h"
#include "models/convert.h"
#include "models/models.h"

static void *make_ctx(const char *arch, int classes, size_t *size, cx_tdict *keep)
{
    cx_tdict sd = { 0 };
    ck_assert_int_eq(cx_arch_synth(cx_arch_find(arch), classes, 7, -1, &sd), CORTEX_OK);
    void *buf = NULL;
    char err[600];
    cx_convert_opts o = { .arch = arch, .alpha = -1 };
    cortex_status st = cx_convert_tdict_to_memory(&sd, &o, &buf, size, err, sizeof err);
    ck_assert_msg(st == CORTEX_OK, "convert: %s", err);
    if (keep) *keep = sd;
    else cx_tdict_free(&sd);
    return buf;
}

static float *run(cortex_model *m, const float *x, const int64_t *shape, int rank, cortex_pool *pool)
{
    cortex_session *s;
    ck_assert_int_eq(cortex_session_create(m, &s), CORTEX_OK);
    size_t n = (size_t)shape[0] * (size_t)cortex_model_num_classes(m);
    float *y = malloc(n * sizeof(float));
    cortex_status st = cortex_run(s, x, shape, rank, y, n, pool);
    ck_assert_msg(st == CORTEX_OK, "run: %s", cortex_session_error(s));
    cortex_session_free(s);
    return y;
}

START_TEST(tables_agree_resnet18)
{
    size_t size;
    void *buf = make_ctx("resnet18", 10, &size, NULL);
    int64_t shape[4] = { 1, 3, 45, 38 };
    size_t xn = 3 * 45 * 38;
    float *x = malloc(xn * sizeof(float));
    cxt_fill(x, xn, -2, 2);
    const cx_kernels *t[4];
    int nt = cxt_tables(t, 4);
    float *ref = NULL;
    for (int i = 0; i < nt; i++) {
        cortex_load_options lo = { t[i]->name };
        cortex_model *m;
        char err[600];
        ck_assert_msg(cortex_model_load_memory(buf, size, &lo, &m, err, sizeof err) == CORTEX_OK, "%s", err);
        ck_assert_str_eq(cortex_model_isa(m), t[i]->name);
        float *y = run(m, x, shape, 4, NULL);
        if (!ref) ref = y;
        else {
            double e = cxt_rel_err(y, ref, 10, 1e-3, NULL);
            ck_assert_msg(e < 1e-4, "%s vs %s: rel err %g", t[i]->name, t[0]->name, e);
            free(y);
        }
        cortex_model_free(m);
    }
    free(ref);
    free(x);
    free(buf);
}
END_TEST

/* Synthetic weights of the octave and video families (models/synth.c)
 * convert, load and run on every table, the tables agreeing; octresnet50's
 * alpha reaches the file, alpha 0 is ResNet-50's parameter count, and a
 * checkpoint made for another alpha is refused by name. */
static void *synth_alpha_ctx(const char *arch, int classes, double synth_alpha, double conv_alpha, size_t *size,
                             char *err, size_t errlen, cortex_status *st)
{
    cx_tdict sd = { 0 };
    ck_assert_int_eq(cx_arch_synth(cx_arch_find(arch), classes, 5, synth_alpha, &sd), CORTEX_OK);
    void *buf = NULL;
    cx_convert_opts o = { .arch = arch, .alpha = conv_alpha };
    *st = cx_convert_tdict_to_memory(&sd, &o, &buf, size, err, errlen);
    cx_tdict_free(&sd);
    return buf;
}

START_TEST(synth_octave_and_video)
{
    static const struct { const char *arch; double alpha; int rank; int64_t shape[5]; } C[] = {
        { "octresnet50", 0.0, 4, { 1, 3, 37, 42 } },
        { "octresnet50", 0.125, 4, { 1, 3, 37, 42 } },
        { "octresnet50", 0.25, 4, { 1, 3, 37, 42 } },
        { "octresnet50", 0.5, 4, { 1, 3, 37, 42 } },
        { "r3d_18", -1, 5, { 1, 3, 3, 20, 18 } },
        { "r2plus1d_34", -1, 5, { 1, 3, 4, 17, 19 } },
    };
    const cx_kernels *t[4];
    const int nt = cxt_tables(t, 4);
    uint64_t p_oct0 = 0;
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
        size_t size, xn = 1;
        char err[600] = "";
        cortex_status st;
        void *buf = synth_alpha_ctx(C[c].arch, 5, C[c].alpha, C[c].alpha, &size, err, sizeof err, &st);
        ck_assert_msg(st == CORTEX_OK, "%s alpha %g: %s", C[c].arch, C[c].alpha, err);
        for (int i = 0; i < C[c].rank; i++) xn *= (size_t)C[c].shape[i];
        float *x = malloc(xn * sizeof(float)), *ref = NULL;
        cxt_fill(x, xn, -1, 1);
        for (int i = 0; i < nt; i++) {
            cortex_load_options lo = { t[i]->name };
            cortex_model *m;
            ck_assert_msg(cortex_model_load_memory(buf, size, &lo, &m, err, sizeof err) == CORTEX_OK, "%s", err);
            if (C[c].alpha == 0.0 && i == 0) p_oct0 = cortex_model_param_count(m);
            float *y = run(m, x, C[c].shape, C[c].rank, NULL);
            if (!ref) ref = y;
            else {
                double e = cxt_rel_err(y, ref, 5, 1e-3, NULL);
                ck_assert_msg(e < 1e-4, "%s alpha %g: %s vs %s rel err %g", C[c].arch, C[c].alpha, t[i]->name,
                              t[0]->name, e);
                free(y);
            }
            cortex_model_free(m);
        }
        if (C[c].alpha >= 0) {
            cx_ctx_file *f;
            double v = -1;
            ck_assert_int_eq(cx_ctx_open_memory(buf, size, &f, err, sizeof err), CORTEX_OK);
            ck_assert_int_eq(cx_ctx_get_f64(f, "alpha", &v), CORTEX_OK);
            ck_assert(v == C[c].alpha);
            cx_ctx_close(f);
        }
        free(ref); free(x); free(buf);
    }
    /* alpha 0: every conv is a plain conv at ResNet-50's widths */
    size_t size;
    void *buf = make_ctx("resnet50", 5, &size, NULL);
    cortex_model *m;
    char err[600];
    ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &m, err, sizeof err), CORTEX_OK);
    ck_assert_uint_eq(cortex_model_param_count(m), p_oct0);
    cortex_model_free(m);
    free(buf);
    /* weights made for alpha 0.5, converted as 0.25 */
    cortex_status st;
    buf = synth_alpha_ctx("octresnet50", 5, 0.5, 0.25, &size, err, sizeof err, &st);
    ck_assert_int_ne(st, CORTEX_OK);
    ck_assert_msg(strstr(err, "wrong --alpha?") != NULL, "error: %s", err);
    free(buf);
}
END_TEST

START_TEST(batch_and_threads_consistent)
{
    size_t size;
    void *buf = make_ctx("resnext50_32x4d", 6, &size, NULL);
    cortex_model *m;
    char err[600];
    ck_assert_msg(cortex_model_load_memory(buf, size, NULL, &m, err, sizeof err) == CORTEX_OK, "%s", err);
    free(buf); /* load copies/packs: the buffer may go */
    int64_t s2[4] = { 2, 3, 33, 40 }, s1[4] = { 1, 3, 33, 40 };
    size_t per = 3 * 33 * 40;
    float *x = malloc(2 * per * sizeof(float));
    cxt_fill(x, 2 * per, -1, 1);
    float *y2 = run(m, x, s2, 4, NULL);
    float *a = run(m, x, s1, 4, NULL), *b = run(m, x + per, s1, 4, NULL);
    ck_assert(cxt_rel_err(a, y2, 6, 1e-3, NULL) < 1e-5);
    ck_assert(cxt_rel_err(b, y2 + 6, 6, 1e-3, NULL) < 1e-5);
    cortex_pool *pool;
    ck_assert_int_eq(cortex_pool_create(2, &pool), CORTEX_OK);
    float *yt = run(m, x, s2, 4, pool);
    /* each output element is computed by the same kernel call whatever the thread: bitwise equal */
    ck_assert_int_eq(memcmp(yt, y2, 12 * sizeof(float)), 0);
    cortex_pool_destroy(pool);
    free(x); free(y2); free(a); free(b); free(yt);
    cortex_model_free(m);
}
END_TEST

START_TEST(session_reuse_and_shapes)
{
    size_t size;
    void *buf = make_ctx("resnet18", 4, &size, NULL);
    cortex_model *m;
    char err[600];
    ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &m, err, sizeof err), CORTEX_OK);
    free(buf);
    ck_assert_str_eq(cortex_model_arch(m), "resnet18");
    ck_assert_int_eq(cortex_model_num_classes(m), 4);
    ck_assert_int_eq(cortex_model_input_rank(m), 4);
    ck_assert_ptr_null(cortex_model_label(m, 0));
    cortex_session *s;
    ck_assert_int_eq(cortex_session_create(m, &s), CORTEX_OK);
    float x[3 * 64 * 64], y[8];
    cxt_fill(x, sizeof x / sizeof x[0], -1, 1);
    int64_t a[4] = { 1, 3, 64, 64 }, b[4] = { 2, 3, 20, 31 }, bad_c[4] = { 1, 4, 32, 32 }, bad_r[3] = { 3, 32, 32 };
    ck_assert_int_eq(cortex_run(s, x, a, 4, y, 8, NULL), CORTEX_OK);
    cortex_plan_info pi;
    ck_assert_int_eq(cortex_session_plan_info(s, &pi), CORTEX_OK);
    ck_assert(pi.arena_bytes > 0 && pi.arena_bytes < pi.naive_bytes / 2);
    int64_t shp[8];
    int r;
    ck_assert_int_eq(cortex_session_tensor_shape(s, "layer2.0.conv1", shp, &r), CORTEX_OK);
    ck_assert_int_eq(r, 4);
    ck_assert_int_eq(shp[1], 128);
    ck_assert_int_eq(shp[2], 8);
    ck_assert_int_eq(cortex_session_tensor_shape(s, "nope", shp, &r), CORTEX_ERR_INVALID_ARG);
    float y1[4];
    memcpy(y1, y, sizeof y1);
    ck_assert_int_eq(cortex_run(s, x, b, 4, y, 8, NULL), CORTEX_OK);   /* replans */
    ck_assert_int_eq(cortex_run(s, x, a, 4, y, 8, NULL), CORTEX_OK);   /* and back */
    ck_assert_int_eq(memcmp(y, y1, sizeof y1), 0);
    ck_assert_int_eq(cortex_run(s, x, bad_c, 4, y, 8, NULL), CORTEX_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(cortex_session_error(s), "channels"));
    ck_assert_int_eq(cortex_run(s, x, bad_r, 3, y, 8, NULL), CORTEX_ERR_SHAPE);
    ck_assert_int_eq(cortex_run(s, x, a, 4, y, 0, NULL), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cortex_run(s, NULL, a, 4, y, 8, NULL), CORTEX_ERR_INVALID_ARG);
    uint64_t macs = 0;
    int64_t std[4] = { 1, 3, 224, 224 };
    ck_assert_int_eq(cortex_model_macs(m, std, 4, &macs), CORTEX_OK);
    ck_assert(macs > 1700000000ull && macs < 1900000000ull); /* resnet18: 1.82 GMAC */
    cortex_session_free(s);
    cortex_model_free(m);
}
END_TEST

/* Converter errors name the key. */
static void expect_convert_error(cx_tdict *sd, const char *arch, const char *needle)
{
    void *buf = NULL;
    size_t size;
    char err[600] = "";
    cx_convert_opts o = { .arch = arch, .alpha = -1 };
    cortex_status st = cx_convert_tdict_to_memory(sd, &o, &buf, &size, err, sizeof err);
    ck_assert_int_ne(st, CORTEX_OK);
    ck_assert_msg(strstr(err, needle) != NULL, "error '%s' should mention '%s'", err, needle);
    free(buf);
}

START_TEST(converter_key_errors)
{
    cx_tdict sd = { 0 };
    const cx_arch *a = cx_arch_find("resnet18");
    ck_assert_int_eq(cx_arch_synth(a, 5, 3, -1, &sd), CORTEX_OK);
    /* missing: rename a key away */
    cx_ftensor *t = (cx_ftensor *)cx_tdict_find(&sd, "layer3.1.bn2.running_var");
    ck_assert_ptr_nonnull(t);
    t->name[0] = 'X';
    expect_convert_error(&sd, "resnet18", "missing tensor 'layer3.1.bn2.running_var'");
    t->name[0] = 'l';
    /* wrong shape */
    t = (cx_ftensor *)cx_tdict_find(&sd, "layer2.0.conv1.weight");
    t->shape[1] = 65;
    expect_convert_error(&sd, "resnet18", "layer2.0.conv1.weight");
    t->shape[1] = 64;
    t = (cx_ftensor *)cx_tdict_find(&sd, "layer1.0.bn1.bias");
    t->shape[0] = 63;
    expect_convert_error(&sd, "resnet18", "layer1.0.bn1.bias");
    t->shape[0] = 64;
    /* unexpected */
    int64_t sh[1] = { 3 };
    float *d = cx_calloc(3 * sizeof(float));
    ck_assert_int_eq(cx_tdict_add(&sd, "head.extra.weight", 1, sh, d), CORTEX_OK);
    expect_convert_error(&sd, "resnet18", "unexpected key 'head.extra.weight'");
    /* wrong arch: resnet18 weights as resnet34 */
    expect_convert_error(&sd, "resnet34", "missing tensor 'layer1.2.conv1.weight'");
    expect_convert_error(&sd, "resnet50", "layer1.0.conv1.weight");
    expect_convert_error(&sd, "no_such_net", "unknown arch");
    cx_tdict_free(&sd);
}
END_TEST

START_TEST(bn_folding_uses_eps_and_stats)
{
    /* A net whose output we can predict: run resnet18 with BN statistics and
     * compare the folded conv1 against folding done here. */
    cx_tdict sd = { 0 };
    ck_assert_int_eq(cx_arch_synth(cx_arch_find("resnet18"), 3, 11, -1, &sd), CORTEX_OK);
    void *buf = NULL;
    size_t size;
    char err[600];
    cx_convert_opts o = { .arch = "resnet18", .alpha = -1 };
    ck_assert_int_eq(cx_convert_tdict_to_memory(&sd, &o, &buf, &size, err, sizeof err), CORTEX_OK);
    cx_ctx_file *f;
    ck_assert_int_eq(cx_ctx_open_memory(buf, size, &f, err, sizeof err), CORTEX_OK);
    const cx_ctx_tensor *w = cx_ctx_find(f, "conv1.weight"), *b = cx_ctx_find(f, "conv1.bias");
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(cx_ctx_find(f, "bn1.weight")); /* folded away */
    const cx_ftensor *g = cx_tdict_find(&sd, "bn1.weight"), *be = cx_tdict_find(&sd, "bn1.bias"),
                     *mu = cx_tdict_find(&sd, "bn1.running_mean"), *var = cx_tdict_find(&sd, "bn1.running_var"),
                     *cw = cx_tdict_find(&sd, "conv1.weight");
    const float *fw = w->data, *fb = b->data;
    for (int oc = 0; oc < 64; oc += 7) {
        double sc = g->data[oc] / sqrt(var->data[oc] + 1e-5);
        ck_assert_double_eq_tol(fb[oc], be->data[oc] - mu->data[oc] * sc, 1e-5);
        ck_assert_double_eq_tol(fw[oc * 147 + 5], cw->data[oc * 147 + 5] * sc, 1e-6);
    }
    const char *arch = cx_ctx_get_str(f, "arch");
    ck_assert_str_eq(arch, "resnet18");
    int64_t nc;
    ck_assert_int_eq(cx_ctx_get_i64(f, "num_classes", &nc), CORTEX_OK);
    ck_assert_int_eq(nc, 3);
    cx_ctx_close(f);
    free(buf);
    cx_tdict_free(&sd);
}
END_TEST

START_TEST(custom_pool)
{
    /* a caller-owned pool that runs tasks serially but reports 3 workers */
    size_t size;
    void *buf = make_ctx("resnet18", 4, &size, NULL);
    cortex_model *m;
    char err[600];
    ck_assert_int_eq(cortex_model_load_memory(buf, size, NULL, &m, err, sizeof err), CORTEX_OK);
    free(buf);
    float x[3 * 32 * 32];
    cxt_fill(x, sizeof x / sizeof x[0], -1, 1);
    int64_t shp[4] = { 1, 3, 32, 32 };
    float *ref = run(m, x, shp, 4, NULL);
    cortex_pool_ops ops = { 3, NULL, NULL };
    void serial_pf(void *ctx, cortex_task_fn fn, void *arg, size_t n);
    ops.parallel_for = serial_pf;
    cortex_pool *p;
    ck_assert_int_eq(cortex_pool_create_custom(&ops, &p), CORTEX_OK);
    ck_assert_int_eq(cortex_pool_threads(p), 3);
    float *y = run(m, x, shp, 4, p);
    ck_assert_int_eq(memcmp(y, ref, 4 * sizeof(float)), 0);
    cortex_pool_destroy(p);
    free(y);
    free(ref);
    cortex_model_free(m);
}
END_TEST

void serial_pf(void *ctx, cortex_task_fn fn, void *arg, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) fn(arg, i, (int)(i % 3));
}

static Suite *suite(void)
{
    Suite *s = suite_create("models");
    TCase *t = tcase_create("models");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, tables_agree_resnet18);
    tcase_add_test(t, synth_octave_and_video);
    tcase_add_test(t, batch_and_threads_consistent);
    tcase_add_test(t, session_reuse_and_shapes);
    tcase_add_test(t, converter_key_errors);
    tcase_add_test(t, bn_folding_uses_eps_and_stats);
    tcase_add_test(t, custom_pool);
    suite_add_tcase(s, t);
    return s;
}

CXT_MAIN(suite)
