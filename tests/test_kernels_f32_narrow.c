/* Kernels for grouped convs with few channels per group: every table's narrow
 * f32 GEMM (f32_gemm_narrow, igemm contract in kernels.h; also the tables'
 * fewer-rows f32_gemm_rows, same contract) and every gconv
 * kernel (all groups of a row tile per call, contract in gconv.h), compared
 * with naive double-precision references written here from the contracts,
 * on named edge cases and then on random shapes (replay a failure with the
 * printed CX_SEED). Tables: cxt_tables (scalar always, avx2/avx512 when the
 * CPU has them; under the SIMDe build only avx512).
 *
 * Every input a kernel reads ends exactly at a PROT_NONE guard page: each A
 * row, the zero row, the packed weights and the residual. So a load past the
 * contract faults in every build, including a masked SIMD load with one lane
 * too many. gconv rows carry a_offset junk floats in front of group 0, so a
 * kernel that ignores or misapplies the offset computes wrong sums. Outputs live in poisoned cxt_buf
 * buffers whose red zones, and every element outside the written block
 * (stride gaps, rows >= mr), must come back untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/gconv.h"
#include "support/cxtest.h"

#define MAX_TABLES 8


/* The A rows (up to 27 taps x 16 rows per case) come from a slot arena made
 * once per process: SLOTS slots of SLOT_PAGES pages, each followed by a
 * PROT_NONE page, so a row costs no system call. */
#define SLOTS 512
#define SLOT_PAGES 4
static char *g_arena;

static float *slot_row(size_t slot, size_t n, cxt_guard *fallback)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE), span = (SLOT_PAGES + 1) * pg;
    fallback->map = NULL;
    if (slot >= SLOTS || n * sizeof(float) > SLOT_PAGES * pg) return cxt_guarded_floats(n, fallback);
    if (!g_arena) {
        void *m = mmap(NULL, SLOTS * span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert_msg(m != MAP_FAILED, "mmap failed");
        for (size_t i = 0; i < SLOTS; i++)
            ck_assert_msg(mprotect((char *)m + i * span + SLOT_PAGES * pg, pg, PROT_NONE) == 0, "mprotect failed");
        g_arena = m;
    }
    return (float *)(g_arena + slot * span + SLOT_PAGES * pg - (n ? n : 1) * sizeof(float));
}

