/* PyTorch goldens: small-width models written by tools/golden/gen_goldens.py
 * (torch.save'd state_dicts with random weights and random BN statistics,
 * inputs, and PyTorch's logits). Each is converted in process from its .pth,
 * loaded on every kernel table this CPU runs, and compared:
 * max|cortex - torch| / max|torch| <= 1e-4. Archs this build does not know yet
 * are listed as skipped (and counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtest.h"
#include "cortex.h"
#include "io/npy.h"
#include "models/convert.h"
#include "models/models.h"

#define DIR "tests/data/golden/"

static int check_case(const char *name, const char *arch, double alpha, const cx_kernels *const *tabs, int nt)
{
    char pth[256], inp[256], outp[256], err[700];
    snprintf(pth, sizeof pth, DIR "%s.pth", name);
    snprintf(inp, sizeof inp, DIR "%s.in.npy", name);
    snprintf(outp, sizeof outp, DIR "%s.out.npy", name);
    cx_convert_opts o = { .arch = arch, .alpha = alpha };
    void *buf = NULL;
    size_t size = 0;
    cortex_status st = cx_convert_pth_to_memory(pth, &o, &buf, &size, err, sizeof err);
    ck_assert_msg(st == CORTEX_OK, "%s: convert: %s", name, err);
    cx_npy in = { 0 }, want = { 0 };
    ck_assert_msg(cx_npy_read_file(inp, &in, err, sizeof err) == CORTEX_OK, "%s: %s", inp, err);
    ck_assert_msg(cx_npy_read_file(outp, &want, err, sizeof err) == CORTEX_OK, "%s: %s", outp, err);
    int ok = 1;
    for (int t = 0; t < nt; t++) {
        cortex_load_options lo = { tabs[t]->name };
        cortex_model *m = NULL;
        st = cortex_model_load_memory(buf, size, &lo, &m, err, sizeof err);
        ck_assert_msg(st == CORTEX_OK, "%s: load: %s", name, err);
        cortex_session *s;
        ck_assert_int_eq(cortex_session_create(m, &s), CORTEX_OK);
        ck_assert_int_eq(want.ndim, 2);
        ck_assert_int_eq(want.shape[1], cortex_model_num_classes(m));
        float *y = malloc(want.numel * sizeof(float));
        st = cortex_run(s, in.data, in.shape, in.ndim, y, want.numel, NULL);
        ck_assert_msg(st == CORTEX_OK, "%s: run: %s", name, cortex_session_error(s));
        double maxref = 0, maxd = 0;
        for (size_t i = 0; i < want.numel; i++) {
            double d = y[i] - want.data[i];
            d = d < 0 ? -d : d;
            if (!(d <= maxd)) maxd = d; /* NaN propagates */
            double r = want.data[i] < 0 ? -want.data[i] : want.data[i];
            if (r > maxref) maxref = r;
        }
        double rel = maxd / maxref;
        printf("  %-28s %-20s %-7s rel err %.2e %s\n", name, arch, tabs[t]->name, rel, rel <= 1e-4 ? "ok" : "FAIL");
        if (!(rel <= 1e-4)) ok = 0;
        free(y);
        cortex_session_free(s);
        cortex_model_free(m);
    }
    cx_npy_free(&in);
    cx_npy_free(&want);
    free(buf);
    return ok;
}

START_TEST(goldens_match_pytorch)
{
    FILE *f = fopen(DIR "MANIFEST", "r");
    ck_assert_msg(f != NULL, "missing " DIR "MANIFEST");
    const cx_kernels *tabs[4];
    int nt = cxt_tables(tabs, 4);
    char line[512];
    int run = 0, skipped = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], arch[64], alpha_s[32], shape[64];
        if (line[0] == '#' || sscanf(line, "%127s %63s %31s %63s", name, arch, alpha_s, shape) != 4) continue;
        if (!cx_arch_find(arch)) {
            printf("  %-28s %-20s skipped: arch not in this build\n", name, arch);
            skipped++;
            continue;
        }
        double alpha = strcmp(alpha_s, "-") ? atof(alpha_s) : -1;
        if (!check_case(name, arch, alpha, tabs, nt)) bad++;
        run++;
    }
    fclose(f);
    printf("  goldens: %d checked, %d failed, %d skipped (arch not built yet)\n", run, bad, skipped);
    ck_assert_int_gt(run, 0);
    ck_assert_int_eq(bad, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("golden");
    TCase *t = tcase_create("pytorch");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, goldens_match_pytorch);
    suite_add_tcase(s, t);
    return s;
}

CXT_MAIN(suite)
