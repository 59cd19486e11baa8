/* PyTorch checkpoint reader: zip (zip.c) + pickle (pickle.c) + storage
 * gathering into contiguous float32. See pth.h. */
#include "io/pth.h"
#include "io/zip.h"
#include "io/pickle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pth.c reads little-endian storages in place; a big-endian host needs byte swapping"
#endif

/* ------------------------------------------------------------------ conversion */

static void convert_run(float *dst, const uint8_t *src, size_t n, size_t step, cx_stype t, const float *f16)
{
    /* step: bytes between consecutive source elements */
    switch (t) {
    case CX_ST_F32:
        if (step == 4) {
            memcpy(dst, src, n * 4);
        } else {
            for (size_t i = 0; i < n; i++, src += step) memcpy(&dst[i], src, 4);
        }
        break;
    case CX_ST_F16:
        for (size_t i = 0; i < n; i++, src += step) {
            uint16_t h;
            memcpy(&h, src, 2);
            dst[i] = f16 ? f16[h] : cx_f16_to_f32(h);
        }
        break;
    case CX_ST_BF16:
        for (size_t i = 0; i < n; i++, src += step) {
            uint32_t u = (uint32_t)src[0] << 16 | (uint32_t)src[1] << 24;
            memcpy(&dst[i], &u, 4);
        }
        break;
    case CX_ST_F64:
        for (size_t i = 0; i < n; i++, src += step) {
            double d;
            memcpy(&d, src, 8);
            dst[i] = (float)d;
        }
        break;
    default:
        break;
    }
}

/* Copies a strided view into dst (C order). Size-1 dimensions are dropped and
 * dimensions that are contiguous with their inner neighbour are merged, so a
 * contiguous tensor is one run. Sizes and strides are pre-validated. */
static void gather(float *dst, const uint8_t *base, const cx_pv *t, size_t esize, cx_stype st, const float *f16)
{
    int64_t size[CORTEX_MAX_DIMS], stride[CORTEX_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < t->u.tensor->ndim; i++) {
        int64_t s = t->u.tensor->size[i], r = t->u.tensor->stride[i];
        if (s == 1) continue;
        if (nd > 0 && stride[nd - 1] == r * s) { /* merge into the previous (outer) dim */
            size[nd - 1] *= s;
            stride[nd - 1] = r;
            continue;
        }
        size[nd] = s;
        stride[nd] = r;
        nd++;
    }
    const uint8_t *src0 = base + t->u.tensor->offset * esize;
    if (nd == 0) { convert_run(dst, src0, 1, esize, st, f16); return; }
    size_t inner = (size_t)size[nd - 1], istep = (size_t)stride[nd - 1] * esize;
    int64_t idx[CORTEX_MAX_DIMS] = { 0 };
    size_t outer = t->u.tensor->numel / inner;
    for (size_t o = 0; o < outer; o++) {
        size_t off = 0;
        for (int i = 0; i < nd - 1; i++) off += (size_t)idx[i] * (size_t)stride[i];
        convert_run(dst, src0 + off * esize, inner, istep, st, f16);
        dst += inner;
        for (int i = nd - 2; i >= 0; i--) {
            if (++idx[i] < size[i]) break;
            idx[i] = 0;
        }
    }
}

/* First touch of a big fresh buffer costs one page fault per 4 KiB; ask for
 * transparent huge pages over its 2 MiB-aligned interior (a hint: failure is
 * harmless). */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < 4 * huge) return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
    if (b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p; (void)n;
#endif
}

/* ------------------------------------------------------------------ reader */

typedef struct reader {
    cx_zip zip;
    cx_pickle pk;
    const char *prefix;     /* folder of data.pkl, with its trailing '/', or "" */
    size_t prefix_len;
    char *path;             /* scratch for "<prefix>data/<key>" */
    size_t path_cap;
    uint64_t out_budget;    /* bytes of float32 output still allowed */
    float *f16_lut;         /* float16 -> float32 for all 65536 codes, made on demand */
    char *err;
    size_t errlen;
} reader;

