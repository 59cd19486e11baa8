/* The .ctx weight file: validating reader (mmap or caller memory) and writer.
 * The layout is specified field by field in docs/format.md; the constants and
 * offsets below must stay in step with it. */
#include "io/ctx.h"
#include "io/checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ layout */

static const unsigned char CTX_MAGIC[4] = { 'C', 'T', 'X', 'F' };
#define CTX_VERSION      1u
#define CTX_HDR_SIZE     96u    /* fixed header, version 1 */
#define CTX_DATA_ALIGN   64u    /* tensor data offsets, relative to the file start */
#define CTX_HDR_CK_OFF   88u    /* header checksum field */

/* fixed-header field offsets */
enum {
    H_MAGIC = 0, H_VERSION = 4, H_HDR_SIZE = 8, H_ALIGN = 12, H_FILE_SIZE = 16,
    H_META_COUNT = 24, H_META_OFF = 32, H_META_SIZE = 40, H_TENSOR_COUNT = 48,
    H_TABLE_OFF = 56, H_TABLE_SIZE = 64, H_DATA_OFF = 72, H_FLAGS = 80, H_CHECKSUM = 88
};

#define TENSOR_FIXED 40u        /* u32 name_len, dtype, ndim, flags; u64 offset, nbytes, checksum */

/* limits a reader enforces (and the writer refuses to exceed) */
#define MAX_TENSORS   1000000u
#define MAX_META      65536u
#define MAX_NAME      4096u     /* tensor names and metadata keys, bytes */
#define MAX_STR       (1u << 20) /* a string value or one string-array element, bytes */
#define MAX_ARRAY     (1u << 24) /* elements of a string or f32 array */

#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static void wr64(unsigned char *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

/* Printable, bounded rendering of a name from the file for error messages. */
static const char *show(char *buf, size_t bufsz, const unsigned char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char tmp[8];
        unsigned char c = s[i];
        int k;
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') { tmp[0] = (char)c; k = 1; }
        else k = snprintf(tmp, sizeof tmp, "\\x%02x", c);
        if (o + (size_t)k + 4 > bufsz) { memcpy(buf + o, "...", 4); return buf; }
        memcpy(buf + o, tmp, (size_t)k);
        o += (size_t)k;
    }
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ name hash */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Open-addressing table of indices (+1) into an array of structs whose name
 * field is a `const char *` / `char *` at byte offset `off`. */
typedef struct {
    uint32_t *slots;
    size_t mask;
    const void *base;
    size_t stride, off;
} nametab;

static const char *nt_name(const nametab *t, size_t i)
{
    const char *p;
    memcpy(&p, (const char *)t->base + i * t->stride + t->off, sizeof p);
    return p;
}

/* room for n entries */
static bool nt_init(nametab *t, size_t n, const void *base, size_t stride, size_t off)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    t->slots = calloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    t->base = base; t->stride = stride; t->off = off;
    return t->slots != NULL;
}

/* index of name, or SIZE_MAX */
static size_t nt_find(const nametab *t, const char *name)
{
    if (!t->slots) return SIZE_MAX;
    for (size_t h = name_hash(name) & t->mask;; h = (h + 1) & t->mask) {
        uint32_t v = t->slots[h];
        if (!v) return SIZE_MAX;
        if (strcmp(nt_name(t, v - 1), name) == 0) return v - 1;
    }
}

/* Inserts index i (its name read from the array); returns the index already
 * holding that name, or SIZE_MAX when it was new. The table must have room. */
static size_t nt_insert(nametab *t, size_t i)
{
    const char *name = nt_name(t, i);
    for (size_t h = name_hash(name) & t->mask;; h = (h + 1) & t->mask) {
        uint32_t v = t->slots[h];
        if (!v) { t->slots[h] = (uint32_t)(i + 1); return SIZE_MAX; }
        if (strcmp(nt_name(t, v - 1), name) == 0) return v - 1;
    }
}

/* Rebuild after the array moved: room for cap entries, the first n inserted. */
static bool nt_rebuild(nametab *t, size_t cap, size_t n, const void *base)
{
    free(t->slots);
    if (!nt_init(t, cap, base, t->stride, t->off)) return false;
    for (size_t i = 0; i < n; i++) nt_insert(t, i);
    return true;
}

/* ------------------------------------------------------------------ reader */

typedef struct cx_meta {
    const char *key;
    cx_meta_type type;
    int64_t i64;
    double f64;
    const char *str;
    size_t count;
    const char **strs;
    const float *f32s;
} cx_meta;

struct cx_ctx_file {
    const unsigned char *base;
    size_t size;
    void *map;              /* mmap'd region (file path) */
    size_t map_len;
    void *owned;            /* an aligned copy of a misaligned caller buffer */
    uint32_t version;

    cx_meta *meta;
    size_t nmeta;
    char *meta_str;         /* arenas the metadata values live in */
    const char **meta_ptrs;
    float *meta_f32;
    nametab meta_tab;

    cx_ctx_tensor *tensors;
    size_t ntensors;
    char *names;
    nametab tensor_tab;
};

/* Bounded cursor over one section; every read is checked. */
typedef struct {
    const unsigned char *b;   /* file base */
    size_t pos, end;          /* absolute offsets */
    const char *what;         /* "metadata" / "tensor table" */
    char *err;
    size_t errlen;
} cursor;

static cortex_status need(cursor *c, size_t n, const char *item)
{
    if (n > c->end - c->pos)
        return cx_errf(c->err, c->errlen, CORTEX_ERR_CORRUPT,
                       "truncated %s: %s needs %zu bytes at offset %zu, section has %zu left",
                       c->what, item, n, c->pos, c->end - c->pos);
    return CORTEX_OK;
}