static double clampd(double v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ------------------------------------------------------- the shared harness
 * One case for either family. For the narrow igemm, groups = 1 and a_offset =
 * 0; for gconv the row tile covers `groups` groups. */
typedef struct {
    const char *name;
    size_t mr;        /* 0: the kernel's MR */
    size_t groups;
    size_t nc, kc, ks;
    size_t a_offset;  /* gconv: floats before group 0 in every row */
    size_t c_stride;  /* 0: groups*nc */
    size_t c_off;     /* C starts this many floats into its buffer (alignment) */
    int residual;
    size_t r_stride;  /* 0: groups*nc */
    float min, max;
    int zero_pct;     /* % of the (tap, row) pointers that point at the zero row */
    int junk_rows;    /* rows >= mr point at a junk row instead of repeating row mr-1 */
} kcase;

static kcase base_case(const char *name, size_t groups, size_t nc, size_t kc, size_t ks)
{
    kcase tc = { name, 0, groups, nc, kc, ks, 0, 0, 0, 0, 0, -INFINITY, INFINITY, 0, 0 };
    return tc;
}

/* Either kernel, behind one call. */
typedef struct {
    const char *table, *name;
    const cx_f32_gemm_desc *gemm;     /* narrow igemm, or */
    const cx_f32_gconv_desc *gconv;   /* a gconv kernel */
} kern;

static size_t kern_mr(const kern *k) { return k->gemm ? k->gemm->mr : k->gconv->mr; }

static void check(const kern *K, const kcase *in)
{
    kcase tc = *in;
    if (K->gconv && K->gconv->kc) {
        /* a fixed-shape kernel: its kc/nc, strides keep the case's gaps */
        const size_t n0 = tc.groups * tc.nc, n1 = tc.groups * K->gconv->nc;
        if (tc.c_stride) tc.c_stride = tc.c_stride - n0 + n1;
        if (tc.r_stride) tc.r_stride = tc.r_stride - n0 + n1;
        tc.kc = K->gconv->kc;
        tc.nc = K->gconv->nc;
    }
    if (K->gemm) {
        tc.groups = 1;
        tc.a_offset = 0;
    }
    const size_t MR = kern_mr(K);
    const size_t mr = tc.mr ? tc.mr : MR;
    const size_t G = tc.groups, nc = tc.nc, kc = tc.kc, ks = tc.ks, off = tc.a_offset;
    const size_t N = G * nc, rowlen = off + G * kc;
    const size_t cs = tc.c_stride ? tc.c_stride : N;
    const size_t rs = tc.r_stride ? tc.r_stride : N;
    ck_assert(mr >= 1 && mr <= MR && G >= 1 && nc >= 1 && kc >= 1 && ks >= 1 && cs >= N && rs >= N);

    /* PyTorch-layout weights (N, kc, ks) and bias, packed into a cxt_guard buffer */
    float *wt = cxt_floats(N * kc * ks), *bias = cxt_floats(N);
    cxt_fill(wt, N * kc * ks, -1.0f, 1.0f);
    cxt_fill(bias, N, -1.0f, 1.0f);
    cxt_guard pg;
    size_t psz;
    float *packed;
    if (K->gemm) {
        psz = cx_f32_gemm_packed_size(nc, kc, ks, K->gemm->nr);
        packed = cxt_guarded_floats(psz, &pg);
        cx_f32_gemm_pack_conv_weights(nc, kc, ks, K->gemm->nr, wt, bias, packed);
    } else {
        psz = cx_f32_gconv_packed_size(K->gconv, G, kc, nc, ks);
        packed = cxt_guarded_floats(psz, &pg);
        cx_f32_gconv_pack(K->gconv, G, kc, nc, ks, wt, bias, packed);
    }
    float *packed_copy = cxt_floats(psz);
    memcpy(packed_copy, packed, psz * sizeof(float));

    /* A: a cxt_guard row of off junk + G*kc values per (tap, row < mr), or the
     * zero row; rows >= mr repeat row mr-1 or point at a junk row */
    cxt_guard zg, jg;
    float *zero = cxt_guarded_floats(rowlen, &zg), *junk = cxt_guarded_floats(rowlen, &jg);
    memset(zero, 0, rowlen * sizeof(float));
    cxt_fill(junk, rowlen, -1000.0f, 1000.0f);
    const float **a = malloc(ks * MR * sizeof *a);
    cxt_guard *owned = calloc(ks * MR, sizeof *owned);
    ck_assert(a && owned);
    for (size_t t = 0; t < ks; t++) {
        for (size_t i = 0; i < MR; i++) {
            if (i >= mr) {
                a[t * MR + i] = tc.junk_rows ? junk : a[t * MR + mr - 1];
            } else if (tc.zero_pct && cxt_int(0, 99) < tc.zero_pct) {
                a[t * MR + i] = zero;
            } else {
                float *r = slot_row(t * MR + i, rowlen, &owned[t * MR + i]);
                cxt_fill(r, off, -1000.0f, 1000.0f);
                cxt_fill(r + off, G * kc, -1.0f, 1.0f);
                a[t * MR + i] = r;
            }
        }
    }

    /* residual: exactly (mr-1)*rs + N floats */
    float *res = NULL;
    cxt_guard rg = { NULL, 0 };
    const size_t rsz = (mr - 1) * rs + N;
    if (tc.residual) {
        res = cxt_guarded_floats(rsz, &rg);
        cxt_fill(res, rsz, -1.0f, 1.0f);
    }

    /* C: MR full rows of cs floats (poisoned) + red zones; snapshot to check
     * that nothing outside the mr x N block changes */
    const size_t csz = tc.c_off + MR * cs;
    cxt_buf cb = cxt_buf_new(csz);
    float *before = cxt_floats(csz);
    memcpy(before, cb.p, csz * sizeof(float));
    float *c = cb.p + tc.c_off;

    cx_f32_params p = { tc.min, tc.max, res, res ? rs : 0, NULL, 0 };
    if (K->gemm)
        K->gemm->igemm(mr, nc, kc, ks, a, packed, c, cs, &p);
    else
        K->gconv->gconv(G, mr, kc, nc, ks, a, off, packed, c, cs, &p);

    char what[320];
    snprintf(what, sizeof what,
             "[%s %s] %s: mr=%zu groups=%zu nc=%zu kc=%zu ks=%zu a_offset=%zu c_stride=%zu c_off=%zu res=%d "
             "r_stride=%zu min=%g max=%g zero=%d%% junk=%d",
             K->table, K->name, tc.name, mr, G, nc, kc, ks, off, cs, tc.c_off, tc.residual, rs, tc.min, tc.max,
             tc.zero_pct, tc.junk_rows);

    ck_assert_msg(cxt_buf_red_ok(&cb), "%s: write into C's red zone", what);
    ck_assert_msg(memcmp(packed, packed_copy, psz * sizeof(float)) == 0, "%s: packed weights modified", what);

    const double tol = 1e-5 * sqrt((double)(kc * ks));
    for (size_t i = 0; i < mr; i++) {
        for (size_t o = 0; o < N; o++) {
            const size_t g = o / nc;
            double acc = bias[o];
            for (size_t t = 0; t < ks; t++) {
                const float *ar = a[t * MR + i] + off + g * kc;
                for (size_t k = 0; k < kc; k++) acc += (double)ar[k] * (double)wt[(o * kc + k) * ks + t];
            }
            if (res) acc += res[i * rs + o];
            acc = clampd(acc, tc.min, tc.max);
            const float got = c[i * cs + o];
            const double den = fabs(acc) > 1.0 ? fabs(acc) : 1.0;
            const double err = fabs((double)got - acc) / den;
            ck_assert_msg(!isnan(got) && err <= tol, "%s: C[%zu][%zu] = %.9g, expected %.9g (rel err %.3g > %.3g)",
                          what, i, o, got, acc, err, tol);
        }
    }
    for (size_t x = 0; x < csz; x++) {
        const size_t co = x - tc.c_off, i = co / cs, j = co % cs;
        if (x >= tc.c_off && i < mr && j < N) continue;
        ck_assert_msg(memcmp(&cb.p[x], &before[x], sizeof(float)) == 0,
                      "%s: C buffer element %zu (row %zu col %zu) outside the mr x N block was written", what, x,
                      x >= tc.c_off ? i : (size_t)0, x >= tc.c_off ? j : (size_t)0);
    }

    for (size_t i = 0; i < ks * MR; i++) cxt_guard_free(&owned[i]);
    free(owned);
    free(a);
    cxt_guard_free(&zg);
    cxt_guard_free(&jg);
    cxt_guard_free(&rg);
    cxt_guard_free(&pg);
    free(before);
    cxt_buf_free(&cb);
    free(packed_copy);
    free(wt);
    free(bias);
}

/* The kernels under test: each table's narrow igemm (if it has one) and its
 * gconv kernels. */
#define MAX_KERNS 32

static int narrow_kernels(kern *out)
{
    const cx_kernels *T[MAX_TABLES];
    int nt = cxt_tables_req(T, MAX_TABLES), n = 0;
    for (int ti = 0; ti < nt; ti++) {
        if (T[ti]->f32_gemm_narrow.igemm) out[n++] = (kern){ T[ti]->name, "narrow igemm", &T[ti]->f32_gemm_narrow, NULL };
        /* the fewer-rows kernel on the main GEMM's packing: same contract */
        if (T[ti]->f32_gemm_rows.igemm) out[n++] = (kern){ T[ti]->name, "rows igemm", &T[ti]->f32_gemm_rows, NULL };
    }
    return n;
}

static int gconv_kernels(kern *out)
{
    const cx_kernels *T[MAX_TABLES];
    int nt = cxt_tables_req(T, MAX_TABLES), n = 0;
    for (int ti = 0; ti < nt; ti++) {
        const cx_f32_gconv_desc *const *l;
        size_t m = cx_f32_gconv_list(T[ti], &l);
        for (size_t i = 0; i < m && n < MAX_KERNS; i++) out[n++] = (kern){ T[ti]->name, l[i]->name, NULL, l[i] };
    }
    return n;
}

/* the columns one vector step of the kernel covers: nr for the narrow igemm
 * and PANELS gconv, nc for a fixed-shape gconv */
static size_t kern_nr(const kern *k)
{
    if (k->gemm) return k->gemm->nr;
    return k->gconv->kc ? k->gconv->nc : k->gconv->nr;
}

/* groups per packed block (1 for the narrow igemm) */
static size_t kern_gb(const kern *k) { return k->gconv ? k->gconv->gb : 1; }

/* ------------------------------------------------------------ narrow igemm */

START_TEST(test_narrow_tables)
{
    /* every SIMD table has a narrow GEMM, narrower than its main one */
    const cx_kernels *T[MAX_TABLES];
    int nt = cxt_tables_req(T, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const cx_kernels *k = T[ti];
        if (k == &cx_kernels_scalar) continue;
        ck_assert_msg(k->f32_gemm_narrow.igemm != NULL, "[%s] no narrow GEMM", k->name);
        ck_assert_msg(k->f32_gemm_narrow.nr < k->f32_gemm.nr && k->f32_gemm_narrow.mr >= 1, "[%s] narrow tile %ux%u",
                      k->name, k->f32_gemm_narrow.mr, k->f32_gemm_narrow.nr);
    }
}
END_TEST

/* runs f on every kernel of one family */
typedef void (*family_test)(const kern *k);

static void each(int gconv, family_test f)
{
    kern K[MAX_KERNS];
    int n = gconv ? gconv_kernels(K) : narrow_kernels(K);
    for (int i = 0; i < n; i++) f(&K[i]);
}

static void t_mr(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K);
    for (size_t mr = 1; mr <= MR; mr++) {
        for (int junk = 0; junk < 2; junk++) {
            kcase tc = base_case(junk ? "mr, junk rows past mr" : "mr, row mr-1 repeated", 3, NR, 7, 1);
            tc.mr = mr;
            tc.junk_rows = junk;
            check(K, &tc);
            tc.nc = NR + 3;
            tc.ks = 3;
            tc.groups = 2 * kern_gb(K) + 1;
            tc.c_stride = tc.groups * tc.nc + 7;
            tc.residual = 1;
            tc.r_stride = tc.groups * tc.nc + 5;
            tc.a_offset = 5;
            check(K, &tc);
        }
    }
}

