/* Strict .npy reader/writer for float32 C-order arrays.
 *
 * File: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for
 * 2.0 and 3.0), then the header: a Python dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape' (any order), padded with spaces and
 * ended by '\n'; then the raw data. The header is parsed by a small real
 * parser (strings in either quote, True/False, tuples with optional trailing
 * comma), never by pattern matching. */
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAX_HEADER 65536u

static const unsigned char NPY_MAGIC[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

static const char *errno_text(int e, char *buf, size_t n)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(e, buf, n);
#else
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "errno %d", e);
    return buf;
#endif
}

/* ------------------------------------------------------------------ header parser */

typedef struct {
    const char *s;
    size_t pos, n;
    char *err;
    size_t errlen;
} parser;

typedef struct {
    size_t data_off;        /* bytes before the data */
    int ndim;
    int64_t shape[CORTEX_MAX_DIMS];
    size_t numel, nbytes;
} npy_info;

static void skip_ws(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                             p->s[p->pos] == '\r' || p->s[p->pos] == '\f' || p->s[p->pos] == '\v'))
        p->pos++;
}

static int peek(const parser *p) { return p->pos < p->n ? (unsigned char)p->s[p->pos] : -1; }

/* printable rendering of a short piece of the header, for messages */
static const char *show(char *buf, size_t bufsz, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char tmp[8];
        unsigned char c = (unsigned char)s[i];
        int k;
        if (c >= 0x20 && c < 0x7f) { tmp[0] = (char)c; k = 1; }
        else k = snprintf(tmp, sizeof tmp, "\\x%02x", c);
        if (o + (size_t)k + 4 > bufsz) { memcpy(buf + o, "...", 4); return buf; }
        memcpy(buf + o, tmp, (size_t)k);
        o += (size_t)k;
    }
    buf[o] = '\0';
    return buf;
}

static cortex_status bad(parser *p, const char *what)
{
    char near[48];
    size_t rest = p->n - p->pos;
    return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: %s at column %zu (near \"%s\")", what, p->pos,
                   show(near, sizeof near, p->s + p->pos, rest < 16 ? rest : 16));
}

static cortex_status expect_char(parser *p, char c, const char *what)
{
    skip_ws(p);
    if (peek(p) != (unsigned char)c) return bad(p, what);
    p->pos++;
    return CORTEX_OK;
}

/* a Python string literal without escapes: '...' or "..." */
static cortex_status parse_str(parser *p, const char **s, size_t *len)
{
    skip_ws(p);
    int q = peek(p);
    if (q != '\'' && q != '"') return bad(p, "expected a string");
    size_t start = ++p->pos;
    while (p->pos < p->n && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n') return bad(p, "unsupported character in string");
        p->pos++;
    }
    if (p->pos >= p->n) return bad(p, "unterminated string");
    *s = p->s + start;
    *len = p->pos - start;
    p->pos++;
    return CORTEX_OK;
}

