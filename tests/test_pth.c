/* PyTorch checkpoint reader (src/io/pth.c, zip.c, pickle.c).
 * Fixtures: tests/data/pth/, written by tools/golden/make_pth_fixtures.py;
 * expected.txt holds the exact float32 bits each should read back as. */
#include "cxtest.h"
#include "io/checksum.h"
#include "io/pth.h"
#include "io/zip.h"
#include "io/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR "tests/data/pth/"

/* ------------------------------------------------------------------ helpers */

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repo root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    ck_assert(b != NULL);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

typedef struct exp_tensor {
    char name[128];
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t numel;
    uint32_t *bits;
} exp_tensor;

typedef struct exp_file {
    char name[64];
    bool is_error;
    int status;
    char text[160];
    size_t count;
    exp_tensor *t;
} exp_file;

static exp_file g_files[64];
static size_t g_nfiles;

static void load_expected(void)
{
    if (g_nfiles) return;
    FILE *f = fopen(DIR "expected.txt", "r");
    ck_assert_msg(f != NULL, "missing " DIR "expected.txt");
    char *line = NULL;
    size_t cap = 0;
    exp_file *cur = NULL;
    size_t ti = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        if (strncmp(line, "file ", 5) == 0) {
            ck_assert(g_nfiles < 64);
            cur = &g_files[g_nfiles++];
            memset(cur, 0, sizeof *cur);
            ck_assert_int_eq(sscanf(line + 5, "%63s %zu", cur->name, &cur->count), 2);
            cur->t = calloc(cur->count ? cur->count : 1, sizeof *cur->t);
            ti = 0;
        } else if (strncmp(line, "error ", 6) == 0) {
            ck_assert(g_nfiles < 64);
            exp_file *e = &g_files[g_nfiles++];
            memset(e, 0, sizeof *e);
            int off = 0;
            ck_assert_int_eq(sscanf(line + 6, "%63s %d %n", e->name, &e->status, &off), 2);
            snprintf(e->text, sizeof e->text, "%s", line + 6 + off);
            e->is_error = true;
            cur = NULL;
        } else if (strncmp(line, "t ", 2) == 0) {
            ck_assert(cur && ti < cur->count);
            exp_tensor *t = &cur->t[ti++];
            char *s = line + 2, *end;
            size_t nl = strcspn(s, " ");
            ck_assert(nl < sizeof t->name);
            memcpy(t->name, s, nl);
            t->name[nl] = '\0';
            s += nl;
            t->ndim = (int)strtol(s, &end, 10);
            s = end;
            t->numel = 1;
            for (int d = 0; d < t->ndim; d++) {
                t->shape[d] = strtoll(s, &end, 10);
                s = end;
                t->numel *= (size_t)t->shape[d];
            }
            t->bits = calloc(t->numel ? t->numel : 1, sizeof *t->bits);
            for (size_t i = 0; i < t->numel; i++) {
                t->bits[i] = (uint32_t)strtoul(s, &end, 16);
                ck_assert(end != s);
                s = end;
            }
        }
    }
    free(line);
    fclose(f);
    ck_assert(g_nfiles > 0);
}

static void check_against(const exp_file *e, const cx_tdict *d)
{
    ck_assert_msg(d->count == e->count, "%s: %zu tensors, expected %zu", e->name, d->count, e->count);
    for (size_t i = 0; i < e->count; i++) {
        const exp_tensor *t = &e->t[i];
        const cx_ftensor *g = &d->items[i];   /* order is the state_dict's */
        ck_assert_msg(strcmp(g->name, t->name) == 0, "%s: tensor %zu is '%s', expected '%s'", e->name, i, g->name,
                      t->name);
        ck_assert_msg(g->ndim == t->ndim, "%s/%s: ndim %d vs %d", e->name, t->name, g->ndim, t->ndim);
        for (int k = 0; k < t->ndim; k++) ck_assert_int_eq(g->shape[k], t->shape[k]);
        ck_assert_uint_eq(g->numel, t->numel);
        ck_assert(g->data != NULL);
        for (size_t k = 0; k < t->numel; k++) {
            uint32_t b;
            memcpy(&b, &g->data[k], 4);
            ck_assert_msg(b == t->bits[k], "%s/%s[%zu]: %08x, expected %08x", e->name, t->name, k, b, t->bits[k]);
        }
    }
}

/* A result is sane: OK with a well-formed dict, or an error with an empty
 * dict and a message. */