/* n bytes, then zero padding up to the next multiple of 8 (relative to the file) */
static cortex_status take_padded(cursor *c, size_t n, const unsigned char **p, const char *item)
{
    size_t padded = PAD8(n);
    if (padded < n) return cx_errf(c->err, c->errlen, CORTEX_ERR_CORRUPT, "%s: length overflow", item);
    cortex_status st = need(c, padded, item);
    if (st) return st;
    *p = c->b + c->pos;
    for (size_t i = n; i < padded; i++)
        if (c->b[c->pos + i] != 0)
            return cx_errf(c->err, c->errlen, CORTEX_ERR_CORRUPT,
                           "%s: nonzero padding byte at offset %zu", item, c->pos + i);
    c->pos += padded;
    return CORTEX_OK;
}

static cortex_status check_text(cursor *c, const unsigned char *s, size_t n, const char *item)
{
    if (memchr(s, 0, n))
        return cx_errf(c->err, c->errlen, CORTEX_ERR_CORRUPT, "%s contains a NUL byte", item);
    return CORTEX_OK;
}

static char *arena_str(char **arena, const unsigned char *s, size_t n)
{
    char *r = *arena;
    memcpy(r, s, n);
    r[n] = '\0';
    *arena += n + 1;
    return r;
}

const char *cx_meta_type_name(cx_meta_type t)
{
    switch (t) {
    case CX_META_I64: return "i64";
    case CX_META_F64: return "f64";
    case CX_META_STR: return "str";
    case CX_META_STR_ARRAY: return "str array";
    case CX_META_F32_ARRAY: return "f32 array";
    }
    return "?";
}

static cortex_status parse_meta(cx_ctx_file *f, size_t off, size_t size, uint64_t count,
                                char *err, size_t errlen)
{
    cursor c = { f->base, off, off + size, "metadata", err, errlen };
    char nb[96], item[160];
    cortex_status st;

    /* Arenas sized from the section: every string occupies at least 8 bytes of
     * it (a length field), every float 4, so these bounds can't be exceeded. */
    f->meta = calloc(count ? count : 1, sizeof *f->meta);
    f->meta_str = malloc(size + size / 8 + 1);
    f->meta_ptrs = malloc((size / 8 + 1) * sizeof *f->meta_ptrs);
    f->meta_f32 = malloc((size / 4 + 1) * sizeof *f->meta_f32);
    if (!f->meta || !f->meta_str || !f->meta_ptrs || !f->meta_f32)
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for %llu metadata entries",
                       (unsigned long long)count);
    char *sa = f->meta_str;
    const char **pa = f->meta_ptrs;
    float *fa = f->meta_f32;

    for (size_t i = 0; i < count; i++) {
        cx_meta *m = &f->meta[i];
        snprintf(item, sizeof item, "metadata entry %zu", i);
        if ((st = need(&c, 8, item))) return st;
        uint32_t klen = rd32(c.b + c.pos), type = rd32(c.b + c.pos + 4);
        c.pos += 8;
        if (klen == 0 || klen > MAX_NAME)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "metadata entry %zu: key length %u out of range 1..%u",
                           i, klen, MAX_NAME);
        const unsigned char *k;
        if ((st = take_padded(&c, klen, &k, item))) return st;
        snprintf(item, sizeof item, "metadata '%s'", show(nb, sizeof nb, k, klen));
        if ((st = check_text(&c, k, klen, item))) return st;
        m->key = arena_str(&sa, k, klen);
        if (type > CX_META_F32_ARRAY)
            return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "%s: unknown value type %u", item, type);
        m->type = (cx_meta_type)type;
        const unsigned char *v;
        switch (m->type) {
        case CX_META_I64:
            if ((st = need(&c, 8, item))) return st;
            m->i64 = (int64_t)rd64(c.b + c.pos);
            c.pos += 8;
            break;
        case CX_META_F64: {
            if ((st = need(&c, 8, item))) return st;
            uint64_t bits = rd64(c.b + c.pos);
            memcpy(&m->f64, &bits, 8);
            c.pos += 8;
            break;
        }
        case CX_META_STR: {
            if ((st = need(&c, 8, item))) return st;
            uint64_t n = rd64(c.b + c.pos);
            c.pos += 8;
            if (n > MAX_STR)
                return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: string length %llu exceeds %u",
                               item, (unsigned long long)n, MAX_STR);
            if ((st = take_padded(&c, (size_t)n, &v, item))) return st;
            if ((st = check_text(&c, v, (size_t)n, item))) return st;
            m->str = arena_str(&sa, v, (size_t)n);
            break;
        }
        case CX_META_STR_ARRAY: {
            if ((st = need(&c, 8, item))) return st;
            uint64_t n = rd64(c.b + c.pos);
            c.pos += 8;
            if (n > MAX_ARRAY || n > (c.end - c.pos) / 8)
                return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                               "%s: string array count %llu does not fit the %zu bytes left",
                               item, (unsigned long long)n, c.end - c.pos);
            m->count = (size_t)n;
            m->strs = pa;
            pa += n;
            for (size_t j = 0; j < n; j++) {
                if ((st = need(&c, 8, item))) return st;
                uint64_t len = rd64(c.b + c.pos);
                c.pos += 8;
                if (len > MAX_STR)
                    return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s[%zu]: string length %llu exceeds %u",
                                   item, j, (unsigned long long)len, MAX_STR);
                if ((st = take_padded(&c, (size_t)len, &v, item))) return st;
                if ((st = check_text(&c, v, (size_t)len, item))) return st;
                m->strs[j] = arena_str(&sa, v, (size_t)len);
            }
            break;
        }
        case CX_META_F32_ARRAY: {
            if ((st = need(&c, 8, item))) return st;
            uint64_t n = rd64(c.b + c.pos);
            c.pos += 8;
            if (n > MAX_ARRAY || n > (c.end - c.pos) / 4)
                return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                               "%s: f32 array count %llu does not fit the %zu bytes left",
                               item, (unsigned long long)n, c.end - c.pos);
            if ((st = take_padded(&c, (size_t)n * 4, &v, item))) return st;
            m->count = (size_t)n;
            m->f32s = fa;
            for (size_t j = 0; j < n; j++) {
                uint32_t bits = rd32(v + 4 * j);
                memcpy(&fa[j], &bits, 4);
            }
            fa += n;
            break;
        }
        }
        f->nmeta = i + 1;
    }
    if (c.pos != c.end)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                       "metadata section has %zu bytes after its %llu entries",
                       c.end - c.pos, (unsigned long long)count);
    if (!nt_init(&f->meta_tab, f->nmeta, f->meta, sizeof *f->meta, offsetof(cx_meta, key)))
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->nmeta; i++)
        if (nt_insert(&f->meta_tab, i) != SIZE_MAX)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "duplicate metadata key '%s'",
                           show(nb, sizeof nb, (const unsigned char *)f->meta[i].key, strlen(f->meta[i].key)));
    return CORTEX_OK;
}

