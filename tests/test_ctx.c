/* .ctx reader/writer tests: round trips over every metadata type and dtype
 * (memory and file paths), exhaustive single-byte corruption and truncation of
 * a small valid file, and hand-crafted hostile headers, each with the status
 * and message it must produce. Crafted files get a correct header checksum
 * (recomputed here from docs/format.md) so the field checks behind it run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "support/cxtest.h"
#include "io/ctx.h"
#include "io/checksum.h"

#define ERRLEN 512

/* ---------------------------------------------------------------- helpers */

static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void wr64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

/* header checksum per docs/format.md: bytes [0,88) then [96, data_offset) */
static void fix_header(unsigned char *b)
{
    uint64_t doff = rd64(b + 72);
    wr64(b + 88, cx_checksum64(b + 96, (size_t)doff - 96, cx_checksum64(b, 88, 0)));
}

/* offset of tensor entry i in the table */
static size_t tensor_entry(const unsigned char *b, size_t i)
{
    size_t pos = (size_t)rd64(b + 56);
    for (size_t k = 0; k < i; k++) pos += 40 + 8 * (size_t)rd32(b + pos + 8) + PAD8(rd32(b + pos));
    return pos;
}

/* offset of metadata entry i */
static size_t meta_entry(const unsigned char *b, size_t i)
{
    size_t pos = 96;
    for (size_t k = 0; k < i; k++) {
        uint32_t kl = rd32(b + pos), type = rd32(b + pos + 4);
        pos += 8 + PAD8(kl);
        switch (type) {
        case 0: case 1: pos += 8; break;
        case 2: pos += 8 + PAD8(rd64(b + pos)); break;
        case 3: { uint64_t n = rd64(b + pos); pos += 8; for (uint64_t j = 0; j < n; j++) pos += 8 + PAD8(rd64(b + pos)); break; }
        case 4: pos += 8 + PAD8(rd64(b + pos) * 4); break;
        }
    }
    return pos;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

static const cx_dtype ALL_DTYPES[] = { CX_F32, CX_F16, CX_BF16, CX_F64, CX_I8, CX_U8, CX_I32, CX_I64 };

/* A writer with every metadata type and a tensor of every dtype, plus a 0-d
 * and a zero-size tensor. Tensor k's bytes are (k*37 + i*11 + 5) & 0xff. */
static cx_ctx_writer *make_full_writer(void)
{
    cx_ctx_writer *w = cx_ctx_writer_new();
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "arch", "resnet18"), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_f64(w, "alpha", 0.125), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, "num_classes", 1000), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, "negative", INT64_MIN), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "empty", ""), CORTEX_OK);
    const char *labels[] = { "tench", "goldfish", "", "great white shark, \"quoted\"\n" };
    ck_assert_int_eq(cx_ctx_writer_set_str_array(w, "labels", 4, labels), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_str_array(w, "no_labels", 0, NULL), CORTEX_OK);
    const float sc[] = { 0.5f, -1.25f, 3e-8f };
    ck_assert_int_eq(cx_ctx_writer_set_f32_array(w, "quant.scale", 3, sc), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_f32_array(w, "quant.empty", 0, NULL), CORTEX_OK);
    for (int k = 0; k < 8; k++) {
        int64_t shape[3] = { 3, k + 1, 5 };
        size_t nb = 15 * (size_t)(k + 1) * cx_dtype_size(ALL_DTYPES[k]);
        unsigned char *d = xmalloc(nb);
        for (size_t i = 0; i < nb; i++) d[i] = (unsigned char)(k * 37 + i * 11 + 5);
        char name[64];
        snprintf(name, sizeof name, "layer%d.0.conv1.weight", k);
        ck_assert_int_eq(cx_ctx_writer_add_tensor(w, name, ALL_DTYPES[k], 3, shape, d), CORTEX_OK);
        free(d);
    }
    float scalar = 42.5f;
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "scalar", CX_F32, 0, NULL, &scalar), CORTEX_OK);
    int64_t zshape[3] = { 3, 0, 2 };
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "empty.weight", CX_F32, 3, zshape, NULL), CORTEX_OK);
    return w;
}

