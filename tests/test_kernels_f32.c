/* f32 kernel tests, in the XNNPACK manner: every kernel table the machine can
 * run (cxt_tables: scalar always, avx2/avx512 when the CPU has them; under the
 * SIMDe build only avx512) is compared with a naive double-precision
 * reference written here from the contracts in kernels.h, on named edge cases
 * and then on random shapes (replay a failure with the printed CX_SEED).
 *
 * Every input the kernels read is its own exact-size allocation, so reads past
 * the contract are caught: A rows, the zero row and the packed weights are
 * malloc'ed (the ASan build sees any over-read); the residual and the dwconv
 * inputs end exactly at a PROT_NONE guard page, so even a masked SIMD load
 * with one lane too many faults, in every build. Outputs live in poisoned
 * cxt_buf buffers whose red zones, and every element outside the mr x nc
 * block (stride gaps, rows >= mr), must come back untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "support/cxtest.h"

#define MAX_TABLES 8


/* ---------------------------------------------------------------- packing */

START_TEST(test_pack_weights_explicit)
{
    /* n = 3 columns, ks = 2 taps, kc = 2 channels, nr = 2: two panels, the
     * second one padded. w[(j*ks + t)*kc + k] = 100*j + 10*t + k + 1. */
    const size_t n = 3, kc = 2, ks = 2, nr = 2;
    float w[3 * 2 * 2];
    for (size_t j = 0; j < n; j++)
        for (size_t t = 0; t < ks; t++)
            for (size_t k = 0; k < kc; k++) w[(j * ks + t) * kc + k] = (float)(100 * j + 10 * t + k + 1);
    const float bias[3] = { -1, -2, -3 };
    const float expect[] = {
        /* panel 0: bias j0 j1, then (t, k) rows of nr */
        -1, -2,
        1, 101,   /* t0 k0 */
        2, 102,   /* t0 k1 */
        11, 111,  /* t1 k0 */
        12, 112,  /* t1 k1 */
        /* panel 1: column 2, column 3 is padding */
        -3, 0,
        201, 0,
        202, 0,
        211, 0,
        212, 0,
    };
    const size_t sz = cx_f32_gemm_packed_size(n, kc, ks, nr);
    ck_assert_uint_eq(sz, sizeof expect / sizeof expect[0]);
    cxt_buf out = cxt_buf_new(sz);
    cx_f32_gemm_pack_weights(n, kc, ks, nr, w, bias, out.p);
    for (size_t i = 0; i < sz; i++)
        ck_assert_msg(out.p[i] == expect[i], "packed[%zu] = %g, expected %g", i, out.p[i], expect[i]);
    ck_assert_msg(cxt_buf_red_ok(&out), "pack wrote outside its output");

    /* bias NULL: zeros in the bias slots */
    cxt_buf_poison(&out);
    cx_f32_gemm_pack_weights(n, kc, ks, nr, w, NULL, out.p);
    for (size_t i = 0; i < sz; i++) {
        const float e = (i == 0 || i == 1 || i == 10 || i == 11) ? 0.0f : expect[i];
        ck_assert_msg(out.p[i] == e, "packed(no bias)[%zu] = %g, expected %g", i, out.p[i], e);
    }
    ck_assert(cxt_buf_red_ok(&out));
    cxt_buf_free(&out);

    /* every table's NR: size formula and padding */
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t NR = K[ti]->f32_gemm.nr;
        ck_assert_uint_eq(cx_f32_gemm_packed_size(NR + 1, 3, 2, NR), 2 * NR * (1 + 2 * 3));
        ck_assert_uint_eq(cx_f32_gemm_packed_size(NR, 3, 2, NR), NR * (1 + 2 * 3));
    }
}
END_TEST

/* ------------------------------------------------------------------ igemm */

typedef struct {
    const char *name;
    size_t mr;        /* 0: the table's MR */
    size_t nc, kc, ks;
    size_t c_stride;  /* 0: nc */
    size_t c_off;     /* C starts this many floats into its buffer (alignment) */
    int residual;
    size_t r_stride;  /* 0: nc */
    float min, max;
    int zero_pct;     /* % of the (tap, row) pointers that point at the zero row */
    int junk_rows;    /* rows >= mr point at a junk row instead of repeating row mr-1 */
} igemm_case;