typedef struct { uint64_t off, end; size_t idx; } span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static cortex_status parse_table(cx_ctx_file *f, size_t off, size_t size, uint64_t count,
                                 size_t data_off, uint64_t *cks, char *err, size_t errlen)
{
    cursor c = { f->base, off, off + size, "tensor table", err, errlen };
    char nb[96], item[160];
    cortex_status st;

    f->tensors = calloc(count ? count : 1, sizeof *f->tensors);
    f->names = malloc(size + 1);
    if (!f->tensors || !f->names)
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for %llu tensors", (unsigned long long)count);
    char *na = f->names;

    for (size_t i = 0; i < count; i++) {
        cx_ctx_tensor *t = &f->tensors[i];
        snprintf(item, sizeof item, "tensor entry %zu", i);
        if ((st = need(&c, TENSOR_FIXED, item))) return st;
        const unsigned char *e = c.b + c.pos;
        uint32_t nlen = rd32(e), dtype = rd32(e + 4), ndim = rd32(e + 8), flags = rd32(e + 12);
        uint64_t toff = rd64(e + 16), nbytes = rd64(e + 24);
        cks[i] = rd64(e + 32);
        c.pos += TENSOR_FIXED;
        if (nlen == 0 || nlen > MAX_NAME)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensor entry %zu: name length %u out of range 1..%u",
                           i, nlen, MAX_NAME);
        if (ndim > CORTEX_MAX_DIMS)
            return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "tensor entry %zu: ndim %u, this build supports at most %d",
                           i, ndim, CORTEX_MAX_DIMS);
        if ((st = need(&c, (size_t)ndim * 8, item))) return st;
        const unsigned char *shp = c.b + c.pos;
        c.pos += (size_t)ndim * 8;
        const unsigned char *nm;
        if ((st = take_padded(&c, nlen, &nm, item))) return st;
        snprintf(item, sizeof item, "tensor '%s'", show(nb, sizeof nb, nm, nlen));
        if ((st = check_text(&c, nm, nlen, item))) return st;
        t->name = arena_str(&na, nm, nlen);
        if (flags != 0)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: reserved flags 0x%x are not zero", item, flags);
        size_t dsize = cx_dtype_size((cx_dtype)dtype);
        if (dsize == 0)
            return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "%s: unknown dtype code %u", item, dtype);
        t->dtype = (cx_dtype)dtype;
        t->ndim = (int)ndim;
        size_t numel = 1;
        bool ovf = false;
        for (uint32_t d = 0; d < ndim; d++) {
            int64_t v = (int64_t)rd64(shp + 8 * d);
            if (v < 0)
                return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: dimension %u is negative (%lld)",
                               item, d, (long long)v);
            t->shape[d] = v;
            if ((uint64_t)v > SIZE_MAX || !cx_mul_ok(numel, (size_t)v, &numel)) ovf = true;
        }
        size_t need_bytes;
        if (ovf || !cx_mul_ok(numel, dsize, &need_bytes)) {
            /* a product that overflows is only consistent when some dim is 0 */
            bool zero = false;
            for (uint32_t d = 0; d < ndim; d++) zero |= t->shape[d] == 0;
            if (!zero)
                return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: shape size overflows", item);
            numel = 0;
            need_bytes = 0;
        }
        if (nbytes != need_bytes)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                           "%s: %u-d %s shape needs %zu bytes, table says %llu",
                           item, ndim, cx_dtype_name(t->dtype), need_bytes, (unsigned long long)nbytes);
        t->numel = numel;
        t->nbytes = (size_t)nbytes;
        if (toff % CTX_DATA_ALIGN)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: data offset %llu is not a multiple of %u",
                           item, (unsigned long long)toff, CTX_DATA_ALIGN);
        if (toff < data_off)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s: data offset %llu is before the data section (%zu)",
                           item, (unsigned long long)toff, data_off);
        if (toff > f->size || nbytes > f->size - toff)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                           "truncated: %s needs bytes %llu..%llu, file has %zu",
                           item, (unsigned long long)toff, (unsigned long long)toff + nbytes, f->size);
        t->data = f->base + toff;
        f->ntensors = i + 1;
    }
    if (c.pos != c.end)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensor table has %zu bytes after its %llu entries",
                       c.end - c.pos, (unsigned long long)count);

    /* overlaps: sort the non-empty extents by offset */
    span *sp = malloc((f->ntensors ? f->ntensors : 1) * sizeof *sp);
    if (!sp) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    size_t ns = 0;
    for (size_t i = 0; i < f->ntensors; i++) {
        const cx_ctx_tensor *t = &f->tensors[i];
        if (t->nbytes == 0) continue;
        uint64_t o = (uint64_t)((const unsigned char *)t->data - f->base);
        sp[ns++] = (span){ o, o + t->nbytes, i };
    }
    qsort(sp, ns, sizeof *sp, span_cmp);
    for (size_t i = 1; i < ns; i++)
        if (sp[i].off < sp[i - 1].end) {
            char nb2[96];
            const char *a = f->tensors[sp[i - 1].idx].name, *b = f->tensors[sp[i].idx].name;
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensors '%s' and '%s' overlap in the file",
                         show(nb, sizeof nb, (const unsigned char *)a, strlen(a)),
                         show(nb2, sizeof nb2, (const unsigned char *)b, strlen(b)));
            free(sp);
            return st;
        }
    free(sp);

    if (!nt_init(&f->tensor_tab, f->ntensors, f->tensors, sizeof *f->tensors, offsetof(cx_ctx_tensor, name)))
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->ntensors; i++)
        if (nt_insert(&f->tensor_tab, i) != SIZE_MAX)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "duplicate tensor name '%s'",
                           show(nb, sizeof nb, (const unsigned char *)f->tensors[i].name, strlen(f->tensors[i].name)));
    return CORTEX_OK;
}