static bool word(parser *p, const char *w)
{
    size_t n = strlen(w);
    if (p->n - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return false;
    /* not a prefix of a longer identifier */
    if (p->pos + n < p->n) {
        char c = p->s[p->pos + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return false;
    }
    p->pos += n;
    return true;
}

static cortex_status parse_shape(parser *p, npy_info *h)
{
    cortex_status st;
    if ((st = expect_char(p, '(', "expected '(' for the shape tuple"))) return st;
    int n = 0;
    bool comma_after_last = false;
    for (;;) {
        skip_ws(p);
        if (peek(p) == ')') { p->pos++; break; }
        if (n > 0 && !comma_after_last) return bad(p, "expected ',' or ')' in the shape");
        if (peek(p) == '-') return bad(p, "negative dimension in the shape");
        if (peek(p) < '0' || peek(p) > '9') return bad(p, "expected a dimension in the shape");
        uint64_t v = 0;
        while (peek(p) >= '0' && peek(p) <= '9') {
            unsigned d = (unsigned)(peek(p) - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10) return bad(p, "dimension too large");
            v = v * 10 + d;
            p->pos++;
        }
        if (peek(p) == 'L') p->pos++;   /* Python 2 longs, as old NumPy wrote them */
        if (n == CORTEX_MAX_DIMS)
            return cx_errf(p->err, p->errlen, CORTEX_ERR_UNSUPPORTED, "shape has more than %d dimensions",
                           CORTEX_MAX_DIMS);
        h->shape[n++] = (int64_t)v;
        skip_ws(p);
        comma_after_last = false;
        if (peek(p) == ',') { p->pos++; comma_after_last = true; }
    }
    if (n == 1 && !comma_after_last) {
        p->pos--;
        return bad(p, "shape '(N)' is not a tuple (a 1-tuple is '(N,)')");
    }
    h->ndim = n;
    return CORTEX_OK;
}

static cortex_status parse_dict(parser *p, npy_info *h)
{
    cortex_status st;
    bool have_descr = false, have_fo = false, have_shape = false, fortran = false;
    const char *descr = NULL;
    size_t descr_len = 0;
    char shown[80];
    if ((st = expect_char(p, '{', "expected '{'"))) return st;
    for (;;) {
        skip_ws(p);
        if (peek(p) == '}') { p->pos++; break; }
        const char *k;
        size_t kl;
        if ((st = parse_str(p, &k, &kl))) return st;
        if ((st = expect_char(p, ':', "expected ':' after a key"))) return st;
        skip_ws(p);
        if (kl == 5 && memcmp(k, "descr", 5) == 0) {
            if (have_descr) return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: duplicate key 'descr'");
            have_descr = true;
            if (peek(p) == '[')
                return cx_errf(p->err, p->errlen, CORTEX_ERR_UNSUPPORTED,
                               "structured dtype not supported: need float32 ('<f4')");
            if ((st = parse_str(p, &descr, &descr_len))) return st;
        } else if (kl == 13 && memcmp(k, "fortran_order", 13) == 0) {
            if (have_fo) return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: duplicate key 'fortran_order'");
            have_fo = true;
            if (word(p, "True")) fortran = true;
            else if (!word(p, "False")) return bad(p, "fortran_order must be True or False");
        } else if (kl == 5 && memcmp(k, "shape", 5) == 0) {
            if (have_shape) return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: duplicate key 'shape'");
            have_shape = true;
            if ((st = parse_shape(p, h))) return st;
        } else {
            return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: unexpected key '%s'",
                           show(shown, sizeof shown, k, kl));
        }
        skip_ws(p);
        if (peek(p) == ',') { p->pos++; continue; }
        if (peek(p) == '}') { p->pos++; break; }
        return bad(p, "expected ',' or '}' after a value");
    }
    skip_ws(p);
    if (p->pos != p->n) return bad(p, "unexpected text after the header dict");
    if (!have_descr || !have_fo || !have_shape)
        return cx_errf(p->err, p->errlen, CORTEX_ERR_CORRUPT, "bad header: missing key '%s'",
                       !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    /* semantics only once the whole dict parsed */
    if (descr_len != 3 || memcmp(descr, "<f4", 3) != 0)
        return cx_errf(p->err, p->errlen, CORTEX_ERR_UNSUPPORTED, "dtype '%s' not supported: need float32 ('<f4')",
                       show(shown, sizeof shown, descr, descr_len));
    if (fortran)
        return cx_errf(p->err, p->errlen, CORTEX_ERR_UNSUPPORTED, "fortran_order True not supported: need C order");
    return CORTEX_OK;
}

/* Parses the preamble and header from buf (avail bytes of a file of total bytes). */
static cortex_status parse_header(const unsigned char *buf, size_t avail, size_t total, npy_info *h,
                                  char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (total < 6 || memcmp(buf, NPY_MAGIC, 6) != 0)
        return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a .npy file (no \\x93NUMPY magic)");
    if (total < 8) return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: %zu bytes, no version", total);
    unsigned major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "npy format version %u.%u not supported (1.0, 2.0, 3.0 are)",
                       major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (total < pre)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: %zu bytes, no header length", total);
    size_t hlen = major == 1 ? (size_t)buf[8] | (size_t)buf[9] << 8
                             : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "header length %zu exceeds the %u-byte limit", hlen, NPY_MAX_HEADER);
    if (total - pre < hlen)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: header says %zu bytes of header, file has %zu",
                       hlen, total - pre);
    if (avail < pre + hlen)
        return cx_errf(err, errlen, CORTEX_ERR_INTERNAL, "header not fully read");
    parser p = { (const char *)buf + pre, 0, hlen, err, errlen };
    cortex_status st = parse_dict(&p, h);
    if (st) return st;
    h->data_off = pre + hlen;
    size_t numel = 1;
    bool zero = false, ovf = false;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0) zero = true;
        if ((uint64_t)h->shape[i] > SIZE_MAX || !cx_mul_ok(numel, (size_t)h->shape[i], &numel)) ovf = true;
    }
    if (zero) numel = 0;
    if ((ovf && !zero) || !cx_mul_ok(numel, sizeof(float), &h->nbytes))
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "shape size overflows");
    h->numel = numel;
    size_t have = total - h->data_off;
    if (have < h->nbytes)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated: shape needs %zu bytes of data, file has %zu",
                       h->nbytes, have);
    if (have > h->nbytes)
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%zu trailing bytes after the %zu bytes of data",
                       have - h->nbytes, h->nbytes);
    return CORTEX_OK;
}

