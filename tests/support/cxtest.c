#include "cxtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t g_state = 0x9e3779b97f4a7c15ull, g_seed;

uint64_t cxt_seed(void)
{
    const char *s = getenv("CX_SEED");
    return s ? strtoull(s, NULL, 0) : 20261127ull;
}

void cxt_rng_init(uint64_t seed) { g_seed = seed; g_state = seed * 0x9e3779b97f4a7c15ull + 1; }

uint32_t cxt_u32(void)
{
    /* xorshift64* */
    g_state ^= g_state >> 12;
    g_state ^= g_state << 25;
    g_state ^= g_state >> 27;
    return (uint32_t)((g_state * 0x2545f4914f6cdd1dull) >> 32);
}

int cxt_int(int lo, int hi) { return lo + (int)(cxt_u32() % (uint32_t)(hi - lo + 1)); }
float cxt_float(float lo, float hi) { return lo + (hi - lo) * (float)(cxt_u32() >> 8) / 16777216.0f; }
void cxt_fill(float *p, size_t n, float lo, float hi) { for (size_t i = 0; i < n; i++) p[i] = cxt_float(lo, hi); }

static const uint32_t POISON = 0x7fc0dead; /* a quiet NaN with a recognisable payload */

cxt_buf cxt_buf_new(size_t n)
{
    cxt_buf b;
    b.n = n;
    b.base = malloc((n + 2 * CXT_RED) * sizeof(float));
    b.p = b.base + CXT_RED;
    cxt_buf_poison(&b);
    return b;
}

void cxt_buf_poison(cxt_buf *b)
{
    for (size_t i = 0; i < b->n + 2 * CXT_RED; i++) memcpy(&b->base[i], &POISON, 4);
}

int cxt_buf_red_ok(const cxt_buf *b)
{
    for (size_t i = 0; i < CXT_RED; i++) {
        if (memcmp(&b->base[i], &POISON, 4) != 0) return 0;
        if (memcmp(&b->p[b->n + i], &POISON, 4) != 0) return 0;
    }
    return 1;
}

void cxt_buf_free(cxt_buf *b) { free(b->base); b->base = b->p = NULL; }

double cxt_rel_err(const float *a, const float *b, size_t n, double floor, size_t *worst)
{
    double m = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double s = fabs((double)b[i]);
        if (s < floor) s = floor;
        double e = d / s;
        if (isnan(a[i]) || isnan(b[i])) e = INFINITY;
        if (e > m) { m = e; wi = i; }
    }
    if (worst) *worst = wi;
    return m;
}

int cxt_tables(const cx_kernels **out, int max)
{
    const char *only = getenv("CORTEX_TEST_ISA");
    const cx_kernels *all[] = { &cx_kernels_scalar, &cx_kernels_avx2, &cx_kernels_avx512 };
    int n = 0;
    for (int i = 0; i < 3 && n < max; i++) {
        if (only && strcmp(only, all[i]->name) != 0) continue;
        if (cx_kernels_available(all[i])) out[n++] = all[i];
    }
    return n;
}

int cxt_main(Suite *(*make_suite)(void))
{
    uint64_t seed = cxt_seed();
    cxt_rng_init(seed);
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed) fprintf(stderr, "(random data seed: CX_SEED=%llu)\n", (unsigned long long)g_seed);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void *cxt_guarded(size_t bytes, cxt_guard *g)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (!bytes) bytes = 1;
    const size_t data = (bytes + pg - 1) / pg * pg;
    g->len = data + pg;
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(g->map != MAP_FAILED, "mmap failed");
    ck_assert_msg(mprotect((char *)g->map + data, pg, PROT_NONE) == 0, "mprotect failed");
    return (char *)g->map + data - bytes;
}

void cxt_guard_free(cxt_guard *g)
{
    if (g->map) munmap(g->map, g->len);
    g->map = NULL;
}

float *cxt_guarded_floats(size_t n, cxt_guard *g) { return cxt_guarded((n ? n : 1) * sizeof(float), g); }

float *cxt_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

int cxt_tables_req(const cx_kernels **out, int max)
{
    int n = cxt_tables(out, max);
    ck_assert_msg(n >= 1, "no kernel table available");
    return n;
}