static cortex_status parse(cx_ctx_file *f, unsigned flags, char *err, size_t errlen)
{
    const unsigned char *b = f->base;
    size_t size = f->size;

    if (size < 4 || memcmp(b, CTX_MAGIC, 4) != 0) {
        if (size < 4)
            return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a .ctx file (%zu bytes, shorter than the magic)", size);
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT,
                       "not a .ctx file (starts with %02x %02x %02x %02x, expected 'CTXF')", b[0], b[1], b[2], b[3]);
    }
    if (size < 8)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: file has %zu bytes, the header is %u", size, CTX_HDR_SIZE);
    f->version = rd32(b + H_VERSION);
    if (f->version == 0)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "invalid version 0");
    if (f->version > CTX_VERSION)
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "version %u, this build reads %u", f->version, CTX_VERSION);
    if (size < CTX_HDR_SIZE)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: file has %zu bytes, the header is %u", size, CTX_HDR_SIZE);

    uint32_t hsize = rd32(b + H_HDR_SIZE), align = rd32(b + H_ALIGN);
    uint64_t fsize = rd64(b + H_FILE_SIZE), mcount = rd64(b + H_META_COUNT), moff = rd64(b + H_META_OFF),
             msize = rd64(b + H_META_SIZE), tcount = rd64(b + H_TENSOR_COUNT), toff = rd64(b + H_TABLE_OFF),
             tsize = rd64(b + H_TABLE_SIZE), doff = rd64(b + H_DATA_OFF), hflags = rd64(b + H_FLAGS),
             hck = rd64(b + H_CHECKSUM);

    if (hsize != CTX_HDR_SIZE)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "header size field is %u, version 1 has %u", hsize, CTX_HDR_SIZE);
    if (align != CTX_DATA_ALIGN)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "alignment field is %u, version 1 has %u", align, CTX_DATA_ALIGN);
    if (hflags != 0)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "reserved header flags 0x%llx are not zero", (unsigned long long)hflags);
    if (fsize > size)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: header says the file is %llu bytes, file has %zu",
                       (unsigned long long)fsize, size);
    if (fsize < size)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%zu trailing bytes after the %llu bytes the header gives",
                       size - (size_t)fsize, (unsigned long long)fsize);
    if (moff != CTX_HDR_SIZE)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "metadata offset is %llu, must follow the header at %u",
                       (unsigned long long)moff, CTX_HDR_SIZE);
    if (msize > size - moff)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: header says %llu bytes of metadata, file has %zu",
                       (unsigned long long)msize, size - (size_t)moff);
    if (toff != moff + msize)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensor table offset is %llu, must follow the metadata at %llu",
                       (unsigned long long)toff, (unsigned long long)(moff + msize));
    if (tsize > size - toff)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: header says %llu bytes of tensor table, file has %zu",
                       (unsigned long long)tsize, size - (size_t)toff);
    uint64_t tend = toff + tsize, dwant = (tend + CTX_DATA_ALIGN - 1) / CTX_DATA_ALIGN * CTX_DATA_ALIGN;
    if (doff != dwant)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "data offset is %llu, must be %llu (table end rounded up to %u)",
                       (unsigned long long)doff, (unsigned long long)dwant, CTX_DATA_ALIGN);
    if (doff > size)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: data section starts at %llu, file has %zu",
                       (unsigned long long)doff, size);
    for (uint64_t i = tend; i < doff; i++)
        if (b[i] != 0)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "nonzero padding byte at offset %llu", (unsigned long long)i);
    if (mcount > MAX_META || mcount > msize / 24)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "header says %llu metadata entries in %llu bytes (limit %u)",
                       (unsigned long long)mcount, (unsigned long long)msize, MAX_META);
    if (tcount > MAX_TENSORS || tcount > tsize / (TENSOR_FIXED + 8))
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "header says %llu tensors in %llu bytes of table (limit %u)",
                       (unsigned long long)tcount, (unsigned long long)tsize, MAX_TENSORS);
    if (!(flags & CX_CTX_SKIP_CHECKSUMS)) {
        uint64_t h = cx_checksum64(b + CTX_HDR_CK_OFF + 8, (size_t)doff - (CTX_HDR_CK_OFF + 8),
                                   cx_checksum64(b, CTX_HDR_CK_OFF, 0));
        if (h != hck)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "header checksum mismatch (stored %016llx, computed %016llx)",
                           (unsigned long long)hck, (unsigned long long)h);
    }

    cortex_status st = parse_meta(f, (size_t)moff, (size_t)msize, mcount, err, errlen);
    if (st) return st;
    uint64_t *cks = malloc((tcount ? tcount : 1) * sizeof *cks);
    if (!cks) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    st = parse_table(f, (size_t)toff, (size_t)tsize, tcount, (size_t)doff, cks, err, errlen);
    if (!st && !(flags & CX_CTX_SKIP_CHECKSUMS)) {
        for (size_t i = 0; i < f->ntensors; i++) {
            const cx_ctx_tensor *t = &f->tensors[i];
            if (cx_checksum64(t->data, t->nbytes, 0) != cks[i]) {
                char nb[96];
                st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensor '%s': checksum mismatch",
                             show(nb, sizeof nb, (const unsigned char *)t->name, strlen(t->name)));
                break;
            }
            cx_ctx_release_tensor(f, t);
        }
    }
    free(cks);
    return st;
}