static void t_nc(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K);
    for (size_t nc = 1; nc <= 2 * NR + 3; nc++) {
        kcase tc = base_case(nc < NR ? "nc < NR" : nc % NR ? "nc not a multiple of NR" : "nc multiple of NR", 1, nc,
                             5, 1);
        check(K, &tc);
        tc.mr = (nc % MR) + 1;
        tc.residual = 1;
        tc.groups = 3;
        tc.c_stride = 3 * nc + 1;
        tc.r_stride = 3 * nc + 2;
        check(K, &tc);
        tc.name = "nc, 9 taps with zero rows";
        tc.ks = 9;
        tc.zero_pct = 30;
        tc.kc = 4;
        check(K, &tc);
    }
}

static void t_k(const kern *K)
{
    const size_t NR = kern_nr(K);
    static const size_t kcs[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65 };
    for (size_t x = 0; x < sizeof kcs / sizeof kcs[0]; x++) {
        kcase tc = base_case(kcs[x] % 4 ? "k tail (kc % 4)" : "kc multiple of 4", 1, NR, kcs[x], 1);
        check(K, &tc);
        tc.name = "k tail, 9 taps";
        tc.ks = 9;
        tc.nc = NR + 1;
        tc.groups = 2;
        tc.zero_pct = 20;
        check(K, &tc);
    }
    kcase tc = base_case("k large", 1, NR, 700, 1);
    check(K, &tc);
    tc.name = "k large, ks=9";
    tc.kc = 97;
    tc.ks = 9;
    tc.nc = 2 * NR + 3;
    tc.mr = 1;
    check(K, &tc);
}

