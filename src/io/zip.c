/* Bounded zip reader: see zip.h. Layouts follow PKWARE's APPNOTE.TXT. */
#include "io/zip.h"
#include "io/checksum.h"

#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL     0x04034b50u
#define SIG_CENTRAL   0x02014b50u
#define SIG_EOCD      0x06054b50u
#define SIG_EOCD64    0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define LOCAL_LEN     30u
#define CENTRAL_LEN   46u
#define EOCD_LEN      22u
#define EOCD64_LEN    56u
#define LOCATOR64_LEN 20u
#define MAX_COMMENT   65535u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

char *cx_zip_printable(char *buf, size_t bufsize, const char *s, size_t n)
{
    if (!buf || bufsize < 4) return buf;
    size_t room = bufsize - 1, k = 0;
    bool cut = n > room;
    if (cut) room -= 3;
    for (size_t i = 0; i < n && k < room; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (cut) { memcpy(buf + k, "...", 3); k += 3; }
    buf[k] = '\0';
    return buf;
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static int cmp_by_name(const void *x, const void *y)
{
    const cx_zip_entry *a = x, *b = y;
    return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int cmp_by_offset(const void *x, const void *y)
{
    const cx_zip_entry *a = *(const cx_zip_entry *const *)x, *b = *(const cx_zip_entry *const *)y;
    return a->header_off < b->header_off ? -1 : a->header_off > b->header_off ? 1 : 0;
}

/* Finds the last EOCD signature whose record (and comment) fits in the file. */
static bool find_eocd(const uint8_t *d, size_t size, size_t *pos)
{
    if (size < EOCD_LEN) return false;
    size_t hi = size - EOCD_LEN;
    size_t lo = hi > MAX_COMMENT ? hi - MAX_COMMENT : 0;
    for (size_t p = hi + 1; p-- > lo;) {
        if (d[p] == 0x50 && rd32(d + p) == SIG_EOCD) {
            size_t clen = rd16(d + p + 20);
            if (clen <= size - p - EOCD_LEN) { *pos = p; return true; }
        }
    }
    return false;
}

/* Reads the ZIP64 extended-information extra field (id 1) of a central header:
 * only the fields whose 32-bit value is the 0xFFFFFFFF sentinel are present, in
 * the order usize, csize, local header offset. */
static cortex_status parse_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                                 uint64_t *lho, bool need_u, bool need_c, bool need_o,
                                 const char *nm, char *err, size_t errlen)
{
    bool seen = false;
    size_t p = 0;
    while (p < xlen) {
        if (xlen - p < 4)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "zip entry '%s': truncated extra field", nm);
        uint16_t id = rd16(x + p), len = rd16(x + p + 2);
        p += 4;
        if (len > xlen - p)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "zip entry '%s': extra field runs past its header", nm);
        if (id == 0x0001 && !seen) {
            seen = true;
            size_t q = 0;
            uint64_t *dst[3] = { need_u ? usize : NULL, need_c ? csize : NULL, need_o ? lho : NULL };
            for (int i = 0; i < 3; i++) {
                if (!dst[i]) continue;
                if (len - q < 8)
                    return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                                   "zip entry '%s': ZIP64 extra field too short", nm);
                *dst[i] = rd64(x + p + q);
                q += 8;
            }
        }
        p += len;
    }
    if ((need_u || need_c || need_o) && !seen)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                       "zip entry '%s': 32-bit field is 0xFFFFFFFF but there is no ZIP64 extra field", nm);
    return CORTEX_OK;
}