static const char *printable(char *buf, size_t n, const char *s, size_t len)
{
    return cx_zip_printable(buf, n, s, len);
}

static const cx_zip_entry *find_in_prefix(reader *r, const char *suffix, size_t slen)
{
    size_t need = r->prefix_len + slen;
    if (need > r->path_cap) {
        size_t nc = need + 64;
        char *np = realloc(r->path, nc);
        if (!np) return NULL;
        r->path = np;
        r->path_cap = nc;
    }
    memcpy(r->path, r->prefix, r->prefix_len);
    memcpy(r->path + r->prefix_len, suffix, slen);
    return cx_zip_find(&r->zip, r->path, need);
}

static cortex_status locate_pickle(reader *r, const cx_zip_entry **pkl)
{
    const cx_zip_entry *found = NULL;
    char a[96], b[96];
    for (size_t i = 0; i < r->zip.count; i++) {
        const cx_zip_entry *e = &r->zip.entries[i];
        size_t n = e->name_len;
        if (n < 8 || memcmp(e->name + n - 8, "data.pkl", 8) != 0) continue;
        if (n > 8) {
            if (e->name[n - 9] != '/') continue;
            if (memchr(e->name, '/', n - 9)) continue;   /* only <archive>/data.pkl */
        }
        if (found)
            return cx_errf(r->err, r->errlen, CORTEX_ERR_FORMAT, "archive holds two pickles ('%s' and '%s')",
                           printable(a, sizeof a, found->name, found->name_len),
                           printable(b, sizeof b, e->name, e->name_len));
        found = e;
    }
    if (!found)
        return cx_errf(r->err, r->errlen, CORTEX_ERR_FORMAT,
                       "zip archive has no <name>/data.pkl: not a torch.save checkpoint");
    r->prefix = found->name;
    r->prefix_len = found->name_len - 8;
    *pkl = found;
    return CORTEX_OK;
}

static cortex_status check_side_files(reader *r)
{
    const cx_zip_entry *e = find_in_prefix(r, "byteorder", 9);
    if (!r->path) return cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory");
    if (e) {
        const char *s = (const char *)cx_zip_data(&r->zip, e);
        size_t n = (size_t)e->size;
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
        if (n == 3 && memcmp(s, "big", 3) == 0)
            return cx_errf(r->err, r->errlen, CORTEX_ERR_UNSUPPORTED, "big-endian checkpoints are not supported");
        if (n != 6 || memcmp(s, "little", 6) != 0)
            return cx_errf(r->err, r->errlen, CORTEX_ERR_CORRUPT, "byteorder entry is neither 'little' nor 'big'");
    }
    e = find_in_prefix(r, "version", 7);
    if (e) {
        const char *s = (const char *)cx_zip_data(&r->zip, e);
        size_t n = (size_t)e->size, i = 0;
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (n == 0 || i != n || n > 9)
            return cx_errf(r->err, r->errlen, CORTEX_ERR_CORRUPT, "version entry is not a number");
    }
    return CORTEX_OK;
}

/* Converts one tensor of the state_dict; *data is NULL for a skipped
 * (non-float) tensor. */