static void t_taps(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K);
    static const size_t taps[] = { 1, 2, 9, 27 };
    for (size_t x = 0; x < 4; x++) {
        kcase tc = base_case("ks taps", 2, NR, 8, taps[x]);
        check(K, &tc);
        tc.name = "ks taps with zero-row padding";
        tc.zero_pct = 30;
        tc.kc = 13;
        tc.nc = 2 * NR - 1;
        tc.groups = 5;
        tc.a_offset = 3;
        check(K, &tc);
        tc.mr = MR > 1 ? MR - 1 : 1;
        tc.zero_pct = 100;
        tc.name = "ks taps, all padding";
        check(K, &tc);
    }
}

static void t_strided(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K);
    const size_t ncs[] = { 1, NR - 1, NR, NR + 1, 2 * NR + 3 };
    for (size_t x = 0; x < 5; x++) {
        for (size_t off = 0; off < 3; off++) {
            kcase tc = base_case("strided C (gap between rows)", 1 + off, ncs[x], 9, 1);
            tc.c_stride = tc.groups * ncs[x] + 1 + 5 * off;
            tc.c_off = off;
            check(K, &tc);
            tc.mr = MR / 2 ? MR / 2 : 1;
            tc.ks = 9;
            tc.zero_pct = 25;
            check(K, &tc);
        }
    }
}