void cx_ctx_close(cx_ctx_file *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->map_len);
    cx_free(f->owned);
    free(f->meta);
    free(f->meta_str);
    free(f->meta_ptrs);
    free(f->meta_f32);
    free(f->meta_tab.slots);
    free(f->tensors);
    free(f->names);
    free(f->tensor_tab.slots);
    free(f);
}

static cortex_status finish_open(cx_ctx_file *f, unsigned flags, cx_ctx_file **out, char *err, size_t errlen)
{
    cortex_status st = parse(f, flags, err, errlen);
    if (st) {
        cx_ctx_close(f);
        return st;
    }
    *out = f;
    return CORTEX_OK;
}

cortex_status cx_ctx_open_memory_flags(const void *data, size_t size, unsigned flags, cx_ctx_file **out,
                                       char *err, size_t errlen)
{
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL output pointer");
    *out = NULL;
    if (!data && size) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL buffer");
    if (size == 0) return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a .ctx file (empty)");
    cx_ctx_file *f = calloc(1, sizeof *f);
    if (!f) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    if ((uintptr_t)data % CTX_DATA_ALIGN) {
        /* tensor data must be usable in place: align a copy */
        f->owned = cx_alloc(size);
        if (!f->owned) {
            free(f);
            return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory copying %zu bytes", size);
        }
        memcpy(f->owned, data, size);
        data = f->owned;
    }
    f->base = data;
    f->size = size;
    return finish_open(f, flags, out, err, errlen);
}

cortex_status cx_ctx_open_memory(const void *data, size_t size, cx_ctx_file **out, char *err, size_t errlen)
{
    return cx_ctx_open_memory_flags(data, size, 0, out, err, errlen);
}

static const char *errno_text(int e, char *buf, size_t n)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(e, buf, n);
#else
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "errno %d", e);
    return buf;
#endif
}

cortex_status cx_ctx_open_file(const char *path, cx_ctx_file **out, char *err, size_t errlen)
{
    char eb[128];
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL output pointer");
    *out = NULL;
    if (!path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot open: %s", errno_text(errno, eb, sizeof eb));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot stat: %s", errno_text(e, eb, sizeof eb));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "not a regular file");
    }
    if (sb.st_size == 0) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a .ctx file (empty)");
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "file of %lld bytes does not fit the address space",
                       (long long)sb.st_size);
    }
    size_t size = (size_t)sb.st_size;
    /* No MAP_POPULATE: pages are faulted in tensor by tensor and dropped again
     * after their checksum (and later after packing), so a model never holds
     * the file and its packed weights in memory at once. */
    int mflags = MAP_PRIVATE;
    void *m = mmap(NULL, size, PROT_READ, mflags, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot mmap: %s", errno_text(e, eb, sizeof eb));
    cx_ctx_file *f = calloc(1, sizeof *f);
    if (!f) {
        munmap(m, size);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    }
    f->map = m;
    f->map_len = size;
    f->base = m;
    f->size = size;
    return finish_open(f, 0, out, err, errlen);
}

/* ------------------------------------------------------------------ queries */

static const cx_meta *meta_get(const cx_ctx_file *f, const char *key, cx_meta_type type)
{
    if (!f || !key) return NULL;
    size_t i = nt_find(&f->meta_tab, key);
    if (i == SIZE_MAX || f->meta[i].type != type) return NULL;
    return &f->meta[i];
}

const char *cx_ctx_get_str(const cx_ctx_file *f, const char *key)
{
    const cx_meta *m = meta_get(f, key, CX_META_STR);
    return m ? m->str : NULL;
}

cortex_status cx_ctx_get_i64(const cx_ctx_file *f, const char *key, int64_t *v)
{
    const cx_meta *m = meta_get(f, key, CX_META_I64);
    if (!m || !v) return CORTEX_ERR_INVALID_ARG;
    *v = m->i64;
    return CORTEX_OK;
}

cortex_status cx_ctx_get_f64(const cx_ctx_file *f, const char *key, double *v)
{
    const cx_meta *m = meta_get(f, key, CX_META_F64);
    if (!m || !v) return CORTEX_ERR_INVALID_ARG;
    *v = m->f64;
    return CORTEX_OK;
}

cortex_status cx_ctx_get_str_array(const cx_ctx_file *f, const char *key, size_t *count, const char *const **items)
{
    const cx_meta *m = meta_get(f, key, CX_META_STR_ARRAY);
    if (!m || !count || !items) return CORTEX_ERR_INVALID_ARG;
    *count = m->count;
    *items = m->strs;
    return CORTEX_OK;
}

cortex_status cx_ctx_get_f32_array(const cx_ctx_file *f, const char *key, size_t *count, const float **items)
{
    const cx_meta *m = meta_get(f, key, CX_META_F32_ARRAY);
    if (!m || !count || !items) return CORTEX_ERR_INVALID_ARG;
    *count = m->count;
    *items = m->f32s;
    return CORTEX_OK;
}

size_t cx_ctx_meta_count(const cx_ctx_file *f) { return f ? f->nmeta : 0; }

