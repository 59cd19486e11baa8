/* int8 kernel tests: every q8 table the machine can run (scalar always,
 * avx2 / avx512 / avx512vnni when the CPU has them; under the SIMDe build,
 * CORTEX_TEST_ISA=avx512, only the avx512* tables) against a naive reference
 * written here from the contracts in kernels_q8.h. Integer arithmetic is exact
 * and the requantization is specified to the bit, so there are no tolerances:
 * every output byte must equal the reference.
 *
 * The reference accumulates bias + sum (a - a_zp) * w in int64 straight from
 * the unpacked weights (so the zero-point folding of the packer is tested too)
 * and requantizes with cx_q8_requant, the normative formula; that formula is
 * itself checked against an integer-only one on power-of-two scales.
 *
 * Every input a kernel reads ends at a PROT_NONE page (A rows, packed weights,
 * residual, dwconv rows and weights), so a read of even one byte past the
 * contract faults in every build. Outputs are poisoned, with red zones, and
 * every byte outside the mr x nc block must come back unchanged. Random
 * shapes: replay a failure with the printed CX_SEED. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/kernels_q8.h"
#include "support/cxtest.h"

#define MAX_TABLES 8

static int q8_tables(const cx_q8_kernels **out)
{
    const char *only = getenv("CORTEX_TEST_ISA");
    const cx_q8_kernels *all[] = { &cx_q8_kernels_scalar, &cx_q8_kernels_avx2, &cx_q8_kernels_avx2exact,
                                   &cx_q8_kernels_avx512, &cx_q8_kernels_avx512vnni };
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        /* CORTEX_TEST_ISA=avx512 selects avx512 and avx512vnni */
        if (only && strncmp(all[i]->name, only, strlen(only)) != 0) continue;
        if (cx_q8_kernels_available(all[i])) out[n++] = all[i];
    }
    ck_assert_msg(n >= 1, "no q8 kernel table available");
    return n;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ------------------------------------------------------ guarded memory
 * n_rows buffers of `bytes` bytes, each ending exactly where a PROT_NONE page
 * begins (one mmap for all of them). */
typedef struct { void *map; size_t len, stride, bytes; } guarded;

static void guarded_new(guarded *g, size_t n_rows, size_t bytes)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data = ((bytes ? bytes : 1) + pg - 1) / pg * pg;
    g->stride = data + pg;
    g->bytes = bytes;
    g->len = g->stride * (n_rows ? n_rows : 1);
    g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(g->map != MAP_FAILED, "mmap failed");
    for (size_t r = 0; r < (n_rows ? n_rows : 1); r++)
        ck_assert_msg(mprotect((char *)g->map + r * g->stride + data, pg, PROT_NONE) == 0, "mprotect failed");
}

static uint8_t *guarded_row(const guarded *g, size_t r)
{
    return (uint8_t *)g->map + r * g->stride + (g->stride - (size_t)sysconf(_SC_PAGESIZE)) - g->bytes;
}

static void guarded_free(guarded *g)
{
    if (g->map) munmap(g->map, g->len);
    g->map = NULL;
}

static uint8_t *guarded1(guarded *g, size_t bytes)
{
    guarded_new(g, 1, bytes);
    return guarded_row(g, 0);
}

/* u8 output buffer on top of cxt_buf (poisoned floats, red zones both sides) */
static cxt_buf obuf_new(size_t bytes) { return cxt_buf_new((bytes + 3) / 4); }

static void fill_u8(uint8_t *p, size_t n, int lo, int hi)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)cxt_int(lo, hi);
}

/* ----------------------------------------------------- the requantization */

/* round half to even of num / 2^sh, integers only */
static int64_t rhe_shift(int64_t num, int sh)
{
    if (sh == 0) return num;
    const int64_t d = (int64_t)1 << sh;
    int64_t q = num >= 0 ? num / d : -((-num + d - 1) / d); /* floor */
    const int64_t rem = num - q * d;                        /* 0 <= rem < d */
    if (2 * rem > d || (2 * rem == d && (q & 1))) q++;
    return q;
}

/* y for scale = 2^-sa and r_scale = 2^-sr, in integers only */
static uint8_t requant_int(int64_t acc, int sa, int has_r, int64_t rr, int sr, int y_zp, int ymin, int ymax)
{
    const int m = sa > sr ? sa : sr;
    int64_t num = acc * ((int64_t)1 << (m - sa));
    if (has_r) num += rr * ((int64_t)1 << (m - sr));
    int64_t y = rhe_shift(num, m) + y_zp;
    if (y < ymin) y = ymin;
    if (y > ymax) y = ymax;
    return (uint8_t)y;
}

START_TEST(test_requant_formula)
{
    /* cx_q8_requant (the normative float formula) equals the exact integer
     * rounding wherever the float ops are exact: power-of-two scales, small acc */
    int checked = 0;
    for (int sa = 0; sa <= 8; sa++) {
        for (int sr = 0; sr <= 3; sr++) {
            for (int n = 0; n < 400; n++) {
                const int64_t acc = cxt_int(-20000, 20000);
                const int y_zp = cxt_int(0, 255), ymin = cxt_int(0, 80), ymax = cxt_int(170, 255);
                const int has_r = cxt_int(0, 1), r = cxt_int(0, 255), r_zp = cxt_int(0, 255);
                uint8_t rb = (uint8_t)r;
                cx_q8_params p = { y_zp, ymin, ymax, has_r ? &rb : NULL, 0, r_zp, ldexpf(1.0f, -sr) };
                const uint8_t got = cx_q8_requant((int32_t)acc, ldexpf(1.0f, -sa), &p, rb);
                const uint8_t exp = requant_int(acc, sa, has_r, r - r_zp, sr, y_zp, ymin, ymax);
                ck_assert_msg(got == exp, "requant acc=%lld sa=%d res=%d r-zp=%d sr=%d y_zp=%d [%d,%d]: %d, exact %d",
                              (long long)acc, sa, has_r, r - r_zp, sr, y_zp, ymin, ymax, got, exp);
                checked++;
            }
        }
    }
    /* ties go to even, both signs; saturation both ends */
    const cx_q8_params p = { 100, 0, 255, NULL, 0, 0, 0.0f };
    ck_assert_int_eq(cx_q8_requant(1, 0.5f, &p, 0), 100);   /* 0.5 -> 0 */
    ck_assert_int_eq(cx_q8_requant(3, 0.5f, &p, 0), 102);   /* 1.5 -> 2 */
    ck_assert_int_eq(cx_q8_requant(5, 0.5f, &p, 0), 102);   /* 2.5 -> 2 */
    ck_assert_int_eq(cx_q8_requant(-1, 0.5f, &p, 0), 100);  /* -0.5 -> -0 */
    ck_assert_int_eq(cx_q8_requant(-3, 0.5f, &p, 0), 98);   /* -1.5 -> -2 */
    ck_assert_int_eq(cx_q8_requant(-5, 0.5f, &p, 0), 98);   /* -2.5 -> -2 */
    ck_assert_int_eq(cx_q8_requant(INT32_MAX, 1.0f, &p, 0), 255);
    ck_assert_int_eq(cx_q8_requant(INT32_MIN, 1.0f, &p, 0), 0);
    ck_assert_int_eq(cx_q8_requant(INT32_MAX, 1e30f, &p, 0), 255);
    ck_assert(checked > 0);
}
END_TEST