static void check_full(const cx_ctx_file *f)
{
    ck_assert_uint_eq(cx_ctx_version(f), 1);
    ck_assert_str_eq(cx_ctx_get_str(f, "arch"), "resnet18");
    ck_assert_str_eq(cx_ctx_get_str(f, "empty"), "");
    ck_assert_ptr_null(cx_ctx_get_str(f, "alpha"));          /* wrong type */
    ck_assert_ptr_null(cx_ctx_get_str(f, "missing"));
    double a;
    ck_assert_int_eq(cx_ctx_get_f64(f, "alpha", &a), CORTEX_OK);
    ck_assert(a == 0.125);
    ck_assert_int_ne(cx_ctx_get_f64(f, "num_classes", &a), CORTEX_OK);
    int64_t v;
    ck_assert_int_eq(cx_ctx_get_i64(f, "num_classes", &v), CORTEX_OK);
    ck_assert_int_eq(v, 1000);
    ck_assert_int_eq(cx_ctx_get_i64(f, "negative", &v), CORTEX_OK);
    ck_assert(v == INT64_MIN);
    size_t n;
    const char *const *items;
    ck_assert_int_eq(cx_ctx_get_str_array(f, "labels", &n, &items), CORTEX_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(items[0], "tench");
    ck_assert_str_eq(items[1], "goldfish");
    ck_assert_str_eq(items[2], "");
    ck_assert_str_eq(items[3], "great white shark, \"quoted\"\n");
    ck_assert_int_eq(cx_ctx_get_str_array(f, "no_labels", &n, &items), CORTEX_OK);
    ck_assert_uint_eq(n, 0);
    const float *fl;
    ck_assert_int_eq(cx_ctx_get_f32_array(f, "quant.scale", &n, &fl), CORTEX_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(fl[0] == 0.5f && fl[1] == -1.25f && fl[2] == 3e-8f);
    ck_assert_int_eq(cx_ctx_get_f32_array(f, "quant.empty", &n, &fl), CORTEX_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(cx_ctx_meta_count(f), 9);
    cx_meta_type t;
    ck_assert_str_eq(cx_ctx_meta_key(f, 0, &t), "arch");
    ck_assert_int_eq(t, CX_META_STR);
    ck_assert_str_eq(cx_ctx_meta_key(f, 5, &t), "labels");
    ck_assert_int_eq(t, CX_META_STR_ARRAY);
    ck_assert_ptr_null(cx_ctx_meta_key(f, 9, &t));

    ck_assert_uint_eq(cx_ctx_tensor_count(f), 10);
    for (int k = 0; k < 8; k++) {
        char name[64];
        snprintf(name, sizeof name, "layer%d.0.conv1.weight", k);
        const cx_ctx_tensor *ts = cx_ctx_find(f, name);
        ck_assert_ptr_nonnull(ts);
        ck_assert_ptr_eq(ts, cx_ctx_tensor_at(f, (size_t)k));
        ck_assert_str_eq(ts->name, name);
        ck_assert_int_eq(ts->dtype, ALL_DTYPES[k]);
        ck_assert_int_eq(ts->ndim, 3);
        ck_assert(ts->shape[0] == 3 && ts->shape[1] == k + 1 && ts->shape[2] == 5);
        ck_assert_uint_eq(ts->numel, 15 * (size_t)(k + 1));
        ck_assert_uint_eq(ts->nbytes, ts->numel * cx_dtype_size(ALL_DTYPES[k]));
        ck_assert_uint_eq((uintptr_t)ts->data % 64, 0);
        const unsigned char *d = ts->data;
        for (size_t i = 0; i < ts->nbytes; i++) ck_assert_uint_eq(d[i], (unsigned char)(k * 37 + i * 11 + 5));
    }
    const cx_ctx_tensor *s = cx_ctx_find(f, "scalar");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->ndim, 0);
    ck_assert_uint_eq(s->numel, 1);
    ck_assert_uint_eq(s->nbytes, 4);
    ck_assert_uint_eq((uintptr_t)s->data % 64, 0);
    ck_assert(*(const float *)s->data == 42.5f);
    const cx_ctx_tensor *z = cx_ctx_find(f, "empty.weight");
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(z->numel, 0);
    ck_assert_uint_eq(z->nbytes, 0);
    ck_assert(z->shape[1] == 0);
    ck_assert_ptr_null(cx_ctx_find(f, "layer0.0.conv1"));
    ck_assert_ptr_null(cx_ctx_tensor_at(f, 10));
}

static void to_mem(cx_ctx_writer *w, unsigned char **buf, size_t *size)
{
    char err[ERRLEN] = "";
    void *p;
    ck_assert_msg(cx_ctx_writer_to_memory(w, &p, size, err, sizeof err) == CORTEX_OK, "%s", err);
    *buf = p;
}

/* open a buffer, expect status st and (if non-NULL) a substring of the message */
static void expect(const unsigned char *buf, size_t size, cortex_status st, const char *msg)
{
    char err[ERRLEN] = "";
    cx_ctx_file *f = (cx_ctx_file *)1;
    cortex_status got = cx_ctx_open_memory(buf, size, &f, err, sizeof err);
    ck_assert_msg(got == st, "expected status %d (%s), got %d: %s", st, msg ? msg : "", got, err);
    if (st != CORTEX_OK) {
        ck_assert_ptr_null(f);
        ck_assert_msg(err[0] != '\0', "empty error message");
        if (msg) ck_assert_msg(strstr(err, msg) != NULL, "message '%s' lacks '%s'", err, msg);
    }
    cx_ctx_close(f);
}

/* a small valid file: two metadata entries, three f32 tensors */
static void small_file(unsigned char **buf, size_t *size)
{
    cx_ctx_writer *w = cx_ctx_writer_new();
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "arch", "tiny"), CORTEX_OK);
    const char *labels[] = { "a", "bc" };
    ck_assert_int_eq(cx_ctx_writer_set_str_array(w, "labels", 2, labels), CORTEX_OK);
    float d[12];
    for (int i = 0; i < 12; i++) d[i] = (float)i - 3.5f;
    int64_t s1[2] = { 3, 4 }, s2[1] = { 5 }, s3[4] = { 1, 1, 1, 2 };
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "conv.weight", CX_F32, 2, s1, d), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "conv.bias", CX_F32, 1, s2, d), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "fc.weight", CX_F32, 4, s3, d + 3), CORTEX_OK);
    to_mem(w, buf, size);
    cx_ctx_writer_free(w);
}