static void fix_endian(float *d, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &d[i], 4);
        v = __builtin_bswap32(v);
        memcpy(&d[i], &v, 4);
    }
#else
    (void)d;
    (void)n;
#endif
}

static cortex_status fill_out(const npy_info *h, cx_npy *out, float **data, char *err, size_t errlen)
{
    *data = cx_alloc(h->nbytes);
    if (!*data) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for %zu bytes", h->nbytes);
    out->ndim = h->ndim;
    for (int i = 0; i < h->ndim; i++) out->shape[i] = h->shape[i];
    out->numel = h->numel;
    return CORTEX_OK;
}

cortex_status cx_npy_read_memory(const void *buf, size_t size, cx_npy *out, char *err, size_t errlen)
{
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL output");
    memset(out, 0, sizeof *out);
    if (!buf && size) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL buffer");
    npy_info h;
    cortex_status st = parse_header(buf, size, size, &h, err, errlen);
    if (st) return st;
    float *d;
    if ((st = fill_out(&h, out, &d, err, errlen))) return st;
    if (h.nbytes) memcpy(d, (const unsigned char *)buf + h.data_off, h.nbytes);
    fix_endian(d, h.numel);
    out->data = d;
    return CORTEX_OK;
}

static bool read_full(int fd, void *p, size_t n, size_t *got)
{
    unsigned char *b = p;
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        ssize_t k = read(fd, b + *got, want > ((size_t)1 << 30) ? ((size_t)1 << 30) : want);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (k == 0) break;
        *got += (size_t)k;
    }
    return true;
}

cortex_status cx_npy_read_file(const char *path, cx_npy *out, char *err, size_t errlen)
{
    char eb[128];
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot open: %s", errno_text(errno, eb, sizeof eb));
    struct stat sb;
    cortex_status st = CORTEX_OK;
    unsigned char *head = NULL;
    float *d = NULL;
    if (fstat(fd, &sb) != 0) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot stat: %s", errno_text(errno, eb, sizeof eb));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "not a regular file");
        goto done;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = cx_errf(err, errlen, CORTEX_ERR_NOMEM, "file too large");
        goto done;
    }
    size_t total = (size_t)sb.st_size;
    size_t hmax = 12 + NPY_MAX_HEADER, hwant = total < hmax ? total : hmax, got;
    head = malloc(hwant ? hwant : 1);
    if (!head) {
        st = cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!read_full(fd, head, hwant, &got)) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "read failed: %s", errno_text(errno, eb, sizeof eb));
        goto done;
    }
    if (got != hwant) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "file shrank while reading");
        goto done;
    }
    npy_info h;
    if ((st = parse_header(head, hwant, total, &h, err, errlen))) goto done;
    if ((st = fill_out(&h, out, &d, err, errlen))) goto done;
    /* data: what the header read already holds, then the rest from the file */
    size_t in_head = hwant - h.data_off;
    if (in_head > h.nbytes) in_head = h.nbytes;
    memcpy(d, head + h.data_off, in_head);
    if (!read_full(fd, (unsigned char *)d + in_head, h.nbytes - in_head, &got)) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "read failed: %s", errno_text(errno, eb, sizeof eb));
        goto done;
    }
    if (got != h.nbytes - in_head) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "file shrank while reading");
        goto done;
    }
    fix_endian(d, h.numel);
    out->data = d;
    d = NULL;