/* ---------------------------------------------------------------- packing */

START_TEST(test_pack_explicit)
{
    /* n = 3, ks = 2, kc = 5 (kc4 = 8), nr = 2: two panels, the second padded.
     * w[j][t][k] = 10*j + 4*t + k - 20 */
    const size_t n = 3, ks = 2, kc = 5, nr = 2, kc4 = 8;
    int8_t w[3 * 2 * 5];
    for (size_t j = 0; j < n; j++)
        for (size_t t = 0; t < ks; t++)
            for (size_t k = 0; k < kc; k++) w[(j * ks + t) * kc + k] = (int8_t)(10 * j + 4 * t + k - 20);
    const int32_t bias[3] = { 1000, -2000, 3 };
    const float scale[3] = { 0.5f, 0.25f, 2.0f };
    const uint8_t a_zp = 7;
    const size_t panel = cx_q8_gemm_panel_bytes(kc, ks, nr);
    ck_assert_uint_eq(panel, nr * (8 + ks * kc4));
    const size_t sz = cx_q8_gemm_packed_size(n, kc, ks, nr);
    ck_assert_uint_eq(sz, 2 * panel);
    guarded g;
    uint8_t *out = guarded1(&g, sz);
    memset(out, 0xEE, sz);
    ck_assert_uint_eq(cx_q8_gemm_pack_weights(n, kc, ks, nr, 127, w, bias, scale, a_zp, out), 0);
    for (size_t pi = 0; pi < 2; pi++) {
        const uint8_t *pp = out + pi * panel;
        for (size_t jj = 0; jj < nr; jj++) {
            const size_t j = pi * nr + jj;
            int32_t b;
            float s;
            memcpy(&b, pp + 4 * jj, 4);
            memcpy(&s, pp + 4 * nr + 4 * jj, 4);
            int32_t wsum = 0;
            if (j < n)
                for (size_t x = 0; x < ks * kc; x++) wsum += w[j * ks * kc + x];
            ck_assert_int_eq(b, j < n ? bias[j] - a_zp * wsum : 0);
            ck_assert(s == (j < n ? scale[j] : 0.0f));
            for (size_t t = 0; t < ks; t++)
                for (size_t k = 0; k < kc4; k++) {
                    const int8_t got = (int8_t)pp[8 * nr + (t * kc4 + k / 4 * 4) * nr + jj * 4 + k % 4];
                    const int8_t exp = (j < n && k < kc) ? w[(j * ks + t) * kc + k] : 0;
                    ck_assert_msg(got == exp, "panel %zu col %zu t %zu k %zu: %d, expected %d", pi, jj, t, k, got,
                                  exp);
                }
        }
    }
    /* clamping to wmax, counted; bias NULL */
    const size_t nclamp = cx_q8_gemm_pack_weights(n, kc, ks, nr, 5, w, NULL, scale, 0, out);
    size_t exp_clamp = 0;
    for (size_t x = 0; x < n * ks * kc; x++) exp_clamp += w[x] > 5 || w[x] < -5;
    ck_assert_uint_eq(nclamp, exp_clamp);
    for (size_t x = 8 * nr; x < panel; x++) ck_assert(abs((int8_t)out[x]) <= 5);
    guarded_free(&g);

    /* dwconv: bias', scales, weights transposed to tap-major */
    const size_t ch = 3, dks = 2;
    const int8_t dw[6] = { 1, -2, 3, -128, 127, 0 }; /* (ch, ks) */
    uint8_t dout[3 * (8 + 2)];
    ck_assert_uint_eq(cx_q8_dwconv_packed_size(ch, dks), sizeof dout);
    cx_q8_dwconv_pack_weights(ch, dks, dw, bias, scale, a_zp, dout);
    for (size_t c = 0; c < ch; c++) {
        int32_t b;
        float s;
        memcpy(&b, dout + 4 * c, 4);
        memcpy(&s, dout + 4 * (ch + c), 4);
        ck_assert_int_eq(b, bias[c] - a_zp * (dw[c * 2] + dw[c * 2 + 1]));
        ck_assert(s == scale[c]);
        for (size_t t = 0; t < dks; t++) ck_assert_int_eq((int8_t)dout[8 * ch + t * ch + c], dw[c * dks + t]);
    }
}
END_TEST

/* ------------------------------------------------------------------ igemm */

typedef struct {
    const char *name;
    size_t mr;           /* 0: the table's MR */
    size_t nc, kc, ks;
    size_t c_stride;     /* 0: nc */
    size_t c_off;        /* C starts this many bytes into its buffer */
    int residual;
    size_t r_stride;     /* 0: nc */
    int a_zp;            /* -1: random */
    int y_zp, ymin, ymax;
    int zero_pct;        /* % of (tap, row) pointers that point at the a_zp row */
    int junk_rows;       /* rows >= mr point at a junk row instead of repeating row mr-1 */
    int a_lo, a_hi;      /* activation range (0..255) */
    int wmode;           /* 0 random in +-wmax, 1 all +wmax, 2 all -wmax, 3 alternating +-wmax by k */
    float scale_mul;     /* scales = scale_mul * (the spread-based default); 0: 1 */
    float fixed_scale;   /* > 0: every scale = this */
    int w_lim;           /* > 0: random weights limited to +-w_lim */
    int bias_lim;        /* > 0: bias in +-bias_lim */
} igemm_case;

static igemm_case base_case(const char *name, size_t nc, size_t kc, size_t ks)
{
    igemm_case tc;
    memset(&tc, 0, sizeof tc);
    tc.name = name;
    tc.nc = nc;
    tc.kc = kc;
    tc.ks = ks;
    tc.a_zp = -1;
    tc.y_zp = 128;
    tc.ymin = 0;
    tc.ymax = 255;
    tc.a_lo = 0;
    tc.a_hi = 255;
    return tc;
}