static void check_igemm(const cx_kernels *K, const igemm_case *tc)
{
    const size_t MR = K->f32_gemm.mr, NR = K->f32_gemm.nr;
    const size_t mr = tc->mr ? tc->mr : MR;
    const size_t nc = tc->nc, kc = tc->kc, ks = tc->ks;
    const size_t cs = tc->c_stride ? tc->c_stride : nc;
    const size_t rs = tc->r_stride ? tc->r_stride : nc;
    ck_assert(mr >= 1 && mr <= MR && nc >= 1 && kc >= 1 && ks >= 1 && cs >= nc && rs >= nc);

    /* weights (n, ks, kc) and bias, packed into an exact-size buffer */
    float *wt = cxt_floats(nc * ks * kc), *bias = cxt_floats(nc);
    cxt_fill(wt, nc * ks * kc, -1.0f, 1.0f);
    cxt_fill(bias, nc, -1.0f, 1.0f);
    const size_t psz = cx_f32_gemm_packed_size(nc, kc, ks, NR);
    float *packed = cxt_floats(psz), *packed_copy = cxt_floats(psz);
    cx_f32_gemm_pack_weights(nc, kc, ks, NR, wt, bias, packed);
    memcpy(packed_copy, packed, psz * sizeof(float));

    /* A: one exact-size row per (tap, row < mr), or the zero row */
    float *zero = cxt_floats(kc), *junk = cxt_floats(kc);
    memset(zero, 0, kc * sizeof(float));
    cxt_fill(junk, kc, -1000.0f, 1000.0f);
    const float **a = malloc(ks * MR * sizeof *a);
    float **owned = malloc(ks * MR * sizeof *owned);
    ck_assert(a && owned);
    for (size_t t = 0; t < ks; t++) {
        for (size_t i = 0; i < MR; i++) {
            float **o = &owned[t * MR + i];
            *o = NULL;
            if (i >= mr) {
                a[t * MR + i] = tc->junk_rows ? junk : a[t * MR + mr - 1];
            } else if (tc->zero_pct && cxt_int(0, 99) < tc->zero_pct) {
                a[t * MR + i] = zero;
            } else {
                *o = cxt_floats(kc);
                cxt_fill(*o, kc, -1.0f, 1.0f);
                a[t * MR + i] = *o;
            }
        }
    }

    /* residual: exact size (mr-1)*rs + nc */
    float *res = NULL;
    cxt_guard rg = { NULL, 0 };
    const size_t rsz = (mr - 1) * rs + nc;
    if (tc->residual) {
        res = cxt_guarded_floats(rsz, &rg);
        cxt_fill(res, rsz, -1.0f, 1.0f);
    }

    /* C: MR full rows of cs floats (poisoned) + red zones; snapshot to check
     * that nothing outside the mr x nc block changes */
    const size_t csz = tc->c_off + MR * cs;
    cxt_buf cb = cxt_buf_new(csz);
    float *before = cxt_floats(csz);
    memcpy(before, cb.p, csz * sizeof(float));
    float *c = cb.p + tc->c_off;

    /* every other case also hands the kernel a prefetch stream (over the
     * packed weights): a hint that must not change a single result */
    const int pf = ((mr + nc + kc) & 1) != 0;
    cx_f32_params p = { tc->min, tc->max, res, res ? rs : 0, pf ? packed : NULL, pf ? psz * sizeof(float) : 0 };
    K->f32_gemm.igemm(mr, nc, kc, ks, a, packed, c, cs, &p);

    char what[256];
    snprintf(what, sizeof what, "[%s] %s: mr=%zu nc=%zu kc=%zu ks=%zu c_stride=%zu c_off=%zu res=%d r_stride=%zu min=%g max=%g zero=%d%% junk=%d prefetch=%d",
             K->name, tc->name, mr, nc, kc, ks, cs, tc->c_off, tc->residual, rs, tc->min, tc->max, tc->zero_pct,
             tc->junk_rows, pf);

    ck_assert_msg(cxt_buf_red_ok(&cb), "%s: write into C's red zone", what);
    ck_assert_msg(memcmp(packed, packed_copy, psz * sizeof(float)) == 0, "%s: packed weights modified", what);

    const double tol = 1e-5 * sqrt((double)(kc * ks));
    for (size_t i = 0; i < mr; i++) {
        for (size_t j = 0; j < nc; j++) {
            double acc = bias[j];
            for (size_t t = 0; t < ks; t++) {
                const float *ar = a[t * MR + i];
                const float *wr = wt + (j * ks + t) * kc;
                for (size_t k = 0; k < kc; k++) acc += (double)ar[k] * (double)wr[k];
            }
            if (res) acc += res[i * rs + j];
            if (acc < tc->min) acc = tc->min;
            if (acc > tc->max) acc = tc->max;
            const float got = c[i * cs + j];
            const double den = fabs(acc) > 1.0 ? fabs(acc) : 1.0;
            const double err = fabs((double)got - acc) / den;
            ck_assert_msg(!isnan(got) && err <= tol, "%s: C[%zu][%zu] = %.9g, expected %.9g (rel err %.3g > %.3g)",
                          what, i, j, got, acc, err, tol);
        }
    }
    for (size_t x = 0; x < csz; x++) {
        const size_t off = x - tc->c_off, i = off / cs, j = off % cs;
        if (x >= tc->c_off && i < mr && j < nc) continue;
        ck_assert_msg(memcmp(&cb.p[x], &before[x], sizeof(float)) == 0,
                      "%s: C buffer element %zu (row %zu col %zu) outside the mr x nc block was written", what,
                      x, x >= tc->c_off ? i : (size_t)0, x >= tc->c_off ? j : (size_t)0);
    }

    for (size_t i = 0; i < ks * MR; i++) free(owned[i]);
    free(owned);
    free(a);
    free(zero);
    free(junk);
    cxt_guard_free(&rg);
    free(before);
    cxt_buf_free(&cb);
    free(packed);
    free(packed_copy);
    free(wt);
    free(bias);
}