static void t_residual(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K);
    const size_t ncs[] = { 1, 3, NR - 1, NR, NR + 1, 2 * NR + 3 };
    for (size_t x = 0; x < 6; x++) {
        for (int on = 0; on < 2; on++) {
            kcase tc = base_case(on ? "residual on, own stride" : "residual off", 3, ncs[x], 6, 2);
            tc.residual = on;
            tc.r_stride = 3 * ncs[x] + 3;
            tc.c_stride = 3 * ncs[x] + 1;
            check(K, &tc);
            tc.name = on ? "residual on, r_stride = groups*nc" : "residual off";
            tc.r_stride = 0;
            tc.mr = MR - 1 ? MR - 1 : 1;
            tc.groups = 1;
            tc.c_stride = 0;
            check(K, &tc);
        }
    }
}

static void t_clamp(const kern *K)
{
    const size_t NR = kern_nr(K);
    for (int res = 0; res < 2; res++) {
        kcase tc = base_case("relu clamp 0..inf", 3, 2 * NR + 3, 11, 1);
        tc.residual = res;
        tc.min = 0.0f;
        check(K, &tc);
        tc.name = "finite clamp -0.5..0.25";
        tc.min = -0.5f;
        tc.max = 0.25f;
        tc.ks = 9;
        check(K, &tc);
        tc.name = "max-only clamp -inf..0.1";
        tc.min = -INFINITY;
        tc.max = 0.1f;
        tc.mr = 1;
        check(K, &tc);
    }
}

static void t_random(const kern *K)
{
    const size_t MR = kern_mr(K), NR = kern_nr(K), GB = kern_gb(K);
    static const size_t taps[] = { 1, 1, 2, 3, 4, 9, 9, 9, 27 };
    for (int n = 0; n < 250; n++) {
        kcase tc = base_case("random", (size_t)cxt_int(1, 3 * (int)GB + 3), (size_t)cxt_int(1, 3 * (int)NR + 5), 1, 1);
        tc.ks = taps[cxt_int(0, 8)];
        tc.kc = (size_t)(tc.ks >= 9 ? cxt_int(1, 40) : cxt_int(1, 200));
        if (cxt_int(0, 2) == 0) tc.kc = tc.nc = (size_t)(4 << cxt_int(0, 2)); /* ResNeXt: 4, 8, 16 per group */
        tc.mr = (size_t)cxt_int(1, (int)MR);
        tc.a_offset = cxt_int(0, 1) ? (size_t)cxt_int(0, 40) : 0;
        const size_t N = tc.groups * tc.nc;
        if (cxt_int(0, 1)) tc.c_stride = N + (size_t)cxt_int(0, 20);
        tc.c_off = (size_t)cxt_int(0, 3);
        tc.residual = cxt_int(0, 1);
        if (cxt_int(0, 1)) tc.r_stride = N + (size_t)cxt_int(0, 20);
        switch (cxt_int(0, 3)) {
        case 0: break;
        case 1: tc.min = 0.0f; break;
        case 2: tc.min = -cxt_float(0.0f, 2.0f); tc.max = cxt_float(0.0f, 2.0f); break;
        default: tc.min = 0.0f; tc.max = 6.0f; break;
        }
        tc.zero_pct = tc.ks > 1 ? cxt_int(0, 50) : 0;
        tc.junk_rows = cxt_int(0, 1);
        check(K, &tc);
    }
}