static cortex_status load_tensor(reader *r, const char *name, const cx_pv *t, float **data)
{
    *data = NULL;
    const cx_pv *s = t->u.tensor->storage;
    cx_stype stype = s->u.storage.stype;
    size_t esize = cx_stype_size(stype);
    char kb[64];
    const char *key = printable(kb, sizeof kb, s->u.storage.key, s->u.storage.key_len);

    size_t dlen = 5 + s->u.storage.key_len;
    char *suffix = malloc(dlen);
    if (!suffix) return cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory");
    memcpy(suffix, "data/", 5);
    memcpy(suffix + 5, s->u.storage.key, s->u.storage.key_len);
    const cx_zip_entry *e = find_in_prefix(r, suffix, dlen);
    free(suffix);
    if (!e)
        return cx_errf(r->err, r->errlen, r->path ? CORTEX_ERR_CORRUPT : CORTEX_ERR_NOMEM,
                       "tensor '%s': storage '%s' has no data/%s entry in the archive", name, key, key);
    uint64_t need;
    if (__builtin_mul_overflow(s->u.storage.numel, (uint64_t)esize, &need) || need > e->size)
        return cx_errf(r->err, r->errlen, CORTEX_ERR_CORRUPT,
                       "tensor '%s': storage '%s' claims %llu %s elements but its entry holds %llu bytes", name,
                       key, (unsigned long long)s->u.storage.numel, cx_stype_name(stype),
                       (unsigned long long)e->size);
    if (!cx_stype_is_float(stype)) return CORTEX_OK;

    uint64_t numel = t->u.tensor->numel, bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)4, &bytes) || bytes > SIZE_MAX - CX_ALIGN)
        return cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "tensor '%s' is too large", name);
    if (bytes > r->out_budget)
        return cx_errf(r->err, r->errlen, CORTEX_ERR_UNSUPPORTED,
                       "tensor '%s' (%llu elements) would take the output past 8x the file size; "
                       "broadcast (stride 0) views this large are not supported", name, (unsigned long long)numel);
    r->out_budget -= bytes;
    float *out = cx_alloc((size_t)bytes);
    if (!out) return cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory for tensor '%s' (%llu bytes)",
                             name, (unsigned long long)bytes);
    advise_huge(out, (size_t)bytes);
    if (stype == CX_ST_F16 && numel >= 65536 && !r->f16_lut) {
        /* a table beats the bit twiddling once there is enough to convert */
        r->f16_lut = malloc(65536 * sizeof *r->f16_lut);
        if (r->f16_lut)
            for (uint32_t h = 0; h < 65536; h++) r->f16_lut[h] = cx_f16_to_f32((uint16_t)h);
    }
    if (numel) gather(out, cx_zip_data(&r->zip, e), t, esize, stype, r->f16_lut);
    *data = out;
    return CORTEX_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static cortex_status load_state_dict(reader *r, const cx_pv *sd, cx_tdict *out)
{
    size_t n = sd->u.seq.n;
    cortex_status st = CORTEX_OK;
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) return cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory");
    size_t nn = 0;
    char kb[96];
    for (size_t i = 0; i < n; i++) {
        const cx_pv *k = sd->u.seq.v[2 * i], *v = sd->u.seq.v[2 * i + 1];
        if (k->kind != CX_PV_STR) {
            st = cx_errf(r->err, r->errlen, CORTEX_ERR_FORMAT, "state_dict key %zu is %s, not a string", i,
                         cx_pv_kind_name(k->kind));
            goto done;
        }
        const char *ks = k->u.str.p;
        size_t kl = k->u.str.n;
        printable(kb, sizeof kb, ks, kl);
        if (memchr(ks, '\0', kl)) {
            st = cx_errf(r->err, r->errlen, CORTEX_ERR_CORRUPT, "state_dict key '%s' contains a NUL byte", kb);
            goto done;
        }
        if (v->kind != CX_PV_TENSOR) {
            st = cx_errf(r->err, r->errlen, CORTEX_ERR_FORMAT, "state_dict entry '%s' is %s, not a tensor", kb,
                         cx_pv_kind_name(v->kind));
            goto done;
        }
        if (kl >= 7 && memcmp(ks, "module.", 7) == 0) { ks += 7; kl -= 7; }
        char *name = malloc(kl + 1);
        if (!name) { st = cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory"); goto done; }
        memcpy(name, ks, kl);
        name[kl] = '\0';
        names[nn++] = name;
        float *data;
        printable(kb, sizeof kb, ks, kl);
        if ((st = load_tensor(r, kb, v, &data))) goto done;
        if (!data) continue;
        int64_t shape[CORTEX_MAX_DIMS];
        for (int d = 0; d < v->u.tensor->ndim; d++) shape[d] = v->u.tensor->size[d];
        st = cx_tdict_add(out, name, v->u.tensor->ndim, shape, data);
        if (st) {
            cx_free(data);
            st = cx_errf(r->err, r->errlen, CORTEX_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i + 1 < nn; i++) {
        if (strcmp(names[i], names[i + 1]) == 0) {
            st = cx_errf(r->err, r->errlen, CORTEX_ERR_CORRUPT, "duplicate state_dict key '%s'",
                         printable(kb, sizeof kb, names[i], strlen(names[i])));
            goto done;
        }
    }
done:
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    return st;
}

cortex_status cx_pth_read_memory(const void *data, size_t size, cx_tdict *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "no output dictionary");
    memset(out, 0, sizeof *out);
    if (!data || size == 0) return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "empty file");
    const uint8_t *d = data;
    /* torch.save before 1.6 (or with _use_new_zipfile_serialization=False)
     * wrote a bare pickle stream: PROTO then the magic number as a LONG1. */
    if (d[0] == 0x80 && size >= 2 && d[1] >= 2 && d[1] <= 5)
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT,
                       "legacy (pre-1.6) torch.save format is not supported; re-save with torch>=1.6");

    reader r;
    memset(&r, 0, sizeof r);
    r.err = err;
    r.errlen = errlen;
    /* output may legitimately exceed the file (float16 doubles, shared
     * storages repeat); this only stops huge stride-0 expansions */
    r.out_budget = (uint64_t)size * 8 + ((uint64_t)1 << 20);
    const cx_zip_entry *pkl = NULL;
    cortex_status st = cx_zip_open(&r.zip, data, size, err, errlen);
    if (st) return st;
    /* every entry against its CRC-32 before anything is interpreted: a
     * damaged checkpoint must not convert into a model with wrong weights */
    for (size_t i = 0; i < r.zip.count; i++)
        if ((st = cx_zip_check_crc(&r.zip, &r.zip.entries[i], err, errlen))) goto fail;
    if ((st = locate_pickle(&r, &pkl))) goto fail;
    if ((st = check_side_files(&r))) goto fail;
    if ((st = cx_pickle_load(&r.pk, cx_zip_data(&r.zip, pkl), (size_t)pkl->size, err, errlen))) goto fail;

    const cx_pv *root = r.pk.root, *sd = root;
    if (root->kind != CX_PV_DICT) {
        st = cx_errf(err, errlen, CORTEX_ERR_FORMAT, "checkpoint holds %s, not a dict of tensors (state_dict)",
                     cx_pv_kind_name(root->kind));
        goto fail;
    }
    const cx_pv *inner = cx_pv_dict_get(root, "state_dict");
    if (!inner || inner->kind != CX_PV_DICT) inner = cx_pv_dict_get(root, "model");
    if (inner && inner->kind == CX_PV_DICT) sd = inner;
    if ((st = load_state_dict(&r, sd, out))) goto fail;

    cx_pickle_free(&r.pk);
    cx_zip_close(&r.zip);
    free(r.path);
    free(r.f16_lut);
    return CORTEX_OK;
fail:
    cx_tdict_free(out);
    cx_pickle_free(&r.pk);
    cx_zip_close(&r.zip);
    free(r.path);
    free(r.f16_lut);
    return st;
}

cortex_status cx_pth_read_file(const char *path, cx_tdict *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "no output dictionary");
    memset(out, 0, sizeof *out);
    if (!path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "no path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "not a regular file");
    }
    if (sb.st_size <= 0) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "empty file");
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "file too large to map");
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    cortex_status st;
    if (map != MAP_FAILED) {
        close(fd);
        madvise(map, size, MADV_SEQUENTIAL);
        st = cx_pth_read_memory(map, size, out, err, errlen);
        munmap(map, size);
        return st;
    }
    /* mmap unavailable (some special file systems): read it all */
    uint8_t *buf = malloc(size);
    if (!buf) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory reading %zu bytes", size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            if (k == 0) return cx_errf(err, errlen, CORTEX_ERR_IO, "file shrank while reading");
            return cx_errf(err, errlen, CORTEX_ERR_IO, "read failed: %s", strerror(e));
        }
        got += (size_t)k;
    }
    close(fd);
    st = cx_pth_read_memory(buf, size, out, err, errlen);
    free(buf);
    return st;
}