static igemm_case base_case(const char *name, size_t nc, size_t kc, size_t ks)
{
    igemm_case tc = { name, 0, nc, kc, ks, 0, 0, 0, 0, -INFINITY, INFINITY, 0, 0 };
    return tc;
}

START_TEST(test_igemm_k_small)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t NR = K[ti]->f32_gemm.nr;
        for (size_t kc = 1; kc < 4; kc++) {
            igemm_case tc = base_case(kc == 1 ? "k=1" : "k<4", NR, kc, 1);
            check_igemm(K[ti], &tc);
            tc.nc = 2 * NR + 3;
            check_igemm(K[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_k_unroll)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t ks_[] = { 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 31, 33, 63, 65 };
    for (int ti = 0; ti < nt; ti++) {
        const size_t NR = K[ti]->f32_gemm.nr;
        for (size_t x = 0; x < sizeof ks_ / sizeof ks_[0]; x++) {
            igemm_case tc = base_case(ks_[x] % 4 ? "k not a multiple of 4" : "k multiple of 4", NR, ks_[x], 1);
            check_igemm(K[ti], &tc);
            tc.ks = 2;
            tc.nc = NR + 1;
            check_igemm(K[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_k_large)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t NR = K[ti]->f32_gemm.nr;
        igemm_case tc = base_case("k large", NR, 1000, 1);
        check_igemm(K[ti], &tc);
        tc.kc = 1001;
        tc.nc = 2 * NR + 3;
        check_igemm(K[ti], &tc);
        tc.name = "k large, ks=9";
        tc.kc = 300;
        tc.ks = 9;
        tc.nc = NR + 5;
        tc.mr = 1;
        check_igemm(K[ti], &tc);
    }
}
END_TEST

START_TEST(test_igemm_taps)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t taps[] = { 1, 9, 27 };
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        for (size_t x = 0; x < 3; x++) {
            igemm_case tc = base_case("ks taps", NR, 16, taps[x]);
            check_igemm(K[ti], &tc);
            tc.name = "ks taps with zero-row padding";
            tc.zero_pct = 30;
            tc.kc = 13;
            tc.nc = 2 * NR - 1;
            check_igemm(K[ti], &tc);
            tc.mr = MR > 1 ? MR - 1 : 1;
            tc.zero_pct = 100;
            tc.name = "ks taps, all padding";
            check_igemm(K[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_mr)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        for (size_t mr = 1; mr <= MR; mr++) {
            for (int junk = 0; junk < 2; junk++) {
                igemm_case tc = base_case(junk ? "mr, junk rows past mr" : "mr, row mr-1 repeated", NR, 7, 1);
                tc.mr = mr;
                tc.junk_rows = junk;
                check_igemm(K[ti], &tc);
                tc.nc = NR + 3;
                tc.ks = 3;
                tc.c_stride = NR + 7;
                tc.residual = 1;
                tc.r_stride = NR + 5;
                check_igemm(K[ti], &tc);
            }
        }
    }
}
END_TEST

START_TEST(test_igemm_nc)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        for (size_t nc = 1; nc <= 2 * NR + 3; nc++) {
            igemm_case tc = base_case(nc < NR ? "nc < NR" : nc % NR ? "nc not a multiple of NR" : "nc multiple of NR",
                                      nc, 5, 1);
            check_igemm(K[ti], &tc);
            tc.mr = (nc % MR) + 1;
            tc.residual = 1;
            tc.c_stride = nc + 1;
            tc.r_stride = nc + 2;
            check_igemm(K[ti], &tc);
        }
        igemm_case tc = base_case("nc = NR exactly", NR, 8, 2);
        check_igemm(K[ti], &tc);
        tc.residual = 1;
        check_igemm(K[ti], &tc);
    }
}
END_TEST

START_TEST(test_igemm_strided)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        const size_t ncs[] = { 1, NR - 1, NR, NR + 1, 2 * NR + 3 };
        for (size_t x = 0; x < 5; x++) {
            for (size_t off = 0; off < 3; off++) {
                igemm_case tc = base_case("strided C (gap between rows)", ncs[x], 9, 1);
                tc.c_stride = ncs[x] + 1 + 5 * off;
                tc.c_off = off;
                check_igemm(K[ti], &tc);
                tc.mr = MR / 2 ? MR / 2 : 1;
                check_igemm(K[ti], &tc);
            }
        }
    }
}
END_TEST