cortex_status cx_zip_open(cx_zip *z, const void *data, size_t size, char *err, size_t errlen)
{
    const uint8_t *d = data;
    memset(z, 0, sizeof *z);
    if (!d || size == 0) return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "empty input");

    size_t eocd;
    if (!find_eocd(d, size, &eocd))
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a zip archive (no end-of-central-directory record)");

    const uint8_t *e = d + eocd;
    uint32_t disk = rd16(e + 4), cd_disk = rd16(e + 6);
    uint64_t n_disk = rd16(e + 8), n_total = rd16(e + 10);
    uint64_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    uint64_t limit = eocd; /* everything before the EOCD (or the ZIP64 EOCD) */

    if (eocd >= LOCATOR64_LEN && rd32(d + eocd - LOCATOR64_LEN) == SIG_LOCATOR64) {
        const uint8_t *l = d + eocd - LOCATOR64_LEN;
        uint32_t l_disk = rd32(l + 4), l_ndisks = rd32(l + 16);
        uint64_t off64 = rd64(l + 8);
        if (l_disk != 0 || l_ndisks > 1)
            return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "multi-disk zip archives are not supported");
        if (off64 > eocd - LOCATOR64_LEN || eocd - LOCATOR64_LEN - off64 < EOCD64_LEN)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "ZIP64 end-of-central-directory offset out of range");
        const uint8_t *z64 = d + off64;
        if (rd32(z64) != SIG_EOCD64)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "bad ZIP64 end-of-central-directory signature");
        uint64_t rec = rd64(z64 + 4);
        if (rec < EOCD64_LEN - 12 || rec > eocd - LOCATOR64_LEN - off64 - 12)
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "bad ZIP64 end-of-central-directory record size");
        uint32_t disk64 = rd32(z64 + 16), cd_disk64 = rd32(z64 + 20);
        uint64_t n_disk64 = rd64(z64 + 24), n_total64 = rd64(z64 + 32);
        uint64_t cd_size64 = rd64(z64 + 40), cd_off64 = rd64(z64 + 48);
        /* 32-bit values that are not sentinels must agree with the ZIP64 ones */
        if ((disk != 0xFFFF && disk != disk64) || (cd_disk != 0xFFFF && cd_disk != cd_disk64) ||
            (n_disk != 0xFFFF && n_disk != n_disk64) || (n_total != 0xFFFF && n_total != n_total64) ||
            (cd_size != 0xFFFFFFFF && cd_size != cd_size64) || (cd_off != 0xFFFFFFFF && cd_off != cd_off64))
            return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                           "end-of-central-directory and ZIP64 record disagree");
        disk = disk64; cd_disk = cd_disk64; n_disk = n_disk64; n_total = n_total64;
        cd_size = cd_size64; cd_off = cd_off64;
        limit = off64;
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n_total)
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "multi-disk zip archives are not supported");
    if (cd_off > limit || cd_size > limit - cd_off)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                       "central directory (offset %llu, %llu bytes) lies outside the archive",
                       (unsigned long long)cd_off, (unsigned long long)cd_size);
    if (n_total > cd_size / CENTRAL_LEN)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                       "central directory of %llu bytes cannot hold %llu entries",
                       (unsigned long long)cd_size, (unsigned long long)n_total);
    if (n_total == 0) return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "empty zip archive");

    cx_zip_entry *ents = calloc((size_t)n_total, sizeof *ents);
    cx_zip_entry **by_off = malloc((size_t)n_total * sizeof *by_off);
    if (!ents || !by_off) {
        free(ents); free(by_off);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for %llu zip entries",
                       (unsigned long long)n_total);
    }
    cortex_status st = CORTEX_OK;
    char nm[96];
    const uint8_t *cd = d + cd_off;
    size_t p = 0;
    for (size_t i = 0; i < n_total; i++) {
        if (cd_size - p < CENTRAL_LEN || rd32(cd + p) != SIG_CENTRAL) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "central directory entry %zu: bad signature or truncated", i);
            goto fail;
        }
        const uint8_t *h = cd + p;
        uint16_t flags = rd16(h + 8), method = rd16(h + 10);
        uint64_t csize = rd32(h + 20), usize = rd32(h + 24);
        size_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
        uint32_t dstart = rd16(h + 34);
        uint64_t lho = rd32(h + 42);
        if (nlen + xlen + clen > cd_size - p - CENTRAL_LEN) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "central directory entry %zu runs past the directory", i);
            goto fail;
        }
        const char *name = (const char *)h + CENTRAL_LEN;
        cx_zip_printable(nm, sizeof nm, name, nlen);
        if (nlen == 0) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "central directory entry %zu has an empty name", i);
            goto fail;
        }
        st = parse_extra(h + CENTRAL_LEN + nlen, xlen, &usize, &csize, &lho, usize == 0xFFFFFFFF,
                         csize == 0xFFFFFFFF, lho == 0xFFFFFFFF, nm, err, errlen);
        if (st) goto fail;
        if (flags & 0x0041) {
            st = cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "zip entry '%s' is encrypted", nm);
            goto fail;
        }
        if (method != 0) {
            st = cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED,
                         "zip entry '%s' is compressed (method %u); only stored entries are supported "
                         "(torch.save writes them uncompressed)", nm, method);
            goto fail;
        }
        if (dstart != 0 && dstart != 0xFFFF) {
            st = cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "multi-disk zip archives are not supported");
            goto fail;
        }
        if (csize != usize) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                         "zip entry '%s' is stored but its sizes differ (%llu vs %llu)", nm,
                         (unsigned long long)csize, (unsigned long long)usize);
            goto fail;
        }
        /* local header: must precede the central directory */
        if (lho > cd_off || cd_off - lho < LOCAL_LEN || rd32(d + lho) != SIG_LOCAL) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "zip entry '%s': local header missing or out of range", nm);
            goto fail;
        }
        const uint8_t *lh = d + lho;
        uint16_t lflags = rd16(lh + 6), lmethod = rd16(lh + 8);
        uint32_t lcsize = rd32(lh + 18), lusize = rd32(lh + 22);
        size_t lnlen = rd16(lh + 26), lxlen = rd16(lh + 28);
        if (lmethod != method || (lflags & 0x0041)) {
            st = cx_errf(err, errlen, (lflags & 0x0041) ? CORTEX_ERR_UNSUPPORTED : CORTEX_ERR_CORRUPT,
                         "zip entry '%s': local header %s", nm,
                         (lflags & 0x0041) ? "marks it encrypted" : "disagrees on the method");
            goto fail;
        }
        if (lnlen != nlen) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                         "zip entry '%s': local header name length %zu, central directory says %zu", nm, lnlen, nlen);
            goto fail;
        }
        uint64_t data_off = lho + LOCAL_LEN + lnlen + lxlen;
        if (data_off > cd_off || usize > cd_off - data_off) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                         "zip entry '%s': data (%llu bytes) runs past the start of the central directory", nm,
                         (unsigned long long)usize);
            goto fail;
        }
        if (memcmp(lh + LOCAL_LEN, name, nlen) != 0) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "zip entry '%s': local header has a different name", nm);
            goto fail;
        }
        if (!(lflags & 0x0008) &&
            ((lcsize != 0xFFFFFFFF && lcsize != csize) || (lusize != 0xFFFFFFFF && lusize != usize))) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                         "zip entry '%s': local header size %u disagrees with central directory size %llu", nm,
                         lusize, (unsigned long long)usize);
            goto fail;
        }
        ents[i].name = name;
        ents[i].name_len = nlen;
        ents[i].header_off = lho;
        ents[i].data_off = data_off;
        ents[i].size = usize;
        ents[i].crc = rd32(h + 16);
        by_off[i] = &ents[i];
        p += CENTRAL_LEN + nlen + xlen + clen;
    }
    if (p != cd_size) {
        st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                     "central directory size %llu but its %llu entries take %zu bytes",
                     (unsigned long long)cd_size, (unsigned long long)n_total, p);
        goto fail;
    }
    /* no two entries may share bytes (header through end of data) */
    qsort(by_off, (size_t)n_total, sizeof *by_off, cmp_by_offset);
    for (size_t i = 0; i + 1 < n_total; i++) {
        if (by_off[i]->data_off + by_off[i]->size > by_off[i + 1]->header_off) {
            char nm2[96];
            cx_zip_printable(nm, sizeof nm, by_off[i]->name, by_off[i]->name_len);
            cx_zip_printable(nm2, sizeof nm2, by_off[i + 1]->name, by_off[i + 1]->name_len);
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "zip entries '%s' and '%s' overlap", nm, nm2);
            goto fail;
        }
    }
    free(by_off);
    by_off = NULL;
    qsort(ents, (size_t)n_total, sizeof *ents, cmp_by_name);
    for (size_t i = 0; i + 1 < n_total; i++) {
        if (cmp_by_name(&ents[i], &ents[i + 1]) == 0) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "duplicate zip entry '%s'",
                         cx_zip_printable(nm, sizeof nm, ents[i].name, ents[i].name_len));
            goto fail;
        }
    }
    z->base = d;
    z->size = size;
    z->entries = ents;
    z->count = (size_t)n_total;
    return CORTEX_OK;