static void check_sane(cortex_status st, const cx_tdict *d, const char *err)
{
    if (st == CORTEX_OK) {
        for (size_t i = 0; i < d->count; i++) {
            const cx_ftensor *t = &d->items[i];
            size_t n = 1;
            ck_assert(t->ndim >= 0 && t->ndim <= CORTEX_MAX_DIMS);
            for (int k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
            ck_assert_uint_eq(n, t->numel);
            ck_assert(t->data != NULL && t->name != NULL);
            volatile float sink = 0;
            for (size_t k = 0; k < t->numel; k++) sink += t->data[k];   /* touch all: valgrind/ASan */
            (void)sink;
        }
    } else {
        ck_assert(st == CORTEX_ERR_FORMAT || st == CORTEX_ERR_CORRUPT || st == CORTEX_ERR_UNSUPPORTED ||
                  st == CORTEX_ERR_NOMEM);
        ck_assert_uint_eq(d->count, 0);
        ck_assert(d->items == NULL);
        ck_assert_msg(err[0] != '\0', "status %d without a message", st);
    }
}

/* Runs the reader on an exact-size heap copy so any over-read is caught. */
static cortex_status run_mem(const uint8_t *src, size_t n, cx_tdict *d, char *err, size_t errlen)
{
    uint8_t *b = malloc(n ? n : 1);
    ck_assert(b != NULL);
    if (n) memcpy(b, src, n);
    cortex_status st = cx_pth_read_memory(n ? b : NULL, n, d, err, errlen);
    free(b);
    return st;
}

/* ------------------------------------------------------------------ builders */

typedef struct bb { uint8_t *p; size_t n, cap; } bb;

static void bb_put(bb *b, const void *x, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert(b->p != NULL);
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
}
static void bb_u8(bb *b, unsigned v) { uint8_t x = (uint8_t)v; bb_put(b, &x, 1); }
static void bb_u16(bb *b, unsigned v) { bb_u8(b, v & 0xff); bb_u8(b, (v >> 8) & 0xff); }
static void bb_u32(bb *b, uint32_t v) { bb_u16(b, v & 0xffff); bb_u16(b, v >> 16); }
static void bb_str(bb *b, const char *s) { bb_put(b, s, strlen(s)); }
#define BL(b, lit) bb_put((b), (lit), sizeof(lit) - 1)   /* a literal, NULs included */

typedef struct zent { const char *name; const void *data; size_t size; } zent;

/* A plain stored zip (no data descriptors, no ZIP64). */
static bb make_zip(const zent *e, size_t n)
{
    bb z = { 0 };
    uint32_t *off = calloc(n, sizeof *off);
    for (size_t i = 0; i < n; i++) {
        off[i] = (uint32_t)z.n;
        bb_u32(&z, 0x04034b50); bb_u16(&z, 20); bb_u16(&z, 0); bb_u16(&z, 0);
        bb_u16(&z, 0); bb_u16(&z, 0x21); bb_u32(&z, cx_crc32(e[i].data, e[i].size, 0));
        bb_u32(&z, (uint32_t)e[i].size); bb_u32(&z, (uint32_t)e[i].size);
        bb_u16(&z, (unsigned)strlen(e[i].name)); bb_u16(&z, 0);
        bb_str(&z, e[i].name);
        bb_put(&z, e[i].data, e[i].size);
    }
    uint32_t cd = (uint32_t)z.n;
    for (size_t i = 0; i < n; i++) {
        bb_u32(&z, 0x02014b50); bb_u16(&z, 20); bb_u16(&z, 20); bb_u16(&z, 0); bb_u16(&z, 0);
        bb_u16(&z, 0); bb_u16(&z, 0x21); bb_u32(&z, cx_crc32(e[i].data, e[i].size, 0));
        bb_u32(&z, (uint32_t)e[i].size); bb_u32(&z, (uint32_t)e[i].size);
        bb_u16(&z, (unsigned)strlen(e[i].name)); bb_u16(&z, 0); bb_u16(&z, 0);
        bb_u16(&z, 0); bb_u16(&z, 0); bb_u32(&z, 0); bb_u32(&z, off[i]);
        bb_str(&z, e[i].name);
    }
    uint32_t cds = (uint32_t)z.n - cd;
    bb_u32(&z, 0x06054b50); bb_u16(&z, 0); bb_u16(&z, 0); bb_u16(&z, (unsigned)n); bb_u16(&z, (unsigned)n);
    bb_u32(&z, cds); bb_u32(&z, cd); bb_u16(&z, 0);
    free(off);
    return z;
}

/* pickle pieces */
static void pk_global(bb *p, const char *mod, const char *name)
{
    bb_u8(p, 'c'); bb_str(p, mod); bb_u8(p, '\n'); bb_str(p, name); bb_u8(p, '\n');
}
static void pk_ustr(bb *p, const char *s) { bb_u8(p, 'X'); bb_u32(p, (uint32_t)strlen(s)); bb_str(p, s); }
static void pk_int(bb *p, int32_t v) { bb_u8(p, 'J'); bb_u32(p, (uint32_t)v); }
static void pk_long(bb *p, uint64_t v)   /* LONG1, 8 bytes two's complement */
{
    bb_u8(p, 0x8a); bb_u8(p, 8); bb_u32(p, (uint32_t)v); bb_u32(p, (uint32_t)(v >> 32));
}
/* like pk_tensor, with 64-bit sizes and strides */
static void pk_tensor64(bb *p, int64_t numel, uint64_t off, int nd, const uint64_t *size, const uint64_t *stride)
{
    pk_global(p, "torch._utils", "_rebuild_tensor_v2");
    BL(p, "((");
    pk_ustr(p, "storage"); pk_global(p, "torch", "FloatStorage"); pk_ustr(p, "0"); pk_ustr(p, "cpu");
    pk_long(p, (uint64_t)numel);
    BL(p, "tQ");
    pk_long(p, off);
    bb_u8(p, '(');
    for (int i = 0; i < nd; i++) pk_long(p, size[i]);
    BL(p, "t(");
    for (int i = 0; i < nd; i++) pk_long(p, stride[i]);
    BL(p, "t\x89N)tR");   /* requires_grad False, backward_hooks None */
}

/* _rebuild_tensor_v2(('storage', <type>, key, 'cpu', numel), off, size, stride, False, OrderedDict()) */
static void pk_tensor(bb *p, const char *stype, const char *key, int64_t numel, int64_t off, int nd,
                      const int64_t *size, const int64_t *stride)
{
    pk_global(p, "torch._utils", "_rebuild_tensor_v2");
    bb_u8(p, '(');
    bb_u8(p, '(');
    pk_ustr(p, "storage"); pk_global(p, "torch", stype); pk_ustr(p, key); pk_ustr(p, "cpu"); pk_int(p, (int32_t)numel);
    bb_u8(p, 't');
    bb_u8(p, 'Q');
    pk_int(p, (int32_t)off);
    bb_u8(p, '(');
    for (int i = 0; i < nd; i++) pk_int(p, (int32_t)size[i]);
    bb_u8(p, 't');
    bb_u8(p, '(');
    for (int i = 0; i < nd; i++) pk_int(p, (int32_t)stride[i]);
    bb_u8(p, 't');
    bb_u8(p, 0x89);
    pk_global(p, "collections", "OrderedDict"); bb_u8(p, ')'); bb_u8(p, 'R');
    bb_u8(p, 't');
    bb_u8(p, 'R');
}

/* Runs a pickle body inside an archive that also holds data/0 (storage0 bytes). */
static cortex_status run_pickle(const bb *pkl, const void *storage0, size_t s0, cx_tdict *d, char *err, size_t n)
{
    zent e[2] = { { "arc/data.pkl", pkl->p, pkl->n }, { "arc/data/0", storage0, s0 } };
    bb z = make_zip(e, storage0 ? 2 : 1);
    cortex_status st = run_mem(z.p, z.n, d, err, n);
    check_sane(st, d, err);
    free(z.p);
    return st;
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_good_fixtures)
{
    load_expected();
    size_t ngood = 0;
    for (size_t i = 0; i < g_nfiles; i++) {
        const exp_file *e = &g_files[i];
        if (e->is_error) continue;
        char path[256], err[512];
        snprintf(path, sizeof path, DIR "%.63s", e->name);
        cx_tdict d;
        cortex_status st = cx_pth_read_file(path, &d, err, sizeof err);
        ck_assert_msg(st == CORTEX_OK, "%s: status %d: %s", e->name, st, err);
        check_against(e, &d);
        cx_tdict_free(&d);

        size_t n;
        uint8_t *b = slurp(path, &n);
        st = run_mem(b, n, &d, err, sizeof err);
        ck_assert_msg(st == CORTEX_OK, "%s (memory): status %d: %s", e->name, st, err);
        check_against(e, &d);
        cx_tdict_free(&d);
        free(b);
        ngood++;
    }
    ck_assert_uint_ge(ngood, 12);
}
END_TEST

START_TEST(test_error_fixtures)
{
    load_expected();
    size_t nerr = 0;
    for (size_t i = 0; i < g_nfiles; i++) {
        const exp_file *e = &g_files[i];
        if (!e->is_error) continue;
        char path[256], err[512];
        snprintf(path, sizeof path, DIR "%.63s", e->name);
        cx_tdict d;
        cortex_status st = cx_pth_read_file(path, &d, err, sizeof err);
        ck_assert_msg((int)st == e->status, "%s: status %d (%s), expected %d", e->name, st, err, e->status);
        ck_assert_msg(strstr(err, e->text) != NULL, "%s: message '%s' lacks '%s'", e->name, err, e->text);
        ck_assert_uint_eq(d.count, 0);
        ck_assert(d.items == NULL);
        nerr++;
    }
    ck_assert_uint_ge(nerr, 8);
}
END_TEST

START_TEST(test_file_errors)
{
    char err[256];
    cx_tdict d;
    ck_assert_int_eq(cx_pth_read_file(DIR "does-not-exist.pth", &d, err, sizeof err), CORTEX_ERR_IO);
    ck_assert(strstr(err, "does-not-exist") == NULL);   /* no path: the caller adds it */
    ck_assert_int_ne(cx_pth_read_file(DIR, &d, err, sizeof err), CORTEX_OK);
    ck_assert_int_eq(cx_pth_read_file("/dev/null", &d, err, sizeof err), CORTEX_ERR_IO);
    ck_assert(strstr(err, "regular") != NULL);
    ck_assert_uint_eq(d.count, 0);

    char tmp[] = "/tmp/cx_pth_XXXXXX";
    int fd = mkstemp(tmp);
    ck_assert(fd >= 0);
    ck_assert_int_eq(cx_pth_read_file(tmp, &d, err, sizeof err), CORTEX_ERR_FORMAT);   /* size 0 */
    ck_assert(write(fd, "hello, this is not a checkpoint\n", 32) == 32);
    close(fd);
    ck_assert_int_eq(cx_pth_read_file(tmp, &d, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert(strstr(err, "not a zip") != NULL);
    unlink(tmp);

    ck_assert_int_eq(cx_pth_read_memory(NULL, 0, &d, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_int_eq(cx_pth_read_memory("x", 1, NULL, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    /* err may be NULL */
    ck_assert_int_eq(cx_pth_read_memory("x", 1, &d, NULL, 0), CORTEX_ERR_FORMAT);
}
END_TEST

static const char *CORRUPT_SET[] = { "sd_f32.pth", "views.pth", "zip64.pth", "pyzip.pth", "proto4.pth",
                                     "sd_f16.pth", "scalar.pth", "param.pth" };

START_TEST(test_truncation)
{
    const char *name = CORRUPT_SET[_i];
    char path[256], err[512];
    snprintf(path, sizeof path, DIR "%.100s", name);
    size_t n;
    uint8_t *b = slurp(path, &n);
    size_t stride = n > 8192 ? n / 4096 : 1;
    for (size_t len = 0; len <= n; len += (len + stride > n && len < n) ? n - len : stride) {
        cx_tdict d;
        err[0] = '\0';
        cortex_status st = run_mem(b, len, &d, err, sizeof err);
        check_sane(st, &d, err);
        if (len < n) ck_assert_msg(st != CORTEX_OK, "%s cut to %zu of %zu bytes still loads", name, len, n);
        else ck_assert_int_eq(st, CORTEX_OK);
        cx_tdict_free(&d);
        if (len == n) break;
    }
    free(b);
}
END_TEST

START_TEST(test_byte_flips)
{
    const char *name = CORRUPT_SET[_i];
    char path[256], err[512];
    snprintf(path, sizeof path, DIR "%.100s", name);
    size_t n;
    uint8_t *b = slurp(path, &n);
    uint8_t *m = malloc(n);
    cxt_rng_init(cxt_seed() + (uint64_t)_i);
    static const uint8_t pats[] = { 0x01, 0x80, 0xff };
    size_t ok = 0, bad = 0;
    for (size_t pos = 0; pos < n; pos++) {
        for (int k = 0; k < 4; k++) {
            memcpy(m, b, n);
            uint8_t x = k < 3 ? pats[k] : (uint8_t)(cxt_u32() | 1);
            m[pos] ^= x;
            cx_tdict d;
            err[0] = '\0';
            cortex_status st = cx_pth_read_memory(m, n, &d, err, sizeof err);
            check_sane(st, &d, err);
            if (st == CORTEX_OK) ok++; else bad++;
            cx_tdict_free(&d);
        }
    }
    ck_assert_uint_gt(bad, 0);
    ck_assert_uint_gt(ok, 0);   /* flips in fields nothing checks (timestamps, attributes) still load */
    free(m);
    free(b);
}
END_TEST

/* Random multi-byte damage, a cheap stand-in for the fuzzer in every run. */
START_TEST(test_random_damage)
{
    const char *name = CORRUPT_SET[_i];
    char path[256], err[512];
    snprintf(path, sizeof path, DIR "%.100s", name);
    size_t n;
    uint8_t *b = slurp(path, &n);
    uint8_t *m = malloc(n);
    cxt_rng_init(cxt_seed() * 7 + (uint64_t)_i);
    for (int it = 0; it < 3000; it++) {
        memcpy(m, b, n);
        int flips = cxt_int(2, 12);
        for (int f = 0; f < flips; f++) {
            size_t pos = cxt_u32() % n;
            switch (cxt_int(0, 3)) {
            case 0: m[pos] = (uint8_t)cxt_u32(); break;
            case 1: m[pos] = 0; break;
            case 2: m[pos] = 0xff; break;
            default: m[pos] ^= (uint8_t)(1u << cxt_int(0, 7)); break;
            }
        }
        cx_tdict d;
        err[0] = '\0';
        cortex_status st = cx_pth_read_memory(m, n, &d, err, sizeof err);
        check_sane(st, &d, err);
        cx_tdict_free(&d);
    }
    free(m);
    free(b);
}
END_TEST

/* bitwise CRC-32 (the definition) for the table-driven one */
static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

START_TEST(test_crc)
{
    ck_assert_uint_eq(cx_crc32("123456789", 9, 0), 0xCBF43926u);   /* the standard check value */
    ck_assert_uint_eq(cx_crc32(NULL, 0, 0), 0);
    uint8_t buf[300];
    cxt_rng_init(cxt_seed());
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)cxt_u32();
    for (size_t n = 0; n <= sizeof buf; n++) {
        ck_assert_msg(cx_crc32(buf, n, 0) == crc32_bitwise(buf, n), "length %zu (seed %llu)", n,
                      (unsigned long long)cxt_seed());
        size_t h = n / 3;   /* chaining */
        ck_assert_uint_eq(cx_crc32(buf + h, n - h, cx_crc32(buf, h, 0)), crc32_bitwise(buf, n));
    }

    /* one flipped bit inside a tensor's data: refused, the entry named */
    size_t n;
    uint8_t *b = slurp(DIR "sd_f32.pth", &n);
    cx_zip z;
    char err[512];
    ck_assert_int_eq(cx_zip_open(&z, b, n, err, sizeof err), CORTEX_OK);
    const cx_zip_entry *e = NULL;
    for (size_t i = 0; i < z.count && !e; i++)
        if (z.entries[i].size >= 16 && memmem(z.entries[i].name, z.entries[i].name_len, "/data/", 6)) e = &z.entries[i];
    ck_assert(e != NULL);
    ck_assert_int_eq(cx_zip_check_crc(&z, e, err, sizeof err), CORTEX_OK);
    const size_t at = (size_t)(e->data_off + e->size / 2);
    cx_zip_close(&z);
    cx_tdict d;
    ck_assert_int_eq(cx_pth_read_memory(b, n, &d, err, sizeof err), CORTEX_OK);
    cx_tdict_free(&d);
    b[at] ^= 0x04;
    ck_assert_int_eq(cx_pth_read_memory(b, n, &d, err, sizeof err), CORTEX_ERR_CORRUPT);
    ck_assert_msg(strstr(err, "CRC-32") && strstr(err, "/data/"), "message: %s", err);
    free(b);
}
END_TEST

START_TEST(test_zip_structure)
{
    size_t n;
    uint8_t *b = slurp(DIR "sd_f32.pth", &n);
    cx_zip z;
    char err[512];
    ck_assert_int_eq(cx_zip_open(&z, b, n, err, sizeof err), CORTEX_OK);
    ck_assert_uint_ge(z.count, 3);
    const cx_zip_entry *e = cx_zip_find(&z, "sd_f32/version", 14);
    ck_assert(e != NULL);
    ck_assert(cx_zip_find(&z, "sd_f32/nope", 11) == NULL);
    /* the first central directory entry: flip its method to deflate, then its
     * encryption bit, then its local header offset */
    size_t cd = (size_t)(e - z.entries), cdoff = 0;
    (void)cd;
    for (size_t i = n - 22; i > 0; i--)
        if (memcmp(b + i, "PK\x05\x06", 4) == 0) {
            cdoff = (size_t)b[i + 16] | ((size_t)b[i + 17] << 8) | ((size_t)b[i + 18] << 16);
            break;
        }
    cx_zip_close(&z);
    ck_assert(cdoff > 0 && memcmp(b + cdoff, "PK\x01\x02", 4) == 0);
    cx_tdict d;

    uint8_t *m = malloc(n);
    memcpy(m, b, n);
    m[cdoff + 10] = 8;   /* method */
    ck_assert_int_eq(cx_pth_read_memory(m, n, &d, err, sizeof err), CORTEX_ERR_UNSUPPORTED);
    ck_assert(strstr(err, "compressed") != NULL);

    memcpy(m, b, n);
    m[cdoff + 8] |= 1;   /* encrypted */
    ck_assert_int_eq(cx_pth_read_memory(m, n, &d, err, sizeof err), CORTEX_ERR_UNSUPPORTED);
    ck_assert(strstr(err, "encrypted") != NULL);

    memcpy(m, b, n);
    m[cdoff + 42] = 0x10;   /* local header offset: into the middle of nothing */
    ck_assert_int_eq(cx_pth_read_memory(m, n, &d, err, sizeof err), CORTEX_ERR_CORRUPT);

    memcpy(m, b, n);
    m[cdoff + 24] ^= 0x40;  /* uncompressed size lies (csize still the old one) */
    ck_assert_int_eq(cx_pth_read_memory(m, n, &d, err, sizeof err), CORTEX_ERR_CORRUPT);

    memcpy(m, b, n);
    m[cdoff + 20] = m[cdoff + 24] = 0xf0; m[cdoff + 21] = m[cdoff + 25] = 0xff;   /* both sizes lie, hugely */
    ck_assert_int_eq(cx_pth_read_memory(m, n, &d, err, sizeof err), CORTEX_ERR_CORRUPT);
    free(m);
    free(b);

    /* two central entries for one local header: overlap, or duplicate name */
    const char pk[] = "\x80\x02}.";
    zent e2[2] = { { "a/data.pkl", pk, 4 }, { "a/data.pkl", pk, 4 } };
    bb zz = make_zip(e2, 2);
    ck_assert_int_eq(run_mem(zz.p, zz.n, &d, err, sizeof err), CORTEX_ERR_CORRUPT);
    ck_assert(strstr(err, "duplicate") != NULL);
    free(zz.p);

    zent e3[1] = { { "a/data.pkl", pk, 4 } };
    zz = make_zip(e3, 1);   /* minimal archive with an empty dict: an empty state_dict */
    ck_assert_int_eq(run_mem(zz.p, zz.n, &d, err, sizeof err), CORTEX_OK);
    ck_assert_uint_eq(d.count, 0);
    cx_tdict_free(&d);
    free(zz.p);

    zent e4[1] = { { "a/other.pkl", pk, 4 } };
    zz = make_zip(e4, 1);
    ck_assert_int_eq(run_mem(zz.p, zz.n, &d, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert(strstr(err, "data.pkl") != NULL);
    free(zz.p);
}
END_TEST

static void expect_pickle(const bb *p, const void *s0, size_t s0n, cortex_status want, const char *text)
{
    cx_tdict d;
    char err[512] = "";
    cortex_status st = run_pickle(p, s0, s0n, &d, err, sizeof err);
    ck_assert_msg(st == want, "status %d (%s), expected %d", st, err, want);
    if (text) ck_assert_msg(strstr(err, text) != NULL, "message '%s' lacks '%s'", err, text);
    cx_tdict_free(&d);
}

START_TEST(test_pickle_errors)
{
    float s0[12];
    for (int i = 0; i < 12; i++) s0[i] = (float)i;
    int64_t sz2[2] = { 3, 4 }, st2[2] = { 4, 1 };
    bb p = { 0 };

    /* baseline: {'w': tensor(3x4)} loads; then a transposed view of it */
    BL(&p, "\x80\x02}"); pk_ustr(&p, "w"); pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, sz2, st2); BL(&p, "s.");
    expect_pickle(&p, s0, sizeof s0, CORTEX_OK, NULL);
    p.n = 0;
    int64_t szt[2] = { 4, 3 }, stt[2] = { 1, 4 };
    BL(&p, "\x80\x02}"); pk_ustr(&p, "w"); pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, szt, stt); BL(&p, "s.");
    {
        cx_tdict d;
        char err[256];
        ck_assert_int_eq(run_pickle(&p, s0, sizeof s0, &d, err, sizeof err), CORTEX_OK);
        ck_assert_uint_eq(d.count, 1);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) ck_assert(d.items[0].data[i * 3 + j] == (float)(j * 4 + i));
        cx_tdict_free(&d);
    }

#define CASE(build, s, want, text) do { p.n = 0; build; expect_pickle(&p, s0, s, want, text); } while (0)
    /* view outside the storage, negative stride, storage larger than its entry */
    int64_t big[2] = { 3, 5 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, big, st2),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_CORRUPT, "storage of 12");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 1, 2, sz2, st2),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_CORRUPT, "element 12");
    int64_t negs[2] = { 4, -1 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, sz2, negs),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_CORRUPT, "negative");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, sz2, st2),
          BL(&p, "s.")), sizeof s0 - 4, CORTEX_ERR_CORRUPT, "holds 44 bytes");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "7", 12, 0, 2, sz2, st2),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_CORRUPT, "no data/7");
    int64_t nine[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 9, nine, nine),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_UNSUPPORTED, "dimensions");
    /* zero strides: a broadcast view is fine; an enormous one hits the output cap */
    int64_t bsz[2] = { 5, 4 }, bst[2] = { 0, 1 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, bsz, bst),
          BL(&p, "s.")), sizeof s0, CORTEX_OK, NULL);
    int64_t hsz[2] = { 1 << 30, 1 << 20 }, hst[2] = { 0, 0 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "FloatStorage", "0", 12, 0, 2, hsz, hst),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_UNSUPPORTED, "stride 0");
    /* unknown storage type, unknown global, opcodes */
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor(&p, "QInt8Storage", "0", 12, 0, 2, sz2, st2),
          BL(&p, "s.")), sizeof s0, CORTEX_ERR_UNSUPPORTED, "QInt8Storage");
    /* 64-bit sizes: element count and view extent overflow, offset past the end */
    uint64_t hu[2] = { 1ull << 40, 1ull << 40 }, hs[2] = { 1, 1 }, ou[1] = { 5 }, os_[1] = { 1ull << 62 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor64(&p, 12, 0, 2, hu, hs), BL(&p, "s.")), sizeof s0,
         CORTEX_ERR_CORRUPT, "element count overflows");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor64(&p, 12, 0, 1, ou, os_), BL(&p, "s.")), sizeof s0,
         CORTEX_ERR_CORRUPT, "extent overflows");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor64(&p, 12, ~0ull >> 1, 1, ou, hs), BL(&p, "s.")),
         sizeof s0, CORTEX_ERR_CORRUPT, NULL);
    uint64_t one[1] = { 12 };
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor64(&p, 1ll << 61, 0, 1, one, hs), BL(&p, "s.")),
         sizeof s0, CORTEX_ERR_CORRUPT, "claims");
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "w"), pk_tensor64(&p, 12, 0, 1, one, hs), BL(&p, "s.")), sizeof s0,
         CORTEX_OK, NULL);
    /* OrderedDict built from a list of pairs (older picklers) */
    CASE((BL(&p, "\x80\x02"), pk_global(&p, "collections", "OrderedDict"), BL(&p, "(](X\x01\x00\x00\x00"),
          BL(&p, "aK\x01tatR.")), 0, CORTEX_ERR_FORMAT, "'a' is an int");
    CASE((BL(&p, "\x80\x02"), pk_global(&p, "collections", "OrderedDict"), BL(&p, "K\x01]\x86R.")), 0,
         CORTEX_ERR_CORRUPT, "at most 1 argument");
    CASE((BL(&p, "\x80\x02"), pk_global(&p, "torch.storage", "_load_from_bytes"), BL(&p, ".")), 0,
         CORTEX_ERR_UNSUPPORTED, "_load_from_bytes");
    CASE((BL(&p, "\x80\x02"), pk_global(&p, "os", "system"), BL(&p, ".")), 0, CORTEX_ERR_UNSUPPORTED,
         "'os.system'");
    CASE(BL(&p, "\x80\x02}\xff."), 0, CORTEX_ERR_CORRUPT, "invalid pickle opcode 0xff");
    CASE(BL(&p, "\x80\x02}i."), 0, CORTEX_ERR_UNSUPPORTED, "INST");
    CASE(BL(&p, "\x80\x06}."), 0, CORTEX_ERR_UNSUPPORTED, "protocol 6");
    CASE(BL(&p, "\x80\x02t."), 0, CORTEX_ERR_CORRUPT, "MARK missing");
    CASE(BL(&p, "\x80\x02(s."), 0, CORTEX_ERR_CORRUPT, "underflow");
    CASE(BL(&p, "\x80\x02h\x05."), 0, CORTEX_ERR_CORRUPT, "memo entry 5");
    CASE(BL(&p, "\x80\x02}"), 0, CORTEX_ERR_CORRUPT, "without STOP");
    CASE(BL(&p, "\x80\x02}X\xff\xff\x00\x00" "ab"), 0, CORTEX_ERR_CORRUPT, "truncated");
    CASE(BL(&p, "\x80\x02}r\xff\xff\xff\xff."), 0, CORTEX_ERR_UNSUPPORTED, "memo index");
    CASE(BL(&p, "\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), 0, CORTEX_ERR_UNSUPPORTED, "64 bits");
    CASE(BL(&p, "\x80\x02]."), 0, CORTEX_ERR_FORMAT, "list");
    CASE(BL(&p, "\x80\x02}K\x01K\x02s."), 0, CORTEX_ERR_FORMAT, "key 0 is an int");
    CASE(BL(&p, "\x80\x02}X\x01\x00\x00\x00w]q\x00h\x00" "as."), 0, CORTEX_ERR_FORMAT, "'w' is a list");
    CASE(BL(&p, "\x80\x02]q\x00h\x00" "a."), 0, CORTEX_ERR_FORMAT, "list");   /* a list inside itself */
    CASE(BL(&p, "\x80\x02K\x01}b."), 0, CORTEX_ERR_UNSUPPORTED, "BUILD on an int");
    CASE(BL(&p, "\x80\x02K\x01)R."), 0, CORTEX_ERR_CORRUPT, "REDUCE on an int");
    /* nesting and stack limits */
    p.n = 0;
    BL(&p, "\x80\x02");
    for (unsigned i = 0; i <= CX_PK_MAX_MARKS; i++) bb_u8(&p, '(');
    bb_u8(&p, '.');
    expect_pickle(&p, NULL, 0, CORTEX_ERR_UNSUPPORTED, "nested MARKs");
    p.n = 0;
    BL(&p, "\x80\x02N");
    for (unsigned i = 0; i <= CX_PK_MAX_STACK; i++) bb_u8(&p, '2');   /* DUP */
    bb_u8(&p, '.');
    expect_pickle(&p, NULL, 0, CORTEX_ERR_UNSUPPORTED, "stack deeper");
    /* OrderedDict BUILD with _metadata, a wrapper without tensors, non-float skipped */
    CASE((BL(&p, "\x80\x02"), pk_global(&p, "collections", "OrderedDict"), BL(&p, ")R"), pk_ustr(&p, "i"),
          pk_tensor(&p, "LongStorage", "0", 6, 0, 1, &sz2[0], &st2[1]), BL(&p, "s}"), pk_ustr(&p, "_metadata"),
          BL(&p, "}sb.")), sizeof s0, CORTEX_OK, NULL);
    CASE((BL(&p, "\x80\x02}"), pk_ustr(&p, "state_dict"), BL(&p, "}s"), pk_ustr(&p, "epoch"),
          BL(&p, "K\x03s.")), 0, CORTEX_OK, NULL);
#undef CASE
    free(p.p);
}
END_TEST

/* A larger tensor through every conversion and a strided path, checking values. */
START_TEST(test_large_views)
{
    const size_t R = 300, C = 257;
    uint16_t *h = malloc(R * C * 2);
    for (size_t i = 0; i < R * C; i++) h[i] = (uint16_t)(0x3c00 + (i % 1024));   /* 1.0 .. 2.0 in f16 */
    float *f = malloc(R * C * 4);
    for (size_t i = 0; i < R * C; i++) f[i] = (float)i;
    const char *types[2] = { "HalfStorage", "FloatStorage" };
    const void *data[2] = { h, f };
    size_t bytes[2] = { R * C * 2, R * C * 4 };
    for (int k = 0; k < 2; k++) {
        bb p = { 0 };
        int64_t sz[2] = { (int64_t)C, (int64_t)R }, st[2] = { 1, (int64_t)C };   /* transposed */
        BL(&p, "\x80\x02}"); pk_ustr(&p, "t");
        pk_tensor(&p, types[k], "0", (int64_t)(R * C), 0, 2, sz, st);
        BL(&p, "s");
        int64_t sz1[2] = { (int64_t)R, (int64_t)C }, st1[2] = { (int64_t)C, 1 };
        pk_ustr(&p, "c"); pk_tensor(&p, types[k], "0", (int64_t)(R * C), 0, 2, sz1, st1);
        BL(&p, "s.");
        cx_tdict d;
        char err[256];
        ck_assert_int_eq(run_pickle(&p, data[k], bytes[k], &d, err, sizeof err), CORTEX_OK);
        ck_assert_uint_eq(d.count, 2);
        const float *t = d.items[0].data, *c = d.items[1].data;
        for (size_t i = 0; i < C; i++)
            for (size_t j = 0; j < R; j += 7) {
                float want = k == 0 ? cx_f16_to_f32(h[j * C + i]) : f[j * C + i];
                ck_assert(t[i * R + j] == want);
                ck_assert(c[j * C + i] == want);
            }
        cx_tdict_free(&d);
        free(p.p);
    }
    free(h);
    free(f);
}
END_TEST

static Suite *pth_suite(void)
{
    Suite *s = suite_create("pth");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_good_fixtures);
    tcase_add_test(tc, test_error_fixtures);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_crc);
    tcase_add_test(tc, test_zip_structure);
    tcase_add_test(tc, test_pickle_errors);
    tcase_add_test(tc, test_large_views);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("robustness");
    tcase_set_timeout(tr, 600);
    int nset = (int)(sizeof CORRUPT_SET / sizeof CORRUPT_SET[0]);
    tcase_add_loop_test(tr, test_truncation, 0, nset);
    tcase_add_loop_test(tr, test_byte_flips, 0, nset);
    tcase_add_loop_test(tr, test_random_damage, 0, nset);
    suite_add_tcase(s, tr);
    return s;
}

CXT_MAIN(pth_suite)