done:
    if (st) memset(out, 0, sizeof *out);
    cx_free(d);
    free(head);
    close(fd);
    return st;
}

cortex_status cx_npy_write_file(const char *path, const float *data, int ndim, const int64_t *shape,
                                char *err, size_t errlen)
{
    char eb[128];
    if (!path || ndim < 0 || ndim > CORTEX_MAX_DIMS || (ndim && !shape))
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "bad arguments (ndim %d)", ndim);
    size_t numel = 1;
    bool zero = false, ovf = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "negative dimension %lld", (long long)shape[i]);
        if (shape[i] == 0) zero = true;
        if ((uint64_t)shape[i] > SIZE_MAX || !cx_mul_ok(numel, (size_t)shape[i], &numel)) ovf = true;
    }
    if (zero) numel = 0;
    size_t nbytes;
    if ((ovf && !zero) || !cx_mul_ok(numel, sizeof(float), &nbytes))
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "shape size overflows");
    if (nbytes && !data) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL data");

    /* the header as NumPy writes it, padded with spaces to a 64-byte multiple with '\n' last */
    char hdr[512];
    int n = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += snprintf(hdr + 10 + n, sizeof hdr - 10 - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    n += snprintf(hdr + 10 + n, sizeof hdr - 10 - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    size_t total = CX_ROUND_UP(10 + (size_t)n + 1, 64);
    memset(hdr + 10 + n, ' ', total - 10 - (size_t)n);
    hdr[total - 1] = '\n';
    memcpy(hdr, NPY_MAGIC, 6);
    hdr[6] = 1;
    hdr[7] = 0;
    size_t hlen = total - 10;
    hdr[8] = (char)(hlen & 0xff);
    hdr[9] = (char)(hlen >> 8);

    /* A regular file is replaced atomically (temporary file, then rename). An
     * existing non-regular file (/dev/null, /dev/stdout, a FIFO) is written in
     * place: renaming over it would replace a device node with a plain file. */
    struct stat sb;
    bool direct = stat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
    if (direct && S_ISDIR(sb.st_mode)) return cx_errf(err, errlen, CORTEX_ERR_IO, "is a directory");
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");
    if (direct) snprintf(tmp, tl, "%s", path);
    else snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int fd = direct ? open(path, O_WRONLY | O_CLOEXEC) : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cortex_status st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot %s '%s': %s", direct ? "open" : "create", tmp,
                                   errno_text(errno, eb, sizeof eb));
        free(tmp);
        return st;
    }
    bool ok = true;
    const unsigned char *parts[2] = { (const unsigned char *)hdr, (const unsigned char *)data };
    size_t lens[2] = { total, nbytes };
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "cx_npy_write_file: big-endian hosts need a byte-swapping writer"
#endif
    for (int k = 0; k < 2 && ok; k++) {
        size_t off = 0;
        while (ok && off < lens[k]) {
            size_t want = lens[k] - off;
            ssize_t w = write(fd, parts[k] + off, want > ((size_t)1 << 30) ? ((size_t)1 << 30) : want);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { ok = false; if (w == 0) errno = EIO; break; }
            off += (size_t)w;
        }
    }
    int e = errno;
    if (close(fd) != 0 && ok) { ok = false; e = errno; }
    cortex_status st = CORTEX_OK;
    if (direct) {
        if (!ok) st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot write: %s", errno_text(e, eb, sizeof eb));
    } else if (ok && rename(tmp, path) != 0) {
        e = errno;
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, errno_text(e, eb, sizeof eb));
        unlink(tmp);
    } else if (!ok) {
        st = cx_errf(err, errlen, CORTEX_ERR_IO, "cannot write '%s': %s", tmp, errno_text(e, eb, sizeof eb));
        unlink(tmp);
    }
    free(tmp);
    return st;
}

void cx_npy_free(cx_npy *a)
{
    if (!a) return;
    cx_free(a->data);
    memset(a, 0, sizeof *a);
}
