/* .npy tests: files written by NumPy (tests/data/npy/, made with np.save and
 * numpy.lib.format.write_array) read back exactly; our writer's bytes equal
 * NumPy's for the same arrays; a hand-written header corpus covers the parser
 * (quote styles, key order, whitespace, 1-tuples, trailing commas) and every
 * rejection with its status and message; truncations and byte flips never
 * crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cxtest.h"
#include "io/npy.h"

#define ERRLEN 512
#define DATA "tests/data/npy/"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repo root)", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* reads a file both ways (path and memory) and checks they agree */
static void read_both(const char *path, cx_npy *a)
{
    char err[ERRLEN] = "";
    ck_assert_msg(cx_npy_read_file(path, a, err, sizeof err) == CORTEX_OK, "%s: %s", path, err);
    size_t n;
    unsigned char *b = slurp(path, &n);
    cx_npy m;
    ck_assert_msg(cx_npy_read_memory(b, n, &m, err, sizeof err) == CORTEX_OK, "%s: %s", path, err);
    ck_assert_int_eq(m.ndim, a->ndim);
    for (int i = 0; i < a->ndim; i++) ck_assert(m.shape[i] == a->shape[i]);
    ck_assert_uint_eq(m.numel, a->numel);
    ck_assert(memcmp(m.data, a->data, a->numel * 4) == 0);
    ck_assert_uint_eq((uintptr_t)a->data % 64, 0);
    cx_npy_free(&m);
    free(b);
}

START_TEST(test_numpy_files)
{
    cx_npy a;
    read_both(DATA "f4_2x3.npy", &a);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert(a.shape[0] == 2 && a.shape[1] == 3);
    for (int i = 0; i < 6; i++) ck_assert(a.data[i] == (float)i * 0.5f - 1.0f);
    cx_npy_free(&a);
    ck_assert_ptr_null(a.data);

    /* the same array written as format 2.0 and 3.0 */
    read_both(DATA "f4_v2.npy", &a);
    ck_assert(a.ndim == 2 && a.shape[1] == 3 && a.data[5] == 1.5f);
    cx_npy_free(&a);
    read_both(DATA "f4_v3.npy", &a);
    ck_assert(a.ndim == 2 && a.shape[1] == 3 && a.data[5] == 1.5f);
    cx_npy_free(&a);

    read_both(DATA "f4_scalar.npy", &a);
    ck_assert_int_eq(a.ndim, 0);
    ck_assert_uint_eq(a.numel, 1);
    ck_assert(a.data[0] == 3.25f);
    cx_npy_free(&a);

    read_both(DATA "f4_1d.npy", &a);
    ck_assert(a.ndim == 1 && a.shape[0] == 5 && a.numel == 5);
    ck_assert(a.data[0] == 1.5f && a.data[1] == -2.0f && a.data[2] == 3e-8f && a.data[3] > 1e38f && a.data[4] == 7.0f);
    cx_npy_free(&a);

    read_both(DATA "f4_empty.npy", &a);
    ck_assert(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.numel == 0);
    cx_npy_free(&a);

    read_both(DATA "f4_4d.npy", &a);
    ck_assert(a.ndim == 4 && a.shape[0] == 2 && a.shape[1] == 1 && a.shape[2] == 3 && a.shape[3] == 2);
    for (int i = 0; i < 12; i++) ck_assert(a.data[i] == (float)i);
    cx_npy_free(&a);
}
END_TEST

START_TEST(test_numpy_rejects)
{
    static const struct { const char *file; cortex_status st; const char *msg; } cases[] = {
        { DATA "f8.npy", CORTEX_ERR_UNSUPPORTED, "dtype '<f8' not supported: need float32 ('<f4')" },
        { DATA "f4_be.npy", CORTEX_ERR_UNSUPPORTED, "dtype '>f4' not supported" },
        { DATA "f4_fortran.npy", CORTEX_ERR_UNSUPPORTED, "fortran_order True" },
        { DATA "does_not_exist.npy", CORTEX_ERR_IO, "No such file" },
        { DATA, CORTEX_ERR_IO, "not a regular file" },
        { "Makefile", CORTEX_ERR_FORMAT, "not a .npy file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[ERRLEN] = "";
        cx_npy a;
        cortex_status st = cx_npy_read_file(cases[i].file, &a, err, sizeof err);
        ck_assert_msg(st == cases[i].st, "%s: status %d: %s", cases[i].file, st, err);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "%s: '%s' lacks '%s'", cases[i].file, err, cases[i].msg);
        ck_assert_ptr_null(a.data);
    }
}
END_TEST