/* ---------------------------------------------------------------- round trips */

START_TEST(test_roundtrip_memory)
{
    cx_ctx_writer *w = make_full_writer();
    unsigned char *buf;
    size_t size;
    to_mem(w, &buf, &size);
    cx_ctx_writer_free(w);
    ck_assert_uint_eq((uintptr_t)buf % 64, 0);
    char err[ERRLEN] = "";
    cx_ctx_file *f;
    ck_assert_msg(cx_ctx_open_memory(buf, size, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    check_full(f);
    /* in place: tensor data points into the caller's buffer */
    const cx_ctx_tensor *t = cx_ctx_tensor_at(f, 0);
    ck_assert((const unsigned char *)t->data > buf && (const unsigned char *)t->data < buf + size);
    cx_ctx_release_pages(f);   /* no-op for memory */
    cx_ctx_close(f);

    /* a misaligned copy still gives aligned tensor pointers */
    unsigned char *mis = xmalloc(size + 3);
    memcpy(mis + 3, buf, size);
    ck_assert_msg(cx_ctx_open_memory(mis + 3, size, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    check_full(f);
    cx_ctx_close(f);
    free(mis);

    /* writing the same content twice gives identical bytes */
    w = make_full_writer();
    unsigned char *buf2;
    size_t size2;
    to_mem(w, &buf2, &size2);
    cx_ctx_writer_free(w);
    ck_assert_uint_eq(size, size2);
    ck_assert(memcmp(buf, buf2, size) == 0);
    free(buf2);
    free(buf);
}
END_TEST

static char g_dir[64];

static void make_dir(void)
{
    strcpy(g_dir, "/tmp/cx_test_ctx.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static int dir_entries(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

START_TEST(test_roundtrip_file)
{
    make_dir();
    char path[128], err[ERRLEN] = "";
    snprintf(path, sizeof path, "%s/model.ctx", g_dir);
    cx_ctx_writer *w = make_full_writer();
    ck_assert_msg(cx_ctx_writer_save(w, path, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_int_eq(dir_entries(g_dir), 1);   /* no temp file left */
    /* overwrite an existing file */
    ck_assert_msg(cx_ctx_writer_save(w, path, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_int_eq(dir_entries(g_dir), 1);
    cx_ctx_writer_free(w);

    cx_ctx_file *f;
    ck_assert_msg(cx_ctx_open_file(path, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    check_full(f);
    cx_ctx_release_pages(f);
    check_full(f);             /* pages fault back in from the file */
    cx_ctx_close(f);

    /* the file is byte-identical to the memory serialisation */
    w = make_full_writer();
    unsigned char *buf;
    size_t size;
    to_mem(w, &buf, &size);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    unsigned char *fb = xmalloc(size + 1);
    ck_assert_uint_eq(fread(fb, 1, size + 1, fp), size);
    fclose(fp);
    ck_assert(memcmp(fb, buf, size) == 0);
    free(fb);
    free(buf);

    /* errors: unwritable target, missing file, directory, empty file */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.ctx", g_dir);
    ck_assert_int_eq(cx_ctx_writer_save(w, bad, err, sizeof err), CORTEX_ERR_IO);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
    cx_ctx_writer_free(w);
    ck_assert_int_eq(cx_ctx_open_file(bad, &f, err, sizeof err), CORTEX_ERR_IO);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
    ck_assert_int_eq(cx_ctx_open_file(g_dir, &f, err, sizeof err), CORTEX_ERR_IO);
    char empty[128];
    snprintf(empty, sizeof empty, "%s/empty.ctx", g_dir);
    fp = fopen(empty, "wb");
    fclose(fp);
    ck_assert_int_eq(cx_ctx_open_file(empty, &f, err, sizeof err), CORTEX_ERR_FORMAT);
    snprintf(empty, sizeof empty, "%s/text.ctx", g_dir);
    fp = fopen(empty, "wb");
    fputs("hello, this is not a model\n", fp);
    fclose(fp);
    ck_assert_int_eq(cx_ctx_open_file(empty, &f, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_msg(strstr(err, "not a .ctx file") != NULL, "%s", err);

    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_writer_replace_and_reject)
{
    cx_ctx_writer *w = cx_ctx_writer_new();
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "arch", "a"), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "arch", "resnet50"), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, "x", 1), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_set_f64(w, "x", 2.5), CORTEX_OK);   /* type may change */
    /* rejected: bad keys, names, shapes, dtypes, duplicates */
    char longname[4098];
    memset(longname, 'a', 4097);
    longname[4097] = '\0';
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, "", 1), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, NULL, 1), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_set_i64(w, longname, 1), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_set_str(w, "s", NULL), CORTEX_ERR_INVALID_ARG);
    float x[4] = { 1, 2, 3, 4 };
    int64_t sh[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 4 }, neg[2] = { 2, -2 };
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, 9, sh, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, -1, sh, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, 2, neg, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", (cx_dtype)99, 1, sh + 8, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "", CX_F32, 1, sh + 8, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, longname, CX_F32, 1, sh + 8, x), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, 1, sh + 8, NULL), CORTEX_ERR_INVALID_ARG);
    int64_t huge[2] = { INT64_MAX, 4 };
    ck_assert_int_ne(cx_ctx_writer_add_tensor(w, "t", CX_F32, 2, huge, x), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, 1, sh + 8, x), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "t", CX_F32, 1, sh + 8, x), CORTEX_ERR_INVALID_ARG);
    memset(longname, 'b', 4096);
    longname[4096] = '\0';
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, longname, CX_F32, 1, sh + 8, x), CORTEX_OK);  /* 4096 is fine */

    unsigned char *buf;
    size_t size;
    to_mem(w, &buf, &size);
    cx_ctx_writer_free(w);
    cx_ctx_file *f;
    char err[ERRLEN] = "";
    ck_assert_msg(cx_ctx_open_memory(buf, size, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_uint_eq(cx_ctx_meta_count(f), 2);
    ck_assert_str_eq(cx_ctx_get_str(f, "arch"), "resnet50");
    double d;
    ck_assert_int_eq(cx_ctx_get_f64(f, "x", &d), CORTEX_OK);
    ck_assert(d == 2.5);
    ck_assert_ptr_nonnull(cx_ctx_find(f, longname));
    cx_ctx_close(f);
    free(buf);

    /* an empty writer makes a valid empty file */
    w = cx_ctx_writer_new();
    to_mem(w, &buf, &size);
    cx_ctx_writer_free(w);
    ck_assert_msg(cx_ctx_open_memory(buf, size, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_uint_eq(cx_ctx_tensor_count(f), 0);
    ck_assert_uint_eq(cx_ctx_meta_count(f), 0);
    cx_ctx_close(f);
    free(buf);
}
END_TEST

START_TEST(test_many_tensors)
{
    enum { N = 3000 };
    cx_ctx_writer *w = cx_ctx_writer_new();
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.%d.bn.weight", i / 7, i % 7);
        int64_t shape[1] = { i % 5 };
        float v[5] = { (float)i, (float)i, (float)i, (float)i, (float)i };
        ck_assert_int_eq(cx_ctx_writer_add_tensor(w, name, CX_F32, 1, shape, v), CORTEX_OK);
    }
    unsigned char *buf;
    size_t size;
    to_mem(w, &buf, &size);
    cx_ctx_writer_free(w);
    cx_ctx_file *f;
    char err[ERRLEN] = "";
    ck_assert_msg(cx_ctx_open_memory(buf, size, &f, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert_uint_eq(cx_ctx_tensor_count(f), N);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.%d.bn.weight", i / 7, i % 7);
        const cx_ctx_tensor *t = cx_ctx_find(f, name);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_eq(t, cx_ctx_tensor_at(f, (size_t)i));
        ck_assert_uint_eq((uintptr_t)t->data % 64, 0);
        ck_assert_uint_eq(t->numel, (size_t)(i % 5));
        for (size_t k = 0; k < t->numel; k++) ck_assert(((const float *)t->data)[k] == (float)i);
    }
    cx_ctx_close(f);
    free(buf);
}
END_TEST

/* ---------------------------------------------------------------- corruption */

START_TEST(test_every_byte_flip)
{
    unsigned char *buf;
    size_t size;
    small_file(&buf, &size);
    size_t doff = (size_t)rd64(buf + 72);
    /* which bytes are tensor data (the rest of the data section is padding) */
    char *owner = xmalloc(size);
    memset(owner, -1, size);
    for (size_t i = 0; i < 3; i++) {
        size_t e = tensor_entry(buf, i);
        size_t off = (size_t)rd64(buf + e + 16), nb = (size_t)rd64(buf + e + 24);
        for (size_t k = off; k < off + nb; k++) owner[k] = (char)i;
    }
    const char *names[3] = { "conv.weight", "conv.bias", "fc.weight" };
    static const unsigned char flips[] = { 0x01, 0x80, 0xff, 0x10 };
    unsigned char *c = xmalloc(size);
    int ok_padding = 0;
    for (size_t pos = 0; pos < size; pos++) {
        for (size_t fi = 0; fi < sizeof flips; fi++) {
            memcpy(c, buf, size);
            c[pos] ^= flips[fi];
            char err[ERRLEN] = "";
            cx_ctx_file *f = NULL;
            cortex_status st = cx_ctx_open_memory(c, size, &f, err, sizeof err);
            if (pos < doff) {
                ck_assert_msg(st != CORTEX_OK, "flip 0x%02x at header byte %zu accepted", flips[fi], pos);
                if (pos < 4) ck_assert_int_eq(st, CORTEX_ERR_FORMAT);
                else if (pos >= 8) ck_assert_msg(st == CORTEX_ERR_CORRUPT, "byte %zu: %d %s", pos, st, err);
            } else if (owner[pos] >= 0) {
                ck_assert_msg(st == CORTEX_ERR_CORRUPT, "flip at data byte %zu: %d %s", pos, st, err);
                char want[96];
                snprintf(want, sizeof want, "tensor '%s': checksum mismatch", names[(int)owner[pos]]);
                ck_assert_msg(strstr(err, want) != NULL, "byte %zu: '%s'", pos, err);
            } else {
                ck_assert_msg(st == CORTEX_OK, "flip in padding byte %zu rejected: %s", pos, err);
                ok_padding++;
            }
            if (st != CORTEX_OK) ck_assert_ptr_null(f);
            cx_ctx_close(f);
        }
    }
    ck_assert_int_gt(ok_padding, 0);
    free(c);
    free(owner);
    free(buf);
}
END_TEST

START_TEST(test_data_flips_sampled)
{
    /* a larger file: sampled flips across big tensors */
    cx_ctx_writer *w = cx_ctx_writer_new();
    size_t n = 100000;
    float *d = xmalloc(n * sizeof(float));
    cxt_fill(d, n, -1, 1);
    int64_t s[2] = { 250, 400 };
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "layer1.0.conv1.weight", CX_F32, 2, s, d), CORTEX_OK);
    ck_assert_int_eq(cx_ctx_writer_add_tensor(w, "layer1.0.conv2.weight", CX_F32, 2, s, d), CORTEX_OK);
    free(d);
    unsigned char *buf;
    size_t size;
    to_mem(w, &buf, &size);
    cx_ctx_writer_free(w);
    size_t e1 = tensor_entry(buf, 1), off1 = (size_t)rd64(buf + e1 + 16);
    for (int k = 0; k < 300; k++) {
        size_t pos = (size_t)rd64(buf + 72) + (size_t)cxt_u32() % (size - (size_t)rd64(buf + 72));
        if (pos >= off1 - 64 && pos < off1) continue;     /* the padding, if any */
        unsigned char bit = (unsigned char)(1u << (cxt_u32() % 8));
        buf[pos] ^= bit;
        expect(buf, size, CORTEX_ERR_CORRUPT, pos < off1 ? "tensor 'layer1.0.conv1.weight': checksum mismatch"
                                                         : "tensor 'layer1.0.conv2.weight': checksum mismatch");
        buf[pos] ^= bit;
    }
    /* two flips in words that go to the same lane are still caught */
    size_t p0 = off1 + 8;
    buf[p0] ^= 1;
    buf[p0 + 8 * 4] ^= 1;
    expect(buf, size, CORTEX_ERR_CORRUPT, "checksum mismatch");
    free(buf);
}
END_TEST

START_TEST(test_truncation_every_length)
{
    unsigned char *buf;
    size_t size;
    small_file(&buf, &size);
    for (size_t len = 0; len < size; len++) {
        unsigned char *c = xmalloc(len);   /* exact size: ASan catches over-reads */
        memcpy(c, buf, len);
        char err[ERRLEN] = "";
        cx_ctx_file *f = NULL;
        cortex_status st = cx_ctx_open_memory(c, len, &f, err, sizeof err);
        ck_assert_msg(st == (len < 4 ? CORTEX_ERR_FORMAT : CORTEX_ERR_CORRUPT), "length %zu: %d %s", len, st, err);
        if (len >= 96) ck_assert_msg(strstr(err, "truncated") != NULL, "length %zu: %s", len, err);
        ck_assert_ptr_null(f);
        free(c);
    }
    /* appended bytes */
    unsigned char *c = xmalloc(size + 5);
    memcpy(c, buf, size);
    memset(c + size, 0, 5);
    expect(c, size + 5, CORTEX_ERR_CORRUPT, "5 trailing bytes");
    free(c);
    free(buf);
}
END_TEST

/* ---------------------------------------------------------------- hostile values */

typedef void (*mutator)(unsigned char *b, size_t *size);

static void hostile(mutator m, cortex_status st, const char *msg)
{
    unsigned char *buf;
    size_t size;
    small_file(&buf, &size);
    unsigned char *c = xmalloc(size + 4096);
    memcpy(c, buf, size);
    m(c, &size);
    expect(c, size, st, msg);
    free(c);
    free(buf);
}

#define T0 (tensor_entry(b, 0))
#define T1 (tensor_entry(b, 1))

static void m_magic(unsigned char *b, size_t *n) { (void)n; memcpy(b, "GGUF", 4); }
static void m_version2(unsigned char *b, size_t *n) { (void)n; wr32(b + 4, 2); fix_header(b); }
static void m_version_huge(unsigned char *b, size_t *n) { (void)n; wr32(b + 4, 0xffffffffu); }
static void m_version0(unsigned char *b, size_t *n) { (void)n; wr32(b + 4, 0); fix_header(b); }
static void m_hdr_size(unsigned char *b, size_t *n) { (void)n; wr32(b + 8, 128); fix_header(b); }
static void m_align(unsigned char *b, size_t *n) { (void)n; wr32(b + 12, 32); fix_header(b); }
static void m_file_size(unsigned char *b, size_t *n) { (void)n; wr64(b + 16, rd64(b + 16) + 64); fix_header(b); }
static void m_meta_count_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + 24, UINT64_MAX / 2); fix_header(b); }
static void m_meta_count_more(unsigned char *b, size_t *n) { (void)n; wr64(b + 24, rd64(b + 24) + 1); fix_header(b); }
static void m_meta_count_less(unsigned char *b, size_t *n) { (void)n; wr64(b + 24, rd64(b + 24) - 1); fix_header(b); }
static void m_meta_off(unsigned char *b, size_t *n) { (void)n; wr64(b + 32, 104); fix_header(b); }
static void m_meta_size_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + 40, UINT64_MAX - 50); fix_header(b); }
static void m_tensor_count_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + 48, (uint64_t)1 << 62); fix_header(b); }
static void m_tensor_count_more(unsigned char *b, size_t *n) { (void)n; wr64(b + 48, rd64(b + 48) + 1); fix_header(b); }
static void m_table_size_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + 64, (uint64_t)1 << 40); fix_header(b); }
static void m_table_size_past(unsigned char *b, size_t *n) { wr64(b + 64, *n); fix_header(b); }
static void m_data_off(unsigned char *b, size_t *n) { (void)n; wr64(b + 72, rd64(b + 72) + 64); fix_header(b); }
static void m_flags(unsigned char *b, size_t *n) { (void)n; wr64(b + 80, 1); fix_header(b); }
static void m_header_ck(unsigned char *b, size_t *n) { (void)n; b[88] ^= 1; }
static void m_offset_past_eof(unsigned char *b, size_t *n) { wr64(b + T0 + 16, (*n + 64) & ~(uint64_t)63); fix_header(b); }
static void m_offset_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + T0 + 16, UINT64_MAX & ~(uint64_t)63); fix_header(b); }
static void m_offset_misaligned(unsigned char *b, size_t *n) { (void)n; wr64(b + T0 + 16, rd64(b + T0 + 16) + 4); fix_header(b); }
static void m_offset_in_header(unsigned char *b, size_t *n) { (void)n; wr64(b + T0 + 16, 0); fix_header(b); }
static void m_overlap(unsigned char *b, size_t *n)
{
    (void)n;
    /* tensor 1 (5 floats) starts inside tensor 0 (12 floats) */
    wr64(b + T1 + 16, rd64(b + T0 + 16));
    fix_header(b);
}
static void m_size_overflow(unsigned char *b, size_t *n)
{
    (void)n;
    size_t e = T0;   /* 2-d: dims 2^62 x 2^62 */
    wr64(b + e + 40, (uint64_t)1 << 62);
    wr64(b + e + 48, (uint64_t)1 << 62);
    fix_header(b);
}
static void m_size_overflow_bytes(unsigned char *b, size_t *n)
{
    (void)n;
    size_t e = T0;   /* numel fits, numel*4 doesn't */
    wr64(b + e + 40, (uint64_t)1 << 31);
    wr64(b + e + 48, (uint64_t)1 << 31);
    fix_header(b);
}
static void m_nbytes_mismatch(unsigned char *b, size_t *n) { (void)n; wr64(b + T0 + 24, 44); fix_header(b); }
static void m_negative_dim(unsigned char *b, size_t *n) { (void)n; wr64(b + T0 + 40, (uint64_t)-3); fix_header(b); }
static void m_dup_name(unsigned char *b, size_t *n)
{
    (void)n;  /* tensor 0 "conv.weight" (11 bytes, 16 with padding) renamed "conv.bias" */
    size_t e0 = T0;
    wr32(b + e0, 9);
    memcpy(b + e0 + 40 + 8 * 2, "conv.bias\0\0\0\0\0\0\0", 16);
    fix_header(b);
}
static void m_dup_key(unsigned char *b, size_t *n)
{
    (void)n;  /* "labels" -> "arch\0\0" with key length 4 */
    size_t e = meta_entry(b, 1);
    wr32(b + e, 4);
    memcpy(b + e + 8, "arch\0\0\0\0", 8);
    fix_header(b);
}
static void m_ndim9(unsigned char *b, size_t *n) { (void)n; wr32(b + T0 + 8, 9); fix_header(b); }
static void m_ndim_huge(unsigned char *b, size_t *n) { (void)n; wr32(b + T0 + 8, 0xffffffffu); fix_header(b); }
static void m_dtype(unsigned char *b, size_t *n) { (void)n; wr32(b + T0 + 4, 99); fix_header(b); }
static void m_tensor_flags(unsigned char *b, size_t *n) { (void)n; wr32(b + T0 + 12, 1); fix_header(b); }
static void m_name_nul(unsigned char *b, size_t *n) { (void)n; b[T0 + 40 + 16 + 2] = 0; fix_header(b); }
static void m_name_len0(unsigned char *b, size_t *n) { (void)n; wr32(b + T0, 0); fix_header(b); }
static void m_name_len_huge(unsigned char *b, size_t *n) { (void)n; wr32(b + T0, 5000); fix_header(b); }
static void m_name_padding(unsigned char *b, size_t *n) { (void)n; b[T0 + 40 + 16 + 11] = 'x'; fix_header(b); }
static void m_key_len_huge(unsigned char *b, size_t *n) { (void)n; wr32(b + 96, 0xfffffff0u); fix_header(b); }
static void m_meta_type(unsigned char *b, size_t *n) { (void)n; wr32(b + 96 + 4, 7); fix_header(b); }
static void m_str_len_huge(unsigned char *b, size_t *n) { (void)n; wr64(b + 96 + 8 + 8, UINT64_MAX); fix_header(b); }
static void m_str_len_past(unsigned char *b, size_t *n) { (void)n; wr64(b + 96 + 8 + 8, 4000); fix_header(b); }
static void m_str_nul(unsigned char *b, size_t *n) { (void)n; b[96 + 8 + 8 + 8 + 1] = 0; fix_header(b); }
static void m_array_count_huge(unsigned char *b, size_t *n)
{
    (void)n;
    size_t e = meta_entry(b, 1);
    wr64(b + e + 16, (uint64_t)1 << 60);
    fix_header(b);
}
static void m_tensor_ck(unsigned char *b, size_t *n) { (void)n; b[T1 + 32] ^= 0x40; fix_header(b); }
static void m_table_padding(unsigned char *b, size_t *n)
{
    (void)n;  /* a nonzero byte between the table end and the data offset */
    size_t tend = (size_t)(rd64(b + 56) + rd64(b + 64));
    ck_assert_uint_lt(tend, rd64(b + 72));
    b[tend] = 1;
    fix_header(b);
}