START_TEST(test_narrow_mr) { each(0, t_mr); }
END_TEST
START_TEST(test_narrow_nc) { each(0, t_nc); }
END_TEST
START_TEST(test_narrow_k) { each(0, t_k); }
END_TEST
START_TEST(test_narrow_taps) { each(0, t_taps); }
END_TEST
START_TEST(test_narrow_strided) { each(0, t_strided); }
END_TEST
START_TEST(test_narrow_residual) { each(0, t_residual); }
END_TEST
START_TEST(test_narrow_clamp) { each(0, t_clamp); }
END_TEST
START_TEST(test_narrow_random) { each(0, t_random); }
END_TEST

/* ------------------------------------------------------------------ gconv */

START_TEST(test_gconv_pack_explicit)
{
    /* weights w[o][k][t] = 100*o + 10*k + t + 1, bias[o] = -(o + 1) */
    const size_t ks = 2;
    float w[16 * 8 * 2], bias[16];
    for (size_t o = 0; o < 16; o++) {
        bias[o] = -(float)(o + 1);
        for (size_t k = 0; k < 8; k++)
            for (size_t t = 0; t < ks; t++) w[(o * 8 + k) * ks + t] = (float)(100 * o + 10 * k + t + 1);
    }
    /* G4, 2 groups per block, 3 groups: block 1 holds group 2 and padding */
    {
        const cx_f32_gconv_desc d = { "G4 gb=2", NULL, 1, 4, 4, 0, 2, 0, CX_GCONV_G4 };
        float wg[12 * 4 * 2];
        for (size_t o = 0; o < 12; o++)
            for (size_t k = 0; k < 4; k++)
                for (size_t t = 0; t < ks; t++) wg[(o * 4 + k) * ks + t] = (float)(100 * o + 10 * k + t + 1);
        const size_t blk = cx_f32_gconv_block_floats(&d, 4, 4, ks);
        ck_assert_uint_eq(blk, 8 * (1 + ks * 4));
        ck_assert_uint_eq(cx_f32_gconv_packed_size(&d, 3, 4, 4, ks), 2 * blk);
        cxt_buf out = cxt_buf_new(2 * blk);
        cx_f32_gconv_pack(&d, 3, 4, 4, ks, wg, bias, out.p);
        for (size_t b = 0; b < 2; b++) {
            const float *q = out.p + b * blk;
            for (size_t g = 0; g < 2; g++)
                for (size_t j = 0; j < 4; j++) {
                    const size_t G = 2 * b + g, o = G * 4 + j;
                    ck_assert_msg(q[g * 4 + j] == (G < 3 ? bias[o] : 0.0f), "G4 bias b%zu g%zu j%zu", b, g, j);
                    for (size_t t = 0; t < ks; t++)
                        for (size_t k = 0; k < 4; k++) {
                            const float e = G < 3 ? (float)(100 * o + 10 * k + t + 1) : 0.0f;
                            const float got = q[8 + (t * 4 + k) * 8 + g * 4 + j];
                            ck_assert_msg(got == e, "G4 b%zu t%zu k%zu g%zu j%zu: %g, expected %g", b, t, k, g, j, got,
                                          e);
                        }
                }
        }
        ck_assert(cxt_buf_red_ok(&out));
        cxt_buf_free(&out);
    }
    /* K8, 2 groups */
    {
        const cx_f32_gconv_desc d = { "K8", NULL, 1, 8, 8, 0, 1, 0, CX_GCONV_K8 };
        const size_t blk = cx_f32_gconv_block_floats(&d, 8, 8, ks);
        ck_assert_uint_eq(blk, 16 * (1 + ks * 4));
        ck_assert_uint_eq(cx_f32_gconv_packed_size(&d, 2, 8, 8, ks), 2 * blk);
        cxt_buf out = cxt_buf_new(2 * blk);
        cx_f32_gconv_pack(&d, 2, 8, 8, ks, w, bias, out.p);
        for (size_t g = 0; g < 2; g++) {
            const float *q = out.p + g * blk;
            for (size_t L = 0; L < 4; L++)
                for (size_t j = 0; j < 4; j++) {
                    const float e = (L & 1) ? 0.0f : bias[g * 8 + j + 4 * (L >> 1)];
                    ck_assert_msg(q[L * 4 + j] == e, "K8 bias g%zu L%zu j%zu", g, L, j);
                    for (size_t t = 0; t < ks; t++)
                        for (size_t ee = 0; ee < 4; ee++) {
                            const size_t o = g * 8 + j + 4 * (L >> 1), k = ee + 4 * (L & 1);
                            const float got = q[16 + (t * 4 + ee) * 16 + L * 4 + j];
                            ck_assert_msg(got == (float)(100 * o + 10 * k + t + 1), "K8 g%zu t%zu e%zu L%zu j%zu", g, t,
                                          ee, L, j);
                        }
                }
        }
        ck_assert(cxt_buf_red_ok(&out));
        cxt_buf_free(&out);
    }
    /* PANELS: the igemm layout per group, groups back to back */
    {
        const cx_f32_gconv_desc d = { "panels", NULL, 1, 0, 0, 8, 1, 4, CX_GCONV_PANELS };
        const size_t gs = cx_f32_gemm_packed_size(5, 8, ks, 4);
        ck_assert_uint_eq(cx_f32_gconv_block_floats(&d, 8, 5, ks), gs);
        ck_assert_uint_eq(cx_f32_gconv_packed_size(&d, 3, 8, 5, ks), 3 * gs);
        cxt_buf out = cxt_buf_new(3 * gs), ref = cxt_buf_new(gs);
        float w15[15 * 8 * 2];
        for (size_t i = 0; i < 15 * 8 * 2; i++) w15[i] = (float)i;
        cx_f32_gconv_pack(&d, 3, 8, 5, ks, w15, bias, out.p);
        for (size_t g = 0; g < 3; g++) {
            cx_f32_gemm_pack_conv_weights(5, 8, ks, 4, w15 + g * 5 * 8 * ks, bias + g * 5, ref.p);
            ck_assert_msg(memcmp(out.p + g * gs, ref.p, gs * sizeof(float)) == 0, "PANELS group %zu", g);
        }
        /* bias NULL: zero biases */
        cx_f32_gconv_pack(&d, 3, 8, 5, ks, w15, NULL, out.p);
        for (size_t g = 0; g < 3; g++)
            for (size_t j = 0; j < 4; j++) ck_assert(out.p[g * gs + j] == 0.0f);
        ck_assert(cxt_buf_red_ok(&out) && cxt_buf_red_ok(&ref));
        cxt_buf_free(&out);
        cxt_buf_free(&ref);
    }
}
END_TEST