START_TEST(test_writer_matches_numpy)
{
    char dir[] = "/tmp/cx_test_npy.XXXXXX", path[96], err[ERRLEN] = "";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.npy", dir);
    const char *files[] = { DATA "f4_2x3.npy", DATA "f4_scalar.npy", DATA "f4_1d.npy", DATA "f4_empty.npy", DATA "f4_4d.npy" };
    for (size_t i = 0; i < 5; i++) {
        cx_npy a;
        read_both(files[i], &a);
        ck_assert_msg(cx_npy_write_file(path, a.data, a.ndim, a.shape, err, sizeof err) == CORTEX_OK, "%s", err);
        size_t n1, n2;
        unsigned char *b1 = slurp(files[i], &n1), *b2 = slurp(path, &n2);
        ck_assert_msg(n1 == n2 && memcmp(b1, b2, n1) == 0, "%s: our bytes differ from NumPy's", files[i]);
        free(b1);
        free(b2);
        cx_npy_free(&a);
    }
    /* random shapes round trip; the header is a multiple of 64 ending in '\n' */
    for (int it = 0; it < 50; it++) {
        int ndim = cxt_int(0, CORTEX_MAX_DIMS);
        int64_t shape[CORTEX_MAX_DIMS];
        size_t numel = 1;
        for (int d = 0; d < ndim; d++) {
            shape[d] = cxt_int(0, ndim > 4 ? 2 : 6);
            numel *= (size_t)shape[d];
        }
        float *x = malloc((numel ? numel : 1) * sizeof(float));
        cxt_fill(x, numel, -100, 100);
        ck_assert_msg(cx_npy_write_file(path, x, ndim, shape, err, sizeof err) == CORTEX_OK, "%s", err);
        size_t n;
        unsigned char *b = slurp(path, &n);
        size_t hl = (size_t)b[8] | (size_t)b[9] << 8;
        ck_assert_uint_eq((10 + hl) % 64, 0);
        ck_assert_int_eq(b[10 + hl - 1], '\n');
        free(b);
        cx_npy a;
        ck_assert_msg(cx_npy_read_file(path, &a, err, sizeof err) == CORTEX_OK, "%s", err);
        ck_assert_int_eq(a.ndim, ndim);
        for (int d = 0; d < ndim; d++) ck_assert(a.shape[d] == shape[d]);
        ck_assert_uint_eq(a.numel, numel);
        ck_assert(numel == 0 || memcmp(a.data, x, numel * 4) == 0);
        cx_npy_free(&a);
        free(x);
    }
    /* writer argument checks */
    int64_t neg[1] = { -1 }, big[2] = { INT64_MAX, 3 };
    float v = 1;
    ck_assert_int_eq(cx_npy_write_file(path, &v, 9, big, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_npy_write_file(path, &v, 1, neg, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_npy_write_file(path, &v, 2, big, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_npy_write_file(path, NULL, 1, big + 1, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    snprintf(path, sizeof path, "%s/missing/out.npy", dir);
    ck_assert_int_eq(cx_npy_write_file(path, &v, 0, NULL, err, sizeof err), CORTEX_ERR_IO);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    ck_assert_int_eq(system(path), 0);
}
END_TEST

/* builds a .npy in memory: version major, header text (padded with the given
 * text as is), then ndata floats 0,1,2,... */
static unsigned char *mk(int major, const char *header, size_t ndata, size_t *size)
{
    size_t hl = strlen(header), pre = major == 1 ? 10 : 12;
    *size = pre + hl + ndata * 4;
    unsigned char *b = malloc(*size);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + pre, header, hl);
    for (size_t i = 0; i < ndata; i++) {
        float f = (float)i;
        memcpy(b + pre + hl + 4 * i, &f, 4);
    }
    return b;
}

static void expect_hdr(int major, const char *header, size_t ndata, cortex_status st, const char *msg,
                       int ndim, const int64_t *shape)
{
    size_t n;
    unsigned char *b = mk(major, header, ndata, &n);
    char err[ERRLEN] = "";
    cx_npy a;
    cortex_status got = cx_npy_read_memory(b, n, &a, err, sizeof err);
    ck_assert_msg(got == st, "header %s: status %d, expected %d: %s", header, got, st, err);
    if (st == CORTEX_OK) {
        ck_assert_int_eq(a.ndim, ndim);
        for (int i = 0; i < ndim; i++) ck_assert(a.shape[i] == shape[i]);
        for (size_t i = 0; i < a.numel; i++) ck_assert(a.data[i] == (float)i);
    } else {
        ck_assert_ptr_null(a.data);
        if (msg) ck_assert_msg(strstr(err, msg) != NULL, "header %s: '%s' lacks '%s'", header, err, msg);
    }
    cx_npy_free(&a);
    free(b);
}

START_TEST(test_header_parser)
{
    const int64_t s23[2] = { 2, 3 }, s3[1] = { 3 }, s0[1] = { 0 };
    /* accepted spellings */
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 6, CORTEX_OK, NULL, 2, s23);
    expect_hdr(1, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}", 6, CORTEX_OK, NULL, 2, s23);
    expect_hdr(1, "  {\t'fortran_order' : False ,\n 'descr' : '<f4' , 'shape' : ( 2 , 3 , ) }    \n", 6, CORTEX_OK, NULL, 2, s23);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 3, CORTEX_OK, NULL, 1, s3);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }", 3, CORTEX_OK, NULL, 1, s3);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 1, CORTEX_OK, NULL, 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 0, CORTEX_OK, NULL, 1, s0);
    expect_hdr(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 6, CORTEX_OK, NULL, 2, s23);
    expect_hdr(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 6, CORTEX_OK, NULL, 2, s23);
    /* rejected */
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 3, CORTEX_ERR_CORRUPT, "not a tuple", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, }", 1, CORTEX_ERR_CORRUPT, "missing key 'shape'", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "missing key 'fortran_order'", 0, NULL);
    expect_hdr(1, "{}", 0, CORTEX_ERR_CORRUPT, "missing key 'descr'", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", 3, CORTEX_ERR_CORRUPT, "unexpected key 'extra'", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "duplicate key 'descr'", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", 3, CORTEX_ERR_CORRUPT, "negative", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 3, CORTEX_ERR_CORRUPT, "too large", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", 3, CORTEX_ERR_CORRUPT, "overflows", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}", 3, CORTEX_ERR_CORRUPT, "overflows", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 1, CORTEX_ERR_UNSUPPORTED, "more than 8", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0, 4611686018427387904)}", 0, CORTEX_OK, NULL, 3, (const int64_t[]){ 3, 0, 4611686018427387904LL });
    expect_hdr(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "bad header", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", 3, CORTEX_ERR_CORRUPT, "after the header dict", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "True or False", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "True or False", 0, NULL);
    expect_hdr(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "expected ','", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}", 3, CORTEX_ERR_CORRUPT, "expected ',' or ')'", 0, NULL);
    expect_hdr(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_UNSUPPORTED, "dtype '=f4'", 0, NULL);
    expect_hdr(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_UNSUPPORTED, "dtype '<i4'", 0, NULL);
    expect_hdr(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_UNSUPPORTED, "structured", 0, NULL);
    expect_hdr(1, "{'descr': 'a\\b', 'fortran_order': False, 'shape': (3,)}", 3, CORTEX_ERR_CORRUPT, "unsupported character", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 5, CORTEX_ERR_CORRUPT, "truncated: shape needs 24 bytes of data, file has 20", 0, NULL);
    expect_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 7, CORTEX_ERR_CORRUPT, "4 trailing bytes", 0, NULL);
    expect_hdr(1, "[1, 2]", 0, CORTEX_ERR_CORRUPT, "expected '{'", 0, NULL);
    expect_hdr(1, "", 0, CORTEX_ERR_CORRUPT, "expected '{'", 0, NULL);

    /* preamble */
    size_t n;
    unsigned char *b = mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 3, &n);
    char err[ERRLEN];
    cx_npy a;
    b[6] = 4;
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err, "version 4.0") != NULL, "%s", err);
    b[6] = 1;
    b[7] = 1;
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_UNSUPPORTED);
    b[7] = 0;
    b[8] = 0xff;  /* header length 255 + ... past the end */
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_CORRUPT);
    ck_assert_msg(strstr(err, "truncated: header says") != NULL, "%s", err);
    b[1] = 'n';
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_int_eq(cx_npy_read_memory(b, 0, &a, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_int_eq(cx_npy_read_memory(NULL, 0, &a, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_int_eq(cx_npy_read_memory(b, n, NULL, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    free(b);
    /* version 2 with a header longer than 64 KiB */
    b = mk(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 3, &n);
    b[8] = 0x71; b[9] = 0x11; b[10] = 0x01; b[11] = 0;   /* 70001 */
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_CORRUPT);
    ck_assert_msg(strstr(err, "exceeds") != NULL, "%s", err);
    b[10] = 0xff; b[11] = 0xff;
    ck_assert_int_eq(cx_npy_read_memory(b, n, &a, err, sizeof err), CORTEX_ERR_CORRUPT);
    free(b);
    /* a 64 KiB header is fine */
    char *big = malloc(65536 + 1);
    const char *d = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}";
    memset(big, ' ', 65536);
    memcpy(big, d, strlen(d));
    big[65535] = '\n';
    big[65536] = '\0';
    expect_hdr(2, big, 3, CORTEX_OK, NULL, 1, s3);
    free(big);
}
END_TEST

START_TEST(test_truncations_and_flips)
{
    size_t n;
    unsigned char *b = slurp(DATA "f4_2x3.npy", &n);
    char err[ERRLEN];
    cx_npy a;
    for (size_t len = 0; len < n; len++) {
        unsigned char *c = malloc(len ? len : 1);   /* exact size for ASan */
        memcpy(c, b, len);
        cortex_status st = cx_npy_read_memory(c, len, &a, err, sizeof err);
        ck_assert_msg(st == (len < 6 ? CORTEX_ERR_FORMAT : CORTEX_ERR_CORRUPT), "length %zu: %d %s", len, st, err);
        ck_assert_ptr_null(a.data);
        free(c);
    }
    /* single-byte changes anywhere: never a crash, and a flip in the data is read as such */
    size_t data_off = 10 + ((size_t)b[8] | (size_t)b[9] << 8);
    unsigned char *c = malloc(n);
    for (size_t pos = 0; pos < n; pos++) {
        for (int v = 0; v < 256; v += 17) {
            memcpy(c, b, n);
            c[pos] = (unsigned char)v;
            cortex_status st = cx_npy_read_memory(c, n, &a, err, sizeof err);
            if (pos >= data_off) {
                ck_assert_int_eq(st, CORTEX_OK);
                ck_assert(memcmp(a.data, c + data_off, n - data_off) == 0);
            } else if (st != CORTEX_OK) {
                ck_assert_ptr_null(a.data);
                ck_assert(err[0] != '\0');
            }
            cx_npy_free(&a);
        }
    }
    free(c);
    free(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("npy");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "numpy_files", test_numpy_files },
        { "numpy_rejects", test_numpy_rejects },
        { "writer_matches_numpy", test_writer_matches_numpy },
        { "header_parser", test_header_parser },
        { "truncations_and_flips", test_truncations_and_flips },
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, tests[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

CXT_MAIN(make_suite)