START_TEST(test_hostile_values)
{
    static const struct { mutator m; cortex_status st; const char *msg; } cases[] = {
        { m_magic, CORTEX_ERR_FORMAT, "not a .ctx file" },
        { m_version2, CORTEX_ERR_UNSUPPORTED, "version 2, this build reads 1" },
        { m_version_huge, CORTEX_ERR_UNSUPPORTED, "version 4294967295, this build reads 1" },
        { m_version0, CORTEX_ERR_CORRUPT, "version 0" },
        { m_hdr_size, CORTEX_ERR_CORRUPT, "header size" },
        { m_align, CORTEX_ERR_CORRUPT, "alignment" },
        { m_file_size, CORTEX_ERR_CORRUPT, "truncated: header says the file is" },
        { m_meta_count_huge, CORTEX_ERR_CORRUPT, "metadata entries" },
        { m_meta_count_more, CORTEX_ERR_CORRUPT, "truncated metadata" },
        { m_meta_count_less, CORTEX_ERR_CORRUPT, "bytes after its 1 entries" },
        { m_meta_off, CORTEX_ERR_CORRUPT, "metadata offset" },
        { m_meta_size_huge, CORTEX_ERR_CORRUPT, "truncated: header says 18446744073709551565 bytes of metadata" },
        { m_tensor_count_huge, CORTEX_ERR_CORRUPT, "tensors in" },
        { m_tensor_count_more, CORTEX_ERR_CORRUPT, "truncated tensor table" },
        { m_table_size_huge, CORTEX_ERR_CORRUPT, "truncated: header says 1099511627776 bytes of tensor table" },
        { m_table_size_past, CORTEX_ERR_CORRUPT, "bytes of tensor table, file has" },
        { m_data_off, CORTEX_ERR_CORRUPT, "data offset" },
        { m_flags, CORTEX_ERR_CORRUPT, "flags" },
        { m_header_ck, CORTEX_ERR_CORRUPT, "header checksum mismatch" },
        { m_offset_past_eof, CORTEX_ERR_CORRUPT, "truncated: tensor 'conv.weight'" },
        { m_offset_huge, CORTEX_ERR_CORRUPT, "truncated: tensor 'conv.weight'" },
        { m_offset_misaligned, CORTEX_ERR_CORRUPT, "not a multiple of 64" },
        { m_offset_in_header, CORTEX_ERR_CORRUPT, "before the data section" },
        { m_overlap, CORTEX_ERR_CORRUPT, "tensors 'conv.weight' and 'conv.bias' overlap" },
        { m_size_overflow, CORTEX_ERR_CORRUPT, "tensor 'conv.weight': shape size overflows" },
        { m_size_overflow_bytes, CORTEX_ERR_CORRUPT, "tensor 'conv.weight'" },
        { m_nbytes_mismatch, CORTEX_ERR_CORRUPT, "needs 48 bytes, table says 44" },
        { m_negative_dim, CORTEX_ERR_CORRUPT, "negative" },
        { m_dup_name, CORTEX_ERR_CORRUPT, "duplicate tensor name 'conv.bias'" },
        { m_dup_key, CORTEX_ERR_CORRUPT, "duplicate metadata key 'arch'" },
        { m_ndim9, CORTEX_ERR_UNSUPPORTED, "ndim 9" },
        { m_ndim_huge, CORTEX_ERR_UNSUPPORTED, "ndim 4294967295" },
        { m_dtype, CORTEX_ERR_UNSUPPORTED, "tensor 'conv.weight': unknown dtype code 99" },
        { m_tensor_flags, CORTEX_ERR_CORRUPT, "reserved flags" },
        { m_name_nul, CORTEX_ERR_CORRUPT, "NUL" },
        { m_name_len0, CORTEX_ERR_CORRUPT, "name length 0" },
        { m_name_len_huge, CORTEX_ERR_CORRUPT, "name length 5000" },
        { m_name_padding, CORTEX_ERR_CORRUPT, "nonzero padding" },
        { m_key_len_huge, CORTEX_ERR_CORRUPT, "key length" },
        { m_meta_type, CORTEX_ERR_UNSUPPORTED, "metadata 'arch': unknown value type 7" },
        { m_str_len_huge, CORTEX_ERR_CORRUPT, "string length 18446744073709551615" },
        { m_str_len_past, CORTEX_ERR_CORRUPT, "truncated metadata" },
        { m_str_nul, CORTEX_ERR_CORRUPT, "NUL" },
        { m_array_count_huge, CORTEX_ERR_CORRUPT, "string array count" },
        { m_tensor_ck, CORTEX_ERR_CORRUPT, "tensor 'conv.bias': checksum mismatch" },
        { m_table_padding, CORTEX_ERR_CORRUPT, "nonzero padding" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) hostile(cases[i].m, cases[i].st, cases[i].msg);
}
END_TEST

START_TEST(test_bad_args)
{
    char err[ERRLEN];
    cx_ctx_file *f = (cx_ctx_file *)1;
    ck_assert_int_eq(cx_ctx_open_memory(NULL, 0, &f, err, sizeof err), CORTEX_ERR_FORMAT);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(cx_ctx_open_memory(NULL, 10, &f, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_open_memory("CTXF", 4, NULL, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_ctx_open_memory("CTXF", 4, &f, NULL, 0), CORTEX_ERR_CORRUPT);
    ck_assert_int_eq(cx_ctx_open_memory("CTX", 3, &f, err, sizeof err), CORTEX_ERR_FORMAT);
    /* NULL-safe queries */
    ck_assert_ptr_null(cx_ctx_find(NULL, "x"));
    ck_assert_ptr_null(cx_ctx_get_str(NULL, "x"));
    ck_assert_uint_eq(cx_ctx_tensor_count(NULL), 0);
    cx_ctx_close(NULL);
    cx_ctx_release_pages(NULL);
    cx_ctx_writer_free(NULL);
    ck_assert_str_eq(cx_meta_type_name(CX_META_F32_ARRAY), "f32 array");
}
END_TEST

START_TEST(test_checksum_properties)
{
    /* fixed vectors (also in docs/format.md) keep the definition stable */
    unsigned char v[64];
    for (int i = 0; i < 64; i++) v[i] = (unsigned char)i;
    ck_assert_uint_eq(cx_checksum64(NULL, 0, 0), cx_checksum64(v, 0, 0));
    /* every length up to 64 differs from its neighbours (length is mixed in) */
    for (size_t n = 1; n <= 64; n++) ck_assert(cx_checksum64(v, n, 0) != cx_checksum64(v, n - 1, 0));
    /* trailing zero bytes change the checksum */
    unsigned char z[9] = { 0 };
    ck_assert(cx_checksum64(z, 8, 0) != cx_checksum64(z, 9, 0));
    /* every single-bit flip over 200 bytes changes it */
    unsigned char b[200];
    for (int i = 0; i < 200; i++) b[i] = (unsigned char)(i * 7);
    uint64_t h = cx_checksum64(b, sizeof b, 0);
    for (size_t i = 0; i < sizeof b * 8; i++) {
        b[i / 8] ^= (unsigned char)(1u << (i % 8));
        ck_assert(cx_checksum64(b, sizeof b, 0) != h);
        b[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    /* seed chaining */
    ck_assert(cx_checksum64(v, 64, 1) != cx_checksum64(v, 64, 0));
    printf("cxh64 test vectors: \"\" -> %016llx, bytes 0..63 -> %016llx, \"abc\" -> %016llx\n",
           (unsigned long long)cx_checksum64(NULL, 0, 0), (unsigned long long)cx_checksum64(v, 64, 0),
           (unsigned long long)cx_checksum64("abc", 3, 0));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("ctx");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "roundtrip_memory", test_roundtrip_memory },
        { "roundtrip_file", test_roundtrip_file },
        { "writer_replace_and_reject", test_writer_replace_and_reject },
        { "many_tensors", test_many_tensors },
        { "every_byte_flip", test_every_byte_flip },
        { "data_flips_sampled", test_data_flips_sampled },
        { "truncation_every_length", test_truncation_every_length },
        { "hostile_values", test_hostile_values },
        { "bad_args", test_bad_args },
        { "checksum_properties", test_checksum_properties },
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