START_TEST(test_gconv_find)
{
    const cx_kernels *T[MAX_TABLES];
    int nt = cxt_tables_req(T, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const cx_kernels *k = T[ti];
        const cx_f32_gconv_desc *const *l;
        const size_t n = cx_f32_gconv_list(k, &l);
        ck_assert_msg(n >= 1, "[%s] no gconv kernel", k->name);
        for (size_t i = 0; i < n; i++) {
            const cx_f32_gconv_desc *d = l[i];
            ck_assert_msg(d->gconv && d->mr >= 1 && d->gb >= 1 && d->name, "[%s] bad descriptor %zu", k->name, i);
            ck_assert_msg(d->kc ? d->nc >= 1 : d->nr >= 1, "[%s] %s: no shape", k->name, d->name);
        }
        if (k == &cx_kernels_scalar) {
            ck_assert_ptr_null(cx_f32_gconv_find(k, 4, 4));
            ck_assert_ptr_null(cx_f32_gconv_find(k, 8, 8));
            continue;
        }
        /* ResNeXt's 4 and 8 channels per group always have a kernel that
         * computes exactly them */
        for (size_t c = 4; c <= 8; c += 4) {
            const cx_f32_gconv_desc *d = cx_f32_gconv_find(k, c, c);
            ck_assert_msg(d != NULL, "[%s] no gconv for %zu/%zu", k->name, c, c);
            ck_assert_msg(d->kc == c || d->kc == 0, "[%s] %zu/%zu -> %s", k->name, c, c, d->name);
        }
        /* whatever is found computes that shape */
        for (size_t kc = 1; kc <= 40; kc++)
            for (size_t nc = 1; nc <= 40; nc++) {
                const cx_f32_gconv_desc *d = cx_f32_gconv_find(k, kc, nc);
                if (d) ck_assert_msg(d->kc ? (d->kc == kc && d->nc == nc) : nc <= d->nc_max, "[%s] %zu/%zu -> %s",
                                     k->name, kc, nc, d->name);
            }
    }
    /* a table without gconv kernels */
    const cx_f32_gconv_desc *const *l;
    ck_assert_uint_eq(cx_f32_gconv_list(NULL, &l), 0);
}
END_TEST