static void check_igemm(const cx_q8_kernels *K, const igemm_case *tc)
{
    const size_t MR = K->gemm.mr, NR = K->gemm.nr;
    const int wmax = K->wmax;
    const size_t mr = tc->mr ? tc->mr : MR;
    const size_t nc = tc->nc, kc = tc->kc, ks = tc->ks;
    const size_t cs = tc->c_stride ? tc->c_stride : nc;
    const size_t rs = tc->r_stride ? tc->r_stride : nc;
    ck_assert(mr >= 1 && mr <= MR && nc >= 1 && kc >= 1 && ks >= 1 && cs >= nc && rs >= nc);
    ck_assert_uint_eq(K->gemm.kr, CX_Q8_KR);
    const uint8_t a_zp = (uint8_t)(tc->a_zp >= 0 ? tc->a_zp : cxt_int(0, 255));

    /* weights (n, ks, kc), bias, scales */
    int8_t *wt = xmalloc(nc * ks * kc);
    for (size_t j = 0; j < nc; j++)
        for (size_t t = 0; t < ks; t++)
            for (size_t k = 0; k < kc; k++) {
                int v;
                switch (tc->wmode) {
                case 1: v = wmax; break;
                case 2: v = -wmax; break;
                case 3: v = ((k + j) & 1) ? -wmax : wmax; break;
                default: v = tc->w_lim > 0 ? cxt_int(-tc->w_lim, tc->w_lim) : cxt_int(-wmax, wmax); break;
                }
                wt[(j * ks + t) * kc + k] = (int8_t)v;
            }
    int32_t *bias = xmalloc(nc * sizeof(int32_t));
    float *scale = xmalloc(nc * sizeof(float));
    const double sd = sqrt((double)(ks * kc)) * 74.0 * wmax * 0.58 + 1.0;
    for (size_t j = 0; j < nc; j++) {
        bias[j] = tc->bias_lim > 0 ? cxt_int(-tc->bias_lim, tc->bias_lim) : cxt_int(-(int)sd, (int)sd);
        if (tc->fixed_scale > 0) {
            scale[j] = tc->fixed_scale;
        } else {
            scale[j] = (float)(cxt_float(0.3f, 3.0f) * 40.0 / sd) * (tc->scale_mul > 0 ? tc->scale_mul : 1.0f);
        }
    }
    const size_t psz = cx_q8_gemm_packed_size(nc, kc, ks, NR);
    guarded pg;
    uint8_t *packed = guarded1(&pg, psz);
    ck_assert_uint_eq(cx_q8_gemm_pack_weights(nc, kc, ks, NR, wmax, wt, bias, scale, a_zp, packed), 0);
    uint8_t *packed_copy = xmalloc(psz);
    memcpy(packed_copy, packed, psz);

    /* A rows: each its own guarded row; padding taps -> the a_zp row */
    guarded ag, zg, jg;
    guarded_new(&ag, ks * MR, kc);
    uint8_t *zrow = guarded1(&zg, kc), *junk = guarded1(&jg, kc);
    memset(zrow, a_zp, kc);
    fill_u8(junk, kc, 0, 255);
    const uint8_t **a = xmalloc(ks * MR * sizeof *a);
    for (size_t t = 0; t < ks; t++)
        for (size_t i = 0; i < MR; i++) {
            if (i >= mr) {
                a[t * MR + i] = tc->junk_rows ? junk : a[t * MR + mr - 1];
            } else if (tc->zero_pct && cxt_int(0, 99) < tc->zero_pct) {
                a[t * MR + i] = zrow;
            } else {
                uint8_t *row = guarded_row(&ag, t * MR + i);
                fill_u8(row, kc, tc->a_lo, tc->a_hi);
                a[t * MR + i] = row;
            }
        }

    /* residual: exactly (mr-1)*rs + nc bytes, ending at a guard page */
    guarded rg = { NULL, 0, 0, 0 };
    uint8_t *res = NULL;
    const uint8_t r_zp = (uint8_t)cxt_int(0, 255);
    const float r_scale = cxt_float(0.05f, 2.0f);
    if (tc->residual) {
        res = guarded1(&rg, (mr - 1) * rs + nc);
        fill_u8(res, (mr - 1) * rs + nc, 0, 255);
    }

    /* C: MR rows of cs bytes + c_off, poisoned, with red zones; snapshot */
    const size_t csz = tc->c_off + MR * cs;
    cxt_buf cb = obuf_new(csz);
    uint8_t *cbase = (uint8_t *)cb.p;
    uint8_t *before = xmalloc(csz);
    memcpy(before, cbase, csz);
    uint8_t *c = cbase + tc->c_off;

    cx_q8_params p = { tc->y_zp, tc->ymin, tc->ymax, res, res ? rs : 0, r_zp, r_scale };
    K->gemm.igemm(mr, nc, kc, ks, a, packed, c, cs, &p);

    char what[320];
    snprintf(what, sizeof what,
             "[%s] %s: mr=%zu nc=%zu kc=%zu ks=%zu c_stride=%zu c_off=%zu res=%d r_stride=%zu a_zp=%d y_zp=%d "
             "clamp=[%d,%d] zero=%d%% junk=%d wmode=%d",
             K->name, tc->name, mr, nc, kc, ks, cs, tc->c_off, tc->residual, rs, a_zp, tc->y_zp, tc->ymin, tc->ymax,
             tc->zero_pct, tc->junk_rows, tc->wmode);
    ck_assert_msg(cxt_buf_red_ok(&cb), "%s: write into C's red zone", what);
    ck_assert_msg(memcmp(packed, packed_copy, psz) == 0, "%s: packed weights modified", what);

    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++) {
            int64_t acc = bias[j];
            for (size_t t = 0; t < ks; t++) {
                const uint8_t *ar = a[t * MR + i];
                const int8_t *wr = wt + (j * ks + t) * kc;
                for (size_t k = 0; k < kc; k++) acc += ((int64_t)ar[k] - a_zp) * wr[k];
            }
            ck_assert_msg(acc >= INT32_MIN && acc <= INT32_MAX, "%s: test accumulator out of int32", what);
            const uint8_t exp = cx_q8_requant((int32_t)acc, scale[j], &p, res ? res[i * rs + j] : 0);
            const uint8_t got = c[i * cs + j];
            ck_assert_msg(got == exp, "%s: C[%zu][%zu] = %d, expected %d (acc %lld, scale %.9g)", what, i, j, got,
                          exp, (long long)acc, scale[j]);
        }
    for (size_t x = 0; x < csz; x++) {
        if (x >= tc->c_off) {
            const size_t i = (x - tc->c_off) / cs, j = (x - tc->c_off) % cs;
            if (i < mr && j < nc) continue;
        }
        ck_assert_msg(cbase[x] == before[x], "%s: C buffer byte %zu outside the mr x nc block was written", what, x);
    }

    free(a);
    guarded_free(&ag);
    guarded_free(&zg);
    guarded_free(&jg);
    guarded_free(&rg);
    guarded_free(&pg);
    free(before);
    cxt_buf_free(&cb);
    free(packed_copy);
    free(wt);
    free(bias);
    free(scale);
}

#define FOR_TABLES                                                                                  \
    const cx_q8_kernels *KT[MAX_TABLES];                                                            \
    const int nt = q8_tables(KT);                                                                   \
    for (int ti = 0; ti < nt; ti++)