const char *cx_ctx_meta_key(const cx_ctx_file *f, size_t i, cx_meta_type *type)
{
    if (!f || i >= f->nmeta) return NULL;
    if (type) *type = f->meta[i].type;
    return f->meta[i].key;
}

size_t cx_ctx_tensor_count(const cx_ctx_file *f) { return f ? f->ntensors : 0; }

const cx_ctx_tensor *cx_ctx_tensor_at(const cx_ctx_file *f, size_t i)
{
    return f && i < f->ntensors ? &f->tensors[i] : NULL;
}

const cx_ctx_tensor *cx_ctx_find(const cx_ctx_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t i = nt_find(&f->tensor_tab, name);
    return i == SIZE_MAX ? NULL : &f->tensors[i];
}

uint32_t cx_ctx_version(const cx_ctx_file *f) { return f ? f->version : 0; }

void cx_ctx_release_tensor(const cx_ctx_file *f, const cx_ctx_tensor *t)
{
    /* only whole pages inside the tensor: neighbours may still be in use */
    if (!f || !f->map || !t || !t->nbytes) return;
    const size_t pg = 4096;
    uintptr_t a = CX_ROUND_UP((uintptr_t)t->data, pg), e = ((uintptr_t)t->data + t->nbytes) / pg * pg;
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
}

void cx_ctx_release_pages(cx_ctx_file *f)
{
    /* Names and metadata were copied at open, so every mapped page may go;
     * a later read of tensor data faults it back in from the file. */
    if (f && f->map) madvise(f->map, f->map_len, MADV_DONTNEED);
}

/* ------------------------------------------------------------------ writer */

typedef struct wmeta {
    char *key;
    cx_meta_type type;
    int64_t i64;
    double f64;
    char *str;
    size_t count;
    char **strs;
    float *f32s;
} wmeta;

typedef struct wtensor {
    char *name;
    cx_dtype dtype;
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t nbytes;
    void *data;
    uint64_t checksum;
    uint64_t offset;        /* assigned by layout() */
} wtensor;

struct cx_ctx_writer {
    wmeta *meta;
    size_t nmeta, capmeta;
    wtensor *t;
    size_t nt, capt;
    nametab tab;
    size_t tabcap;          /* entries the table has room for */
};

cx_ctx_writer *cx_ctx_writer_new(void)
{
    cx_ctx_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->tab.stride = sizeof(wtensor);
    w->tab.off = offsetof(wtensor, name);
    return w;
}

static void wmeta_clear(wmeta *m)
{
    free(m->key);
    free(m->str);
    for (size_t i = 0; m->strs && i < m->count; i++) free(m->strs[i]);
    free(m->strs);
    free(m->f32s);
    memset(m, 0, sizeof *m);
}

void cx_ctx_writer_free(cx_ctx_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nmeta; i++) wmeta_clear(&w->meta[i]);
    free(w->meta);
    for (size_t i = 0; i < w->nt; i++) {
        free(w->t[i].name);
        cx_free(w->t[i].data);
    }
    free(w->t);
    free(w->tab.slots);
    free(w);
}

static bool name_ok(const char *s)
{
    if (!s) return false;
    size_t n = strlen(s);
    return n >= 1 && n <= MAX_NAME;
}

/* Installs m (owned) under its key, replacing an existing entry. */
static cortex_status put_meta(cx_ctx_writer *w, wmeta *m)
{
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta[i].key, m->key) == 0) {
            wmeta_clear(&w->meta[i]);
            w->meta[i] = *m;
            return CORTEX_OK;
        }
    if (w->nmeta >= MAX_META) { wmeta_clear(m); return CORTEX_ERR_INVALID_ARG; }
    if (w->nmeta == w->capmeta) {
        size_t nc = w->capmeta ? w->capmeta * 2 : 16;
        wmeta *nm = realloc(w->meta, nc * sizeof *nm);
        if (!nm) { wmeta_clear(m); return CORTEX_ERR_NOMEM; }
        w->meta = nm;
        w->capmeta = nc;
    }
    w->meta[w->nmeta++] = *m;
    return CORTEX_OK;
}

static cortex_status new_meta(cx_ctx_writer *w, const char *key, cx_meta_type type, wmeta *m)
{
    memset(m, 0, sizeof *m);
    if (!w || !name_ok(key)) return CORTEX_ERR_INVALID_ARG;
    m->key = cx_strdup(key);
    m->type = type;
    return m->key ? CORTEX_OK : CORTEX_ERR_NOMEM;
}

cortex_status cx_ctx_writer_set_i64(cx_ctx_writer *w, const char *key, int64_t v)
{
    wmeta m;
    cortex_status st = new_meta(w, key, CX_META_I64, &m);
    if (st) return st;
    m.i64 = v;
    return put_meta(w, &m);
}

cortex_status cx_ctx_writer_set_f64(cx_ctx_writer *w, const char *key, double v)
{
    wmeta m;
    cortex_status st = new_meta(w, key, CX_META_F64, &m);
    if (st) return st;
    m.f64 = v;
    return put_meta(w, &m);
}

cortex_status cx_ctx_writer_set_str(cx_ctx_writer *w, const char *key, const char *v)
{
    if (!v || strlen(v) > MAX_STR) return CORTEX_ERR_INVALID_ARG;
    wmeta m;
    cortex_status st = new_meta(w, key, CX_META_STR, &m);
    if (st) return st;
    if (!(m.str = cx_strdup(v))) { wmeta_clear(&m); return CORTEX_ERR_NOMEM; }
    return put_meta(w, &m);
}