static void t_groups(const kern *K)
{
    /* every group count around the block size, partial last blocks, offsets
     * as a caller starting at block g0 passes them */
    const size_t GB = kern_gb(K), NR = kern_nr(K), MR = kern_mr(K);
    for (size_t G = 1; G <= 3 * GB + 2; G++) {
        for (size_t off = 0; off <= 2; off++) {
            kcase tc = base_case("groups, partial blocks", G, NR, 4, 9);
            tc.a_offset = off * 8 * GB;
            tc.zero_pct = 20;
            tc.residual = (int)(G & 1);
            tc.mr = 1 + (G + off) % MR;
            check(K, &tc);
        }
    }
    kcase tc = base_case("32 groups (ResNeXt)", 32, NR, 8, 9);
    tc.zero_pct = 15;
    check(K, &tc);
    tc.name = "64 groups, ReLU, residual";
    tc.groups = 64;
    tc.residual = 1;
    tc.min = 0.0f;
    tc.a_offset = 64;
    check(K, &tc);
}

START_TEST(test_gconv_groups) { each(1, t_groups); }
END_TEST
START_TEST(test_gconv_mr) { each(1, t_mr); }
END_TEST
START_TEST(test_gconv_nc) { each(1, t_nc); }
END_TEST
START_TEST(test_gconv_k) { each(1, t_k); }
END_TEST
START_TEST(test_gconv_taps) { each(1, t_taps); }
END_TEST
START_TEST(test_gconv_strided) { each(1, t_strided); }
END_TEST
START_TEST(test_gconv_residual) { each(1, t_residual); }
END_TEST
START_TEST(test_gconv_clamp) { each(1, t_clamp); }
END_TEST
START_TEST(test_gconv_random) { each(1, t_random); }
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("kernels_f32_narrow");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "narrow_tables", test_narrow_tables },
        { "narrow_mr", test_narrow_mr },
        { "narrow_nc", test_narrow_nc },
        { "narrow_k", test_narrow_k },
        { "narrow_taps", test_narrow_taps },
        { "narrow_strided", test_narrow_strided },
        { "narrow_residual", test_narrow_residual },
        { "narrow_clamp", test_narrow_clamp },
        { "narrow_random", test_narrow_random },
        { "gconv_pack", test_gconv_pack_explicit },
        { "gconv_find", test_gconv_find },
        { "gconv_groups", test_gconv_groups },
        { "gconv_mr", test_gconv_mr },
        { "gconv_nc", test_gconv_nc },
        { "gconv_k", test_gconv_k },
        { "gconv_taps", test_gconv_taps },
        { "gconv_strided", test_gconv_strided },
        { "gconv_residual", test_gconv_residual },
        { "gconv_clamp", test_gconv_clamp },
        { "gconv_random", test_gconv_random },
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, tests[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

CXT_MAIN(make_suite)