START_TEST(test_igemm_k_tails)
{
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        for (size_t kc = 1; kc <= 7; kc++) {
            igemm_case tc = base_case(kc % 4 ? "k=1..7, kc % 4 tail" : "k=4", NR, kc, 1);
            check_igemm(KT[ti], &tc);
            tc.nc = 2 * NR + 3;
            tc.ks = 3;
            check_igemm(KT[ti], &tc);
            tc.zero_pct = 40;
            tc.ks = 9;
            tc.nc = NR - 1;
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_k_unroll)
{
    static const size_t kcs[] = { 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256 };
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        for (size_t x = 0; x < sizeof kcs / sizeof kcs[0]; x++) {
            igemm_case tc = base_case(kcs[x] % 4 ? "kc not a multiple of 4" : "kc multiple of 4", NR, kcs[x], 1);
            check_igemm(KT[ti], &tc);
            tc.ks = 2;
            tc.nc = NR + 1;
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_k_large)
{
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        igemm_case tc = base_case("k large", NR, 1000, 1);
        check_igemm(KT[ti], &tc);
        tc.kc = 1001;
        tc.nc = 2 * NR + 3;
        check_igemm(KT[ti], &tc);
        tc.name = "k large, ks=9";
        tc.kc = 301;
        tc.ks = 9;
        tc.nc = NR + 5;
        tc.mr = 1;
        check_igemm(KT[ti], &tc);
    }
}
END_TEST

START_TEST(test_igemm_taps)
{
    static const size_t taps[] = { 1, 9, 27 };
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        for (size_t x = 0; x < 3; x++) {
            igemm_case tc = base_case("ks taps", NR, 16, taps[x]);
            check_igemm(KT[ti], &tc);
            tc.name = "ks taps with zero-point padding rows";
            tc.zero_pct = 30;
            tc.kc = 13;
            tc.nc = 2 * NR - 1;
            check_igemm(KT[ti], &tc);
            static const int zps[] = { 0, 128, 255 };
            for (int z = 0; z < 3; z++) {
                tc.name = "ks taps, zero-point padding, a_zp 0/128/255";
                tc.a_zp = zps[z];
                tc.kc = 6;
                check_igemm(KT[ti], &tc);
            }
            tc.mr = MR > 1 ? MR - 1 : 1;
            tc.zero_pct = 100;
            tc.name = "ks taps, all padding (output = requant(bias))";
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_mr)
{
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        for (size_t mr = 1; mr <= MR; mr++) {
            for (int junk = 0; junk < 2; junk++) {
                igemm_case tc = base_case(junk ? "mr, junk rows past mr" : "mr, row mr-1 repeated", NR, 7, 1);
                tc.mr = mr;
                tc.junk_rows = junk;
                check_igemm(KT[ti], &tc);
                tc.nc = NR + 3;
                tc.ks = 3;
                tc.kc = 12;
                tc.c_stride = NR + 7;
                tc.residual = 1;
                tc.r_stride = NR + 5;
                check_igemm(KT[ti], &tc);
            }
        }
    }
}
END_TEST

START_TEST(test_igemm_nc)
{
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        for (size_t nc = 1; nc <= 2 * NR + 3; nc++) {
            igemm_case tc = base_case(nc < NR ? "nc < NR" : nc % NR ? "nc not a multiple of NR" : "nc multiple of NR",
                                      nc, 5, 1);
            check_igemm(KT[ti], &tc);
            tc.mr = (nc % MR) + 1;
            tc.residual = 1;
            tc.c_stride = nc + 1;
            tc.r_stride = nc + 2;
            tc.kc = 8;
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_strided)
{
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        const size_t ncs[] = { 1, NR - 1, NR, NR + 1, 2 * NR + 3 };
        for (size_t x = 0; x < 5; x++)
            for (size_t off = 0; off < 3; off++) {
                igemm_case tc = base_case("strided C (gap between rows)", ncs[x], 9, 1);
                tc.c_stride = ncs[x] + 1 + 5 * off;
                tc.c_off = off;
                check_igemm(KT[ti], &tc);
                tc.mr = MR / 2 ? MR / 2 : 1;
                tc.residual = 1;
                tc.r_stride = ncs[x] + 3 * off;
                check_igemm(KT[ti], &tc);
            }
    }
}
END_TEST

START_TEST(test_igemm_residual)
{
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        const size_t ncs[] = { 1, 3, NR - 1, NR, NR + 1, 2 * NR + 3 };
        for (size_t x = 0; x < 6; x++)
            for (int on = 0; on < 2; on++) {
                igemm_case tc = base_case(on ? "residual on, own stride" : "residual off", ncs[x], 6, 2);
                tc.residual = on;
                tc.r_stride = ncs[x] + 3;
                tc.c_stride = ncs[x] + 1;
                check_igemm(KT[ti], &tc);
                tc.name = on ? "residual on, r_stride = nc, relu" : "residual off, relu";
                tc.r_stride = 0;
                tc.ymin = tc.y_zp;
                tc.mr = MR - 1 ? MR - 1 : 1;
                check_igemm(KT[ti], &tc);
            }
    }
}
END_TEST

START_TEST(test_igemm_clamp_zp)
{
    static const int yzps[] = { 0, 1, 127, 128, 254, 255 };
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        for (size_t z = 0; z < 6; z++)
            for (int res = 0; res < 2; res++) {
                igemm_case tc = base_case("y_zp edge, no clamp", 2 * NR + 3, 11, 1);
                tc.y_zp = yzps[z];
                tc.residual = res;
                check_igemm(KT[ti], &tc);
                tc.name = "y_zp edge, relu (ymin = y_zp)";
                tc.ymin = tc.y_zp;
                check_igemm(KT[ti], &tc);
                tc.name = "y_zp edge, narrow clamp";
                tc.ymin = tc.y_zp > 20 ? tc.y_zp - 20 : 0;
                tc.ymax = tc.y_zp < 245 ? tc.y_zp + 10 : 255;
                check_igemm(KT[ti], &tc);
                tc.name = "y_zp edge, ymin = ymax";
                tc.ymin = tc.ymax = tc.y_zp;
                check_igemm(KT[ti], &tc);
                tc.name = "y_zp edge, scales 10x (mostly saturated)";
                tc.ymin = 0;
                tc.ymax = 255;
                tc.scale_mul = 10.0f;
                check_igemm(KT[ti], &tc);
            }
    }
}
END_TEST