cortex_status cx_ctx_writer_set_str_array(cx_ctx_writer *w, const char *key, size_t n, const char *const *v)
{
    if (n > MAX_ARRAY || (n && !v)) return CORTEX_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!v[i] || strlen(v[i]) > MAX_STR) return CORTEX_ERR_INVALID_ARG;
    wmeta m;
    cortex_status st = new_meta(w, key, CX_META_STR_ARRAY, &m);
    if (st) return st;
    m.strs = calloc(n ? n : 1, sizeof *m.strs);
    if (!m.strs) { wmeta_clear(&m); return CORTEX_ERR_NOMEM; }
    m.count = n;
    for (size_t i = 0; i < n; i++)
        if (!(m.strs[i] = cx_strdup(v[i]))) { wmeta_clear(&m); return CORTEX_ERR_NOMEM; }
    return put_meta(w, &m);
}

cortex_status cx_ctx_writer_set_f32_array(cx_ctx_writer *w, const char *key, size_t n, const float *v)
{
    if (n > MAX_ARRAY || (n && !v)) return CORTEX_ERR_INVALID_ARG;
    wmeta m;
    cortex_status st = new_meta(w, key, CX_META_F32_ARRAY, &m);
    if (st) return st;
    m.f32s = malloc(n ? n * sizeof(float) : 1);
    if (!m.f32s) { wmeta_clear(&m); return CORTEX_ERR_NOMEM; }
    if (n) memcpy(m.f32s, v, n * sizeof(float));
    m.count = n;
    return put_meta(w, &m);
}

cortex_status cx_ctx_writer_add_tensor(cx_ctx_writer *w, const char *name, cx_dtype dtype,
                                       int ndim, const int64_t *shape, const void *data)
{
    if (!w || !name_ok(name) || ndim < 0 || ndim > CORTEX_MAX_DIMS || (ndim && !shape)) return CORTEX_ERR_INVALID_ARG;
    size_t dsize = cx_dtype_size(dtype);
    if (dsize == 0) return CORTEX_ERR_INVALID_ARG;
    if (w->nt >= MAX_TENSORS) return CORTEX_ERR_INVALID_ARG;
    size_t numel = 1, nbytes;
    bool zero = false, ovf = false;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return CORTEX_ERR_INVALID_ARG;
        if (shape[d] == 0) zero = true;
        if ((uint64_t)shape[d] > SIZE_MAX || !cx_mul_ok(numel, (size_t)shape[d], &numel)) ovf = true;
    }
    if (zero) numel = 0;
    else if (ovf) return CORTEX_ERR_NOMEM;
    if (!cx_mul_ok(numel, dsize, &nbytes)) return CORTEX_ERR_NOMEM;
    if (nbytes && !data) return CORTEX_ERR_INVALID_ARG;
    if (nt_find(&w->tab, name) != SIZE_MAX) return CORTEX_ERR_INVALID_ARG;
    if (w->nt == w->capt) {
        size_t tc = w->capt ? w->capt * 2 : 64;
        wtensor *nt = realloc(w->t, tc * sizeof *nt);
        if (!nt) return CORTEX_ERR_NOMEM;
        w->t = nt;
        w->capt = tc;
        if (!nt_rebuild(&w->tab, tc, w->nt, w->t)) return CORTEX_ERR_NOMEM;
    }
    wtensor *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = cx_strdup(name);
    t->data = cx_alloc(nbytes);
    if (!t->name || !t->data) {
        free(t->name);
        cx_free(t->data);
        return CORTEX_ERR_NOMEM;
    }
    if (nbytes) memcpy(t->data, data, nbytes);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->nbytes = nbytes;
    t->checksum = cx_checksum64(t->data, nbytes, 0);
    nt_insert(&w->tab, w->nt);
    w->nt++;
    return CORTEX_OK;
}

static size_t meta_entry_size(const wmeta *m)
{
    size_t n = 8 + PAD8(strlen(m->key));
    switch (m->type) {
    case CX_META_I64: case CX_META_F64: n += 8; break;
    case CX_META_STR: n += 8 + PAD8(strlen(m->str)); break;
    case CX_META_STR_ARRAY:
        n += 8;
        for (size_t i = 0; i < m->count; i++) n += 8 + PAD8(strlen(m->strs[i]));
        break;
    case CX_META_F32_ARRAY: n += 8 + PAD8(m->count * 4); break;
    }
    return n;
}

static unsigned char *put_bytes(unsigned char *p, const void *s, size_t n)
{
    if (n) memcpy(p, s, n);
    return p + PAD8(n);     /* the buffer is zeroed: padding stays 0 */
}

/* Assigns tensor offsets and serialises everything before the data section
 * into a zeroed buffer of *head_len bytes (the data offset). */