fail:
    free(ents);
    free(by_off);
    return st;
}

const cx_zip_entry *cx_zip_find(const cx_zip *z, const char *name, size_t len)
{
    size_t lo = 0, hi = z->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(z->entries[mid].name, z->entries[mid].name_len, name, len);
        if (c == 0) return &z->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

cortex_status cx_zip_check_crc(const cx_zip *z, const cx_zip_entry *e, char *err, size_t errlen)
{
    /* entries are < 2^64 bytes but size_t may be narrower: feed in pieces */
    uint32_t c = 0;
    const uint8_t *p = z->base + e->data_off;
    for (uint64_t left = e->size; left > 0;) {
        size_t n = left > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)left;
        c = cx_crc32(p, n, c);
        p += n;
        left -= n;
    }
    if (c == e->crc) return CORTEX_OK;
    char nm[96];
    return cx_errf(err, errlen, CORTEX_ERR_CORRUPT,
                   "zip entry '%s' (%llu bytes) is damaged: its CRC-32 is %08x, the archive records %08x",
                   cx_zip_printable(nm, sizeof nm, e->name, e->name_len), (unsigned long long)e->size, c, e->crc);
}

void cx_zip_close(cx_zip *z)
{
    free(z->entries);
    memset(z, 0, sizeof *z);
}