START_TEST(test_igemm_ties)
{
    /* scales 0.5 / 0.25 / 1 make x land on .5 ties often: half to even */
    static const float sc[] = { 0.5f, 0.25f, 1.0f, 0.125f };
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        for (int s = 0; s < 4; s++) {
            igemm_case tc = base_case("rounding ties (exact power-of-two scales)", NR + 3, 3, 1);
            tc.fixed_scale = sc[s];
            tc.a_lo = 0;
            tc.a_hi = 3;
            tc.a_zp = 1;
            tc.w_lim = 20;
            tc.bias_lim = 50;
            check_igemm(KT[ti], &tc);
            tc.residual = 1;
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_saturation)
{
    /* all-255 activations against +-wmax weights, large K: the int16
     * intermediate of vpmaddubsw at its bound, the int32 sum large */
    static const int zps[] = { 0, 128, 255 };
    FOR_TABLES {
        const size_t NR = KT[ti]->gemm.nr;
        for (int wm = 1; wm <= 3; wm++)
            for (int z = 0; z < 3; z++) {
                igemm_case tc = base_case("saturation corner: a=255, w=+-wmax", NR + 1, 2048, 1);
                tc.a_lo = tc.a_hi = 255;
                tc.wmode = wm;
                tc.a_zp = zps[z];
                check_igemm(KT[ti], &tc);
                tc.name = "saturation corner: a=255, w=+-wmax, ks=9, kc tail, scales 0.01x";
                tc.ks = 9;
                tc.kc = 515;
                tc.scale_mul = 0.01f;
                check_igemm(KT[ti], &tc);
                tc.name = "saturation corner: a in {254, 255}";
                tc.a_lo = 254;
                tc.kc = 67;
                tc.scale_mul = 0.0f;
                check_igemm(KT[ti], &tc);
                tc.name = "saturation corner: a=0 (a_zp row contrast)";
                tc.a_lo = tc.a_hi = 0;
                tc.zero_pct = 50;
                check_igemm(KT[ti], &tc);
            }
    }
}
END_TEST

START_TEST(test_igemm_random)
{
    static const size_t taps[] = { 1, 1, 1, 2, 3, 4, 9, 9, 27 };
    FOR_TABLES {
        const size_t MR = KT[ti]->gemm.mr, NR = KT[ti]->gemm.nr;
        for (int n = 0; n < 250; n++) {
            igemm_case tc = base_case("random", (size_t)cxt_int(1, 3 * (int)NR + 5), 1, 1);
            tc.ks = taps[cxt_int(0, 8)];
            tc.kc = (size_t)(tc.ks >= 9 ? cxt_int(1, 40) : cxt_int(1, 300));
            tc.mr = (size_t)cxt_int(1, (int)MR);
            if (cxt_int(0, 1)) tc.c_stride = tc.nc + (size_t)cxt_int(0, 20);
            tc.c_off = (size_t)cxt_int(0, 3);
            tc.residual = cxt_int(0, 1);
            if (cxt_int(0, 1)) tc.r_stride = tc.nc + (size_t)cxt_int(0, 20);
            tc.y_zp = cxt_int(0, 255);
            switch (cxt_int(0, 3)) {
            case 0: break;
            case 1: tc.ymin = tc.y_zp; break;
            case 2: tc.ymin = cxt_int(0, 128); tc.ymax = cxt_int(128, 255); break;
            default: tc.ymin = tc.y_zp; tc.ymax = tc.y_zp + (255 - tc.y_zp) / 2; break;
            }
            tc.zero_pct = tc.ks > 1 ? cxt_int(0, 50) : 0;
            tc.junk_rows = cxt_int(0, 1);
            tc.scale_mul = cxt_float(0.2f, 4.0f);
            check_igemm(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_igemm_float_free)
{
    /* Every table (the scalar reference included) against a formula with no
     * float at all: power-of-two scales 2^-sa and 2^-sr, small shapes, int64
     * accumulation and integer round-half-to-even. */
    FOR_TABLES {
        const cx_q8_kernels *K = KT[ti];
        const size_t MR = K->gemm.mr, NR = K->gemm.nr;
        for (int n = 0; n < 60; n++) {
            const size_t mr = (size_t)cxt_int(1, (int)MR), nc = (size_t)cxt_int(1, 2 * (int)NR + 1);
            const size_t kc = (size_t)cxt_int(1, 9), ks = (size_t)cxt_int(1, 3);
            const int sa = cxt_int(0, 10), sr = cxt_int(0, 3), has_r = cxt_int(0, 1);
            const uint8_t a_zp = (uint8_t)cxt_int(0, 255);
            const int y_zp = cxt_int(0, 255), ymin = cxt_int(0, 40), ymax = cxt_int(215, 255), r_zp = cxt_int(0, 255);
            int8_t *wt = xmalloc(nc * ks * kc);
            int32_t *bias = xmalloc(nc * 4);
            float *scale = xmalloc(nc * 4);
            for (size_t x = 0; x < nc * ks * kc; x++) wt[x] = (int8_t)cxt_int(-K->wmax, K->wmax);
            for (size_t j = 0; j < nc; j++) {
                bias[j] = cxt_int(-3000, 3000);
                scale[j] = ldexpf(1.0f, -sa);
            }
            uint8_t *packed = xmalloc(cx_q8_gemm_packed_size(nc, kc, ks, NR));
            cx_q8_gemm_pack_weights(nc, kc, ks, NR, K->wmax, wt, bias, scale, a_zp, packed);
            uint8_t *arows = xmalloc(ks * MR * kc);
            fill_u8(arows, ks * MR * kc, 0, 255);
            const uint8_t **a = xmalloc(ks * MR * sizeof *a);
            for (size_t t = 0; t < ks; t++)
                for (size_t i = 0; i < MR; i++) a[t * MR + i] = arows + (t * MR + (i < mr ? i : mr - 1)) * kc;
            uint8_t *res = xmalloc(mr * nc), *c = xmalloc(mr * nc);
            fill_u8(res, mr * nc, 0, 255);
            const cx_q8_params p = { y_zp, ymin, ymax, has_r ? res : NULL, nc, r_zp, ldexpf(1.0f, -sr) };
            K->gemm.igemm(mr, nc, kc, ks, a, packed, c, nc, &p);
            for (size_t i = 0; i < mr; i++)
                for (size_t j = 0; j < nc; j++) {
                    int64_t acc = bias[j];
                    for (size_t t = 0; t < ks; t++)
                        for (size_t k = 0; k < kc; k++)
                            acc += ((int64_t)a[t * MR + i][k] - a_zp) * wt[(j * ks + t) * kc + k];
                    const uint8_t e = requant_int(acc, sa, has_r, (int64_t)res[i * nc + j] - r_zp, sr, y_zp, ymin, ymax);
                    ck_assert_msg(c[i * nc + j] == e,
                                  "[%s] float-free: mr=%zu nc=%zu kc=%zu ks=%zu sa=%d sr=%d res=%d: C[%zu][%zu] = %d, "
                                  "expected %d (acc %lld)",
                                  K->name, mr, nc, kc, ks, sa, sr, has_r, i, j, c[i * nc + j], e, (long long)acc);
                }
            free(wt);
            free(bias);
            free(scale);
            free(packed);
            free(arows);
            free(a);
            free(res);
            free(c);
        }
    }
}
END_TEST

/* ----------------------------------------------------------------- dwconv */

typedef struct {
    const char *name;
    size_t channels, ks;
    int residual, y_zp, ymin, ymax, zero_pct, a_zp;
    int w_extreme; /* weights only -128 / 127 and activations 255 */
} dw_case;

static void check_dwconv(const cx_q8_kernels *K, const dw_case *tc)
{
    const size_t ch = tc->channels, ks = tc->ks;
    const uint8_t a_zp = (uint8_t)(tc->a_zp >= 0 ? tc->a_zp : cxt_int(0, 255));
    int8_t *wt = xmalloc(ch * ks);
    for (size_t x = 0; x < ch * ks; x++) wt[x] = (int8_t)(tc->w_extreme ? (cxt_int(0, 1) ? 127 : -128) : cxt_int(-128, 127));
    int32_t *bias = xmalloc(ch * sizeof(int32_t));
    float *scale = xmalloc(ch * sizeof(float));
    const double sd = sqrt((double)ks) * 74.0 * 127 * 0.58 + 1.0;
    for (size_t c = 0; c < ch; c++) {
        bias[c] = cxt_int(-(int)sd, (int)sd);
        scale[c] = (float)(cxt_float(0.3f, 3.0f) * 40.0 / sd);
    }
    const size_t psz = cx_q8_dwconv_packed_size(ch, ks);
    guarded wg, ig, zg, rg = { NULL, 0, 0, 0 };
    uint8_t *packed = guarded1(&wg, psz);
    cx_q8_dwconv_pack_weights(ch, ks, wt, bias, scale, a_zp, packed);
    uint8_t *packed_copy = xmalloc(psz);
    memcpy(packed_copy, packed, psz);
    guarded_new(&ig, ks, ch);
    uint8_t *zrow = guarded1(&zg, ch);
    memset(zrow, a_zp, ch);
    const uint8_t **in = xmalloc(ks * sizeof *in);
    for (size_t t = 0; t < ks; t++) {
        if (tc->zero_pct && cxt_int(0, 99) < tc->zero_pct) {
            in[t] = zrow;
        } else {
            uint8_t *row = guarded_row(&ig, t);
            fill_u8(row, ch, tc->w_extreme ? 255 : 0, 255);
            in[t] = row;
        }
    }
    uint8_t *res = NULL;
    if (tc->residual) {
        res = guarded1(&rg, ch);
        fill_u8(res, ch, 0, 255);
    }
    cxt_buf ob = obuf_new(ch);
    uint8_t *out = (uint8_t *)ob.p;
    uint8_t *before = xmalloc(ob.n * 4);
    memcpy(before, out, ob.n * 4);
    cx_q8_params p = { tc->y_zp, tc->ymin, tc->ymax, res, 0, (int32_t)cxt_int(0, 255), cxt_float(0.05f, 2.0f) };
    K->dwconv(ch, ks, in, packed, out, &p);

    char what[240];
    snprintf(what, sizeof what, "[%s] dwconv %s: channels=%zu ks=%zu res=%d a_zp=%d y_zp=%d clamp=[%d,%d] zero=%d%%",
             K->name, tc->name, ch, ks, tc->residual, a_zp, tc->y_zp, tc->ymin, tc->ymax, tc->zero_pct);
    ck_assert_msg(cxt_buf_red_ok(&ob), "%s: write outside out[0, channels)", what);
    ck_assert_msg(memcmp(packed, packed_copy, psz) == 0, "%s: weights modified", what);
    for (size_t x = ch; x < ob.n * 4; x++) ck_assert_msg(out[x] == before[x], "%s: out[%zu] written", what, x);
    for (size_t c = 0; c < ch; c++) {
        int64_t acc = bias[c];
        for (size_t t = 0; t < ks; t++) acc += ((int64_t)in[t][c] - a_zp) * wt[c * ks + t];
        const uint8_t exp = cx_q8_requant((int32_t)acc, scale[c], &p, res ? res[c] : 0);
        ck_assert_msg(out[c] == exp, "%s: out[%zu] = %d, expected %d (acc %lld)", what, c, out[c], exp,
                      (long long)acc);
    }
    free(in);
    guarded_free(&wg);
    guarded_free(&ig);
    guarded_free(&zg);
    guarded_free(&rg);
    free(packed_copy);
    free(before);
    cxt_buf_free(&ob);
    free(wt);
    free(bias);
    free(scale);
}

START_TEST(test_dwconv_channels)
{
    static const size_t taps[] = { 1, 9, 27 };
    FOR_TABLES {
        if (!KT[ti]->dwconv) continue;
        for (size_t ch = 1; ch <= 80; ch++)
            for (size_t x = 0; x < 3; x++) {
                dw_case tc = { ch % 8 ? "channels not a multiple of 8" : "channels multiple of 8", ch, taps[x], 0,
                               128, 0, 255, 0, -1, 0 };
                check_dwconv(KT[ti], &tc);
                tc.name = "a_zp padding taps, residual, relu";
                tc.zero_pct = 30;
                tc.residual = 1;
                tc.ymin = tc.y_zp;
                check_dwconv(KT[ti], &tc);
            }
        static const size_t wide[] = { 95, 96, 97, 127, 128, 129, 255, 256, 257, 1000 };
        for (size_t x = 0; x < sizeof wide / sizeof wide[0]; x++) {
            dw_case tc = { "wide channel counts", wide[x], 9, 1, 3, 0, 255, 10, -1, 0 };
            check_dwconv(KT[ti], &tc);
        }
    }
}
END_TEST

START_TEST(test_dwconv_edges)
{
    static const int zps[] = { 0, 128, 255 };
    FOR_TABLES {
        if (!KT[ti]->dwconv) continue;
        for (int z = 0; z < 3; z++)
            for (int yz = 0; yz < 3; yz++) {
                dw_case tc = { "a_zp / y_zp edges", 37, 9, 0, zps[yz], 0, 255, 20, zps[z], 0 };
                check_dwconv(KT[ti], &tc);
                tc.residual = 1;
                tc.ymin = tc.y_zp;
                tc.name = "a_zp / y_zp edges, relu, residual";
                check_dwconv(KT[ti], &tc);
                tc.name = "extreme weights -128/127, a=255";
                tc.w_extreme = 1;
                tc.ks = 27;
                tc.channels = 70;
                check_dwconv(KT[ti], &tc);
            }
    }
}
END_TEST

START_TEST(test_dwconv_random)
{
    static const size_t taps[] = { 1, 2, 3, 4, 5, 9, 9, 25, 27 };
    FOR_TABLES {
        if (!KT[ti]->dwconv) continue;
        for (int n = 0; n < 250; n++) {
            dw_case tc = { "random", (size_t)cxt_int(1, 300), taps[cxt_int(0, 8)], cxt_int(0, 1), cxt_int(0, 255), 0,
                           255, 0, -1, 0 };
            if (cxt_int(0, 1)) tc.ymin = tc.y_zp;
            tc.zero_pct = tc.ks > 1 ? cxt_int(0, 50) : 0;
            check_dwconv(KT[ti], &tc);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- pooling */

START_TEST(test_pools)
{
    FOR_TABLES {
        const cx_q8_kernels *K = KT[ti];
        for (int n = 0; n < 150; n++) {
            const size_t ch = (size_t)cxt_int(1, 600), ks = (size_t)cxt_int(1, 27);
            guarded ig;
            guarded_new(&ig, ks, ch);
            const uint8_t **in = xmalloc(ks * sizeof *in);
            for (size_t t = 0; t < ks; t++) {
                uint8_t *row = guarded_row(&ig, t);
                fill_u8(row, ch, 0, 255);
                in[t] = row;
            }
            cxt_buf ob = obuf_new(ch);
            uint8_t *out = (uint8_t *)ob.p;
            const uint8_t ymin = (uint8_t)cxt_int(0, 60), ymax = (uint8_t)cxt_int(200, 255);
            K->maxpool(ch, ks, in, out, ymin, ymax);
            ck_assert_msg(cxt_buf_red_ok(&ob), "[%s] maxpool wrote outside", K->name);
            for (size_t c = 0; c < ch; c++) {
                int m = 0;
                for (size_t t = 0; t < ks; t++) m = in[t][c] > m ? in[t][c] : m;
                m = m < ymin ? ymin : m > ymax ? ymax : m;
                ck_assert_msg(out[c] == m, "[%s] maxpool ch=%zu ks=%zu: out[%zu]=%d, expected %d", K->name, ch, ks,
                              c, out[c], m);
            }
            const int a_zp = cxt_int(0, 255);
            cx_q8_pool_params pp = { -(int32_t)ks * a_zp, cxt_float(0.5f, 2.0f) / (float)ks, cxt_int(0, 255), 0, 255 };
            if (cxt_int(0, 1)) pp.ymin = pp.y_zp;
            K->avgpool(ch, ks, in, out, &pp);
            ck_assert_msg(cxt_buf_red_ok(&ob), "[%s] avgpool wrote outside", K->name);
            const cx_q8_params q = { pp.y_zp, pp.ymin, pp.ymax, NULL, 0, 0, 0.0f };
            for (size_t c = 0; c < ch; c++) {
                int32_t acc = pp.bias;
                for (size_t t = 0; t < ks; t++) acc += in[t][c];
                const uint8_t e = cx_q8_requant(acc, pp.scale, &q, 0);
                ck_assert_msg(out[c] == e, "[%s] avgpool ch=%zu ks=%zu: out[%zu]=%d, expected %d", K->name, ch, ks, c,
                              out[c], e);
            }
            cxt_buf_free(&ob);
            free(in);
            guarded_free(&ig);

            /* global average: rows x channels with a row stride */
            const size_t rows = (size_t)cxt_int(1, 200), stride = ch + (size_t)cxt_int(0, 9);
            guarded gg;
            uint8_t *x = guarded1(&gg, (rows - 1) * stride + ch);
            fill_u8(x, (rows - 1) * stride + ch, 0, 255);
            cxt_buf gb = obuf_new(ch);
            cxt_buf fb = cxt_buf_new(ch);
            cx_q8_pool_params gp = { -(int32_t)rows * a_zp, cxt_float(0.5f, 2.0f) / (float)rows, cxt_int(0, 255), 0,
                                     255 };
            K->gavgpool(rows, ch, stride, x, (uint8_t *)gb.p, &gp);
            K->gavgpool_f32(rows, ch, stride, x, fb.p, &gp);
            ck_assert(cxt_buf_red_ok(&gb) && cxt_buf_red_ok(&fb));
            const cx_q8_params gq = { gp.y_zp, gp.ymin, gp.ymax, NULL, 0, 0, 0.0f };
            for (size_t c = 0; c < ch; c++) {
                int32_t acc = gp.bias;
                for (size_t r = 0; r < rows; r++) acc += x[r * stride + c];
                const uint8_t e = cx_q8_requant(acc, gp.scale, &gq, 0);
                ck_assert_msg(((uint8_t *)gb.p)[c] == e, "[%s] gavgpool rows=%zu ch=%zu: out[%zu]=%d, expected %d",
                              K->name, rows, ch, c, ((uint8_t *)gb.p)[c], e);
                const float ef = (float)acc * gp.scale;
                ck_assert_msg(memcmp(&fb.p[c], &ef, 4) == 0, "[%s] gavgpool_f32: out[%zu]=%.9g, expected %.9g",
                              K->name, c, fb.p[c], ef);
            }
            cxt_buf_free(&gb);
            cxt_buf_free(&fb);
            guarded_free(&gg);
        }
    }
}
END_TEST

/* --------------------------------------------- dequantized elementwise */

/* The contract of kernels_q8.h written out independently of its helpers:
 * float products and sums in this order, then rint half to even (the test
 * is ISO C too, so nothing is fused). */
static uint8_t ref_quant(float v, float inv_y, int32_t y_zp)
{
    v = v * inv_y;
    const float lo = (float)(-y_zp), hi = (float)(255 - y_zp);
    if (!(v > lo)) v = lo;
    if (!(v < hi)) v = hi;
    const float r = nearbyintf(v);   /* default rounding: half to even */
    return (uint8_t)((int32_t)r + y_zp);
}

static uint8_t ref_dqadd(uint8_t a, uint8_t b, const cx_q8_dq_params *p)
{
    const float va = (float)((int32_t)a - p->a_zp) * p->a_scale;
    const float vb = (float)((int32_t)b - p->b_zp) * p->b_scale;
    float v = va + vb;
    if (v < p->lo) v = p->lo;
    return ref_quant(v, p->inv_y, p->y_zp);
}

static uint8_t ref_dqavg(size_t ks, const uint8_t *const *in, size_t c, const cx_q8_dq_params *p)
{
    float acc = 0.0f;
    for (size_t t = 0; t < ks; t++) {
        const float d = (float)((int32_t)in[t][c] - p->a_zp) * p->a_scale;
        acc = acc + d;
    }
    acc = acc * p->inv_n;
    return ref_quant(acc, p->inv_y, p->y_zp);
}

/* one dqadd + dqavg case on every table: inputs end at guard pages, outputs
 * poisoned with red zones, every byte compared */
static void dq_case(size_t n, size_t ks, const cx_q8_dq_params *p, const char *what)
{
    FOR_TABLES {
        const cx_q8_kernels *K = KT[ti];
        guarded ag, bg, tg;
        uint8_t *a = guarded1(&ag, n), *b = guarded1(&bg, n);
        fill_u8(a, n, 0, 255);
        fill_u8(b, n, 0, 255);
        cxt_buf ob = obuf_new(n);
        uint8_t *y = (uint8_t *)ob.p;
        K->dqadd(n, a, b, y, p);
        ck_assert_msg(cxt_buf_red_ok(&ob), "[%s] dqadd %s n=%zu wrote outside", K->name, what, n);
        for (size_t c = 0; c < n; c++) {
            const uint8_t e = ref_dqadd(a[c], b[c], p);
            ck_assert_msg(y[c] == e, "[%s] dqadd %s n=%zu: y[%zu]=%d, expected %d (a=%d b=%d; seed %llu)", K->name,
                          what, n, c, y[c], e, a[c], b[c], (unsigned long long)cxt_seed());
        }
        guarded_new(&tg, ks, n);
        const uint8_t **in = xmalloc(ks * sizeof *in);
        for (size_t t = 0; t < ks; t++) {
            uint8_t *row = guarded_row(&tg, t);
            fill_u8(row, n, 0, 255);
            in[t] = row;
        }
        cxt_buf_poison(&ob);
        K->dqavg(n, ks, in, y, p);
        ck_assert_msg(cxt_buf_red_ok(&ob), "[%s] dqavg %s n=%zu ks=%zu wrote outside", K->name, what, n, ks);
        for (size_t c = 0; c < n; c++) {
            const uint8_t e = ref_dqavg(ks, in, c, p);
            ck_assert_msg(y[c] == e, "[%s] dqavg %s n=%zu ks=%zu: y[%zu]=%d, expected %d (seed %llu)", K->name, what,
                          n, ks, c, y[c], e, (unsigned long long)cxt_seed());
        }
        free(in);
        cxt_buf_free(&ob);
        guarded_free(&tg);
        guarded_free(&ag);
        guarded_free(&bg);
    }
}

static cx_q8_dq_params dq_params(float sa, int32_t za, float sb, int32_t zb, bool relu, size_t ks, float sy,
                                 int32_t zy)
{
    cx_q8_dq_params p = { .a_scale = sa, .b_scale = sb, .a_zp = za, .b_zp = zb, .lo = relu ? 0.0f : -INFINITY,
                          .inv_n = 1.0f / (float)ks, .inv_y = 1.0f / sy, .y_zp = zy };
    return p;
}

START_TEST(test_dq_named)
{
    /* lengths around the 8- and 16-lane bodies and their scalar tails */
    const size_t ns[] = { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 257 };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        const size_t n = ns[i];
        /* typical: different scales and zero points, ReLU */
        cx_q8_dq_params p = dq_params(0.05f, 120, 0.031f, 7, true, 4, 0.06f, 3);
        dq_case(n, 4, &p, "relu");
        /* no ReLU, output zero point in the middle */
        p = dq_params(0.05f, 120, 0.031f, 7, false, 1, 0.04f, 128);
        dq_case(n, 1, &p, "no-relu");
        /* zero points at the ends of the range */
        p = dq_params(0.02f, 0, 0.02f, 255, false, 2, 0.03f, 255);
        dq_case(n, 2, &p, "zp-0-255");
        p = dq_params(0.02f, 255, 0.02f, 0, true, 9, 0.03f, 0);
        dq_case(n, 9, &p, "zp-255-0");
        /* ties: halves of integers everywhere, rint must go to even */
        p = dq_params(0.5f, 0, 0.5f, 1, false, 2, 1.0f, 100);
        dq_case(n, 2, &p, "ties");
        /* saturation: a tiny output scale clamps most values to 0 or 255 */
        p = dq_params(1.0f, 128, 1.0f, 128, false, 3, 0.01f, 128);
        dq_case(n, 3, &p, "saturate");
    }
}
END_TEST

START_TEST(test_dq_random)
{
    for (int r = 0; r < 60; r++) {
        const size_t n = (size_t)cxt_int(1, 700), ks = (size_t)cxt_int(1, 12);
        cx_q8_dq_params p = dq_params(cxt_float(0.001f, 0.2f), cxt_int(0, 255), cxt_float(0.001f, 0.2f),
                                      cxt_int(0, 255), cxt_int(0, 1), ks, cxt_float(0.002f, 0.3f), cxt_int(0, 255));
        if (cxt_int(0, 3) == 0) p.inv_n = 1.0f / (float)cxt_int(1, 30);   /* count_include_pad divisors */
        dq_case(n, ks, &p, "random");
    }
}
END_TEST

START_TEST(test_select)
{
    ck_assert_ptr_eq(cx_q8_kernels_by_name("scalar"), &cx_q8_kernels_scalar);
    ck_assert_ptr_null(cx_q8_kernels_by_name("sse9"));
    ck_assert_ptr_nonnull(cx_q8_kernels_by_name(NULL));
    ck_assert_ptr_eq(cx_q8_kernels_for(&cx_kernels_scalar), &cx_q8_kernels_scalar);
    const cx_q8_kernels *all[] = { &cx_q8_kernels_scalar, &cx_q8_kernels_avx2, &cx_q8_kernels_avx2exact,
                                   &cx_q8_kernels_avx512, &cx_q8_kernels_avx512vnni };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const cx_q8_kernels *k = all[i];
        ck_assert(k->name && k->wmax >= 64 && k->wmax <= 127);
        if (!cx_q8_kernels_available(k)) continue;
        ck_assert(k->gemm.mr >= 1 && k->gemm.nr >= 1 && k->gemm.kr == CX_Q8_KR);
        ck_assert(k->dwconv && k->maxpool && k->avgpool && k->gavgpool && k->gavgpool_f32 && k->dqadd && k->dqavg);
        ck_assert_ptr_eq(cx_q8_kernels_by_name(k->name), k);
    }
    const cx_q8_kernels *best = cx_q8_kernels_for(NULL);
    ck_assert(cx_q8_kernels_available(best));
    const cx_q8_kernels *KT[MAX_TABLES];
    const int nt = q8_tables(KT);
    printf("q8 tables under test:");
    for (int i = 0; i < nt; i++) printf(" %s", KT[i]->name);
    printf("\n");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("kernels_q8");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "requant_formula", test_requant_formula },
        { "pack_explicit", test_pack_explicit },
        { "igemm_k_tails", test_igemm_k_tails },
        { "igemm_k_unroll", test_igemm_k_unroll },
        { "igemm_k_large", test_igemm_k_large },
        { "igemm_taps", test_igemm_taps },
        { "igemm_mr", test_igemm_mr },
        { "igemm_nc", test_igemm_nc },
        { "igemm_strided", test_igemm_strided },
        { "igemm_residual", test_igemm_residual },
        { "igemm_clamp_zp", test_igemm_clamp_zp },
        { "igemm_ties", test_igemm_ties },
        { "igemm_saturation", test_igemm_saturation },
        { "igemm_random", test_igemm_random },
        { "igemm_float_free", test_igemm_float_free },
        { "dwconv_channels", test_dwconv_channels },
        { "dwconv_edges", test_dwconv_edges },
        { "dwconv_random", test_dwconv_random },
        { "pools", test_pools },
        { "dq_named", test_dq_named },
        { "dq_random", test_dq_random },
        { "select", test_select },
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