static cortex_status layout(cx_ctx_writer *w, unsigned char **head, size_t *head_len, size_t *file_size,
                            char *err, size_t errlen)
{
    size_t msize = 0, tsize = 0;
    for (size_t i = 0; i < w->nmeta; i++) msize += meta_entry_size(&w->meta[i]);
    for (size_t i = 0; i < w->nt; i++) tsize += TENSOR_FIXED + 8 * (size_t)w->t[i].ndim + PAD8(strlen(w->t[i].name));
    size_t toff = CTX_HDR_SIZE + msize, doff = CX_ROUND_UP(toff + tsize, CTX_DATA_ALIGN);
    size_t cur = doff;
    for (size_t i = 0; i < w->nt; i++) {
        cur = CX_ROUND_UP(cur, CTX_DATA_ALIGN);
        w->t[i].offset = cur;
        if (!cx_add_ok(cur, w->t[i].nbytes, &cur) || cur > SIZE_MAX - CTX_DATA_ALIGN)
            return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "file size overflows");
    }
    unsigned char *h = calloc(1, doff);
    if (!h) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for a %zu-byte header", doff);

    memcpy(h + H_MAGIC, CTX_MAGIC, 4);
    wr32(h + H_VERSION, CTX_VERSION);
    wr32(h + H_HDR_SIZE, CTX_HDR_SIZE);
    wr32(h + H_ALIGN, CTX_DATA_ALIGN);
    wr64(h + H_FILE_SIZE, cur);
    wr64(h + H_META_COUNT, w->nmeta);
    wr64(h + H_META_OFF, CTX_HDR_SIZE);
    wr64(h + H_META_SIZE, msize);
    wr64(h + H_TENSOR_COUNT, w->nt);
    wr64(h + H_TABLE_OFF, toff);
    wr64(h + H_TABLE_SIZE, tsize);
    wr64(h + H_DATA_OFF, doff);
    wr64(h + H_FLAGS, 0);

    unsigned char *p = h + CTX_HDR_SIZE;
    for (size_t i = 0; i < w->nmeta; i++) {
        const wmeta *m = &w->meta[i];
        size_t kl = strlen(m->key);
        wr32(p, (uint32_t)kl);
        wr32(p + 4, (uint32_t)m->type);
        p = put_bytes(p + 8, m->key, kl);
        switch (m->type) {
        case CX_META_I64: wr64(p, (uint64_t)m->i64); p += 8; break;
        case CX_META_F64: {
            uint64_t bits;
            memcpy(&bits, &m->f64, 8);
            wr64(p, bits);
            p += 8;
            break;
        }
        case CX_META_STR: {
            size_t n = strlen(m->str);
            wr64(p, n);
            p = put_bytes(p + 8, m->str, n);
            break;
        }
        case CX_META_STR_ARRAY:
            wr64(p, m->count);
            p += 8;
            for (size_t j = 0; j < m->count; j++) {
                size_t n = strlen(m->strs[j]);
                wr64(p, n);
                p = put_bytes(p + 8, m->strs[j], n);
            }
            break;
        case CX_META_F32_ARRAY:
            wr64(p, m->count);
            p += 8;
            for (size_t j = 0; j < m->count; j++) {
                uint32_t bits;
                memcpy(&bits, &m->f32s[j], 4);
                wr32(p + 4 * j, bits);
            }
            p += PAD8(m->count * 4);
            break;
        }
    }
    for (size_t i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        size_t nl = strlen(t->name);
        wr32(p, (uint32_t)nl);
        wr32(p + 4, (uint32_t)t->dtype);
        wr32(p + 8, (uint32_t)t->ndim);
        wr32(p + 12, 0);
        wr64(p + 16, t->offset);
        wr64(p + 24, t->nbytes);
        wr64(p + 32, t->checksum);
        p += TENSOR_FIXED;
        for (int d = 0; d < t->ndim; d++, p += 8) wr64(p, (uint64_t)t->shape[d]);
        p = put_bytes(p, t->name, nl);
    }
    wr64(h + H_CHECKSUM, cx_checksum64(h + CTX_HDR_CK_OFF + 8, doff - (CTX_HDR_CK_OFF + 8),
                                       cx_checksum64(h, CTX_HDR_CK_OFF, 0)));
    *head = h;
    *head_len = doff;
    *file_size = cur;
    return CORTEX_OK;
}

cortex_status cx_ctx_writer_to_memory(cx_ctx_writer *w, void **data, size_t *size, char *err, size_t errlen)
{
    if (!w || !data || !size) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL argument");
    *data = NULL;
    *size = 0;
    unsigned char *head;
    size_t hl, fs;
    cortex_status st = layout(w, &head, &hl, &fs, err, errlen);
    if (st) return st;
    void *buf = NULL;
    /* 64-byte aligned so that cx_ctx_open_memory can use it in place; free() releases it */
    if (posix_memalign(&buf, CTX_DATA_ALIGN, fs) != 0) {
        free(head);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for a %zu-byte file", fs);
    }
    unsigned char *b = buf;
    memset(b, 0, fs);
    memcpy(b, head, hl);
    free(head);
    for (size_t i = 0; i < w->nt; i++)
        if (w->t[i].nbytes) memcpy(b + w->t[i].offset, w->t[i].data, w->t[i].nbytes);
    *data = buf;
    *size = fs;
    return CORTEX_OK;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (k == 0) { errno = EIO; return false; }
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static bool write_zeros(int fd, size_t n)
{
    static const unsigned char z[CTX_DATA_ALIGN];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        if (!write_all(fd, z, k)) return false;
        n -= k;
    }
    return true;
}

cortex_status cx_ctx_writer_save(cx_ctx_writer *w, const char *path, char *err, size_t errlen)
{
    char eb[128];
    if (!w || !path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL argument");
    unsigned char *head;
    size_t hl, fs;
    /* the file is written to a temporary and renamed over PATH: never over a
     * device node or FIFO (as root, PATH /dev/null would become a plain file) */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cx_errf(err, errlen, CORTEX_ERR_IO, "'%s' exists and is not a regular file", path);
    cortex_status st = layout(w, &head, &hl, &fs, err, errlen);
    if (st) return st;
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(head);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot create '%s': %s", tmp, errno_text(errno, eb, sizeof eb));
        free(head);
        free(tmp);
        return st;
    }
    bool ok = write_all(fd, head, hl);
    size_t pos = hl;
    for (size_t i = 0; ok && i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        ok = write_zeros(fd, (size_t)t->offset - pos) && write_all(fd, t->data, t->nbytes);
        pos = (size_t)t->offset + t->nbytes;
    }
    if (ok) ok = write_zeros(fd, fs - pos);
    if (ok) ok = fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) { ok = false; e = errno; }
    if (ok && rename(tmp, path) != 0) {
        e = errno;
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, errno_text(e, eb, sizeof eb));
        unlink(tmp);
    } else if (!ok) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot write '%s': %s", tmp, errno_text(e, eb, sizeof eb));
        unlink(tmp);
    }
    free(head);
    free(tmp);
    return st;
}