START_TEST(test_igemm_residual)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        const size_t ncs[] = { 1, 3, NR - 1, NR, NR + 1, 2 * NR + 3 };
        for (size_t x = 0; x < 6; x++) {
            for (int on = 0; on < 2; on++) {
                igemm_case tc = base_case(on ? "residual on, own stride" : "residual off", ncs[x], 6, 2);
                tc.residual = on;
                tc.r_stride = ncs[x] + 3;
                tc.c_stride = ncs[x] + 1;
                check_igemm(K[ti], &tc);
                tc.name = on ? "residual on, r_stride = nc" : "residual off";
                tc.r_stride = 0;
                tc.mr = MR - 1 ? MR - 1 : 1;
                check_igemm(K[ti], &tc);
            }
        }
    }
}
END_TEST

START_TEST(test_igemm_clamp)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    for (int ti = 0; ti < nt; ti++) {
        const size_t NR = K[ti]->f32_gemm.nr;
        for (int res = 0; res < 2; res++) {
            igemm_case tc = base_case("relu clamp 0..inf", 2 * NR + 3, 11, 1);
            tc.residual = res;
            tc.min = 0.0f;
            check_igemm(K[ti], &tc);
            tc.name = "finite clamp -0.5..0.25";
            tc.min = -0.5f;
            tc.max = 0.25f;
            check_igemm(K[ti], &tc);
            tc.name = "max-only clamp -inf..0.1";
            tc.min = -INFINITY;
            tc.max = 0.1f;
            tc.mr = 1;
            check_igemm(K[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_random)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t taps[] = { 1, 1, 1, 2, 3, 4, 9, 9, 27 };
    for (int ti = 0; ti < nt; ti++) {
        const size_t MR = K[ti]->f32_gemm.mr, NR = K[ti]->f32_gemm.nr;
        for (int n = 0; n < 250; n++) {
            igemm_case tc = base_case("random", (size_t)cxt_int(1, 3 * (int)NR + 5), 1, 1);
            tc.ks = taps[cxt_int(0, 8)];
            tc.kc = (size_t)(tc.ks >= 9 ? cxt_int(1, 40) : cxt_int(1, 300));
            tc.mr = (size_t)cxt_int(1, (int)MR);
            if (cxt_int(0, 1)) tc.c_stride = tc.nc + (size_t)cxt_int(0, 20);
            tc.c_off = (size_t)cxt_int(0, 3);
            tc.residual = cxt_int(0, 1);
            if (cxt_int(0, 1)) tc.r_stride = tc.nc + (size_t)cxt_int(0, 20);
            switch (cxt_int(0, 3)) {
            case 0: break;
            case 1: tc.min = 0.0f; break;
            case 2: tc.min = -cxt_float(0.0f, 2.0f); tc.max = cxt_float(0.0f, 2.0f); break;
            default: tc.min = 0.0f; tc.max = 6.0f; break;
            }
            tc.zero_pct = tc.ks > 1 ? cxt_int(0, 50) : 0;
            tc.junk_rows = cxt_int(0, 1);
            check_igemm(K[ti], &tc);
        }
    }
}
END_TEST

/* ----------------------------------------------------------------- dwconv */

typedef struct {
    const char *name;
    size_t channels, ks;
    int residual;
    float min, max;
    int zero_pct;
} dw_case;

static void check_dwconv(const cx_kernels *K, const dw_case *tc)
{
    const size_t ch = tc->channels, ks = tc->ks;
    cxt_guard wg, zg, rg = { NULL, 0 }, *ig = calloc(ks, sizeof *ig);
    ck_assert(ig);
    float *w = cxt_guarded_floats(ch * (1 + ks), &wg), *w_copy = cxt_floats(ch * (1 + ks));
    cxt_fill(w, ch * (1 + ks), -1.0f, 1.0f);
    memcpy(w_copy, w, ch * (1 + ks) * sizeof(float));
    float *zero = cxt_guarded_floats(ch, &zg);
    memset(zero, 0, ch * sizeof(float));
    const float **in = malloc(ks * sizeof *in);
    ck_assert(in);
    for (size_t t = 0; t < ks; t++) {
        if (tc->zero_pct && cxt_int(0, 99) < tc->zero_pct) {
            in[t] = zero;
        } else {
            float *row = cxt_guarded_floats(ch, &ig[t]);
            cxt_fill(row, ch, -1.0f, 1.0f);
            in[t] = row;
        }
    }
    float *res = NULL;
    if (tc->residual) {
        res = cxt_guarded_floats(ch, &rg);
        cxt_fill(res, ch, -1.0f, 1.0f);
    }
    cxt_buf out = cxt_buf_new(ch);
    cx_f32_params p = { tc->min, tc->max, res, 0, NULL, 0 };
    K->f32_dwconv(ch, ks, in, w, out.p, &p);

    char what[200];
    snprintf(what, sizeof what, "[%s] dwconv %s: channels=%zu ks=%zu res=%d min=%g max=%g zero=%d%%", K->name,
             tc->name, ch, ks, tc->residual, tc->min, tc->max, tc->zero_pct);
    ck_assert_msg(cxt_buf_red_ok(&out), "%s: write outside out[0, channels)", what);
    ck_assert_msg(memcmp(w, w_copy, ch * (1 + ks) * sizeof(float)) == 0, "%s: weights modified", what);
    const double tol = 1e-5 * sqrt((double)ks);
    for (size_t c = 0; c < ch; c++) {
        double acc = w[c];
        for (size_t t = 0; t < ks; t++) acc += (double)in[t][c] * (double)w[ch + t * ch + c];
        if (res) acc += res[c];
        if (acc < tc->min) acc = tc->min;
        if (acc > tc->max) acc = tc->max;
        const float got = out.p[c];
        const double den = fabs(acc) > 1.0 ? fabs(acc) : 1.0;
        const double err = fabs((double)got - acc) / den;
        ck_assert_msg(!isnan(got) && err <= tol, "%s: out[%zu] = %.9g, expected %.9g (rel err %.3g > %.3g)", what, c,
                      got, acc, err, tol);
    }
    for (size_t t = 0; t < ks; t++) cxt_guard_free(&ig[t]);
    free(ig);
    free(in);
    cxt_guard_free(&zg);
    cxt_guard_free(&rg);
    cxt_guard_free(&wg);
    free(w_copy);
    cxt_buf_free(&out);
}

START_TEST(test_dwconv_channels)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t taps[] = { 1, 9, 27 };
    for (int ti = 0; ti < nt; ti++) {
        for (size_t ch = 1; ch <= 40; ch++) {
            for (size_t x = 0; x < 3; x++) {
                dw_case tc = { ch % 8 ? "channels not a multiple of 8" : "channels multiple of 8", ch, taps[x], 0,
                               -INFINITY, INFINITY, 0 };
                check_dwconv(K[ti], &tc);
                tc.name = "zero-row taps, residual";
                tc.zero_pct = 30;
                tc.residual = 1;
                check_dwconv(K[ti], &tc);
            }
        }
        /* the wide blocks (32 / 64 channels) and what follows them */
        static const size_t wide[] = { 63, 64, 65, 79, 80, 96, 127, 128, 129, 144, 200 };
        for (size_t x = 0; x < sizeof wide / sizeof wide[0]; x++) {
            dw_case tc = { "wide channel blocks", wide[x], 9, 1, -INFINITY, INFINITY, 10 };
            check_dwconv(K[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_dwconv_clamp)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t chs[] = { 5, 16, 37, 100 };
    for (int ti = 0; ti < nt; ti++) {
        for (size_t x = 0; x < 4; x++) {
            for (int res = 0; res < 2; res++) {
                dw_case tc = { "relu 0..inf", chs[x], 9, res, 0.0f, INFINITY, 0 };
                check_dwconv(K[ti], &tc);
                tc.name = "finite clamp -0.5..0.25";
                tc.min = -0.5f;
                tc.max = 0.25f;
                check_dwconv(K[ti], &tc);
                tc.name = "relu6";
                tc.ks = 27;
                tc.min = 0.0f;
                tc.max = 6.0f;
                check_dwconv(K[ti], &tc);
            }
        }
    }
}
END_TEST

START_TEST(test_dwconv_random)
{
    const cx_kernels *K[MAX_TABLES];
    int nt = cxt_tables_req(K, MAX_TABLES);
    static const size_t taps[] = { 1, 2, 3, 4, 5, 9, 9, 25, 27 };
    for (int ti = 0; ti < nt; ti++) {
        for (int n = 0; n < 250; n++) {
            dw_case tc = { "random", (size_t)cxt_int(1, 300), taps[cxt_int(0, 8)], cxt_int(0, 1), -INFINITY,
                           INFINITY, 0 };
            switch (cxt_int(0, 2)) {
            case 0: break;
            case 1: tc.min = 0.0f; break;
            default: tc.min = -cxt_float(0.0f, 2.0f); tc.max = cxt_float(0.0f, 2.0f); break;
            }
            tc.zero_pct = tc.ks > 1 ? cxt_int(0, 50) : 0;
            check_dwconv(K[ti], &tc);
        }
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("kernels_f32");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "pack_weights", test_pack_weights_explicit },
        { "igemm_k_small", test_igemm_k_small },
        { "igemm_k_unroll", test_igemm_k_unroll },
        { "igemm_k_large", test_igemm_k_large },
        { "igemm_taps", test_igemm_taps },
        { "igemm_mr", test_igemm_mr },
        { "igemm_nc", test_igemm_nc },
        { "igemm_strided", test_igemm_strided },
        { "igemm_residual", test_igemm_residual },
        { "igemm_clamp", test_igemm_clamp },
        { "igemm_random", test_igemm_random },
        { "dwconv_channels", test_dwconv_channels },
        { "dwconv_clamp", test_dwconv_clamp },
        { "dwconv_random", test_dwconv_random },
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
