/* Bounded pickle interpreter for torch.save's data.pkl: see pickle.h.
 * Opcode semantics follow CPython's Lib/pickle.py documentation (format facts);
 * everything unknown or unneeded is refused with an error that names it. */
#include "io/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arena */

struct cx_pk_chunk {
    cx_pk_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_MIN ((size_t)64 << 10)

static void *arena_alloc(cx_pickle *pk, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    cx_pk_chunk *c = pk->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        if (cap > pk->arena_limit - pk->arena_bytes) return NULL;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = pk->chunks;
        c->used = 0;
        c->cap = cap;
        pk->chunks = c;
        pk->arena_bytes += cap;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void cx_pickle_free(cx_pickle *pk)
{
    cx_pk_chunk *c = pk->chunks;
    while (c) {
        cx_pk_chunk *nx = c->next;
        free(c);
        c = nx;
    }
    pk->chunks = NULL;
    pk->arena_bytes = 0;
    pk->root = NULL;
}

/* ------------------------------------------------------------------ type facts */

const char *cx_pv_kind_name(cx_pv_kind k)
{
    switch (k) {
    case CX_PV_NONE: return "None";
    case CX_PV_BOOL: return "a bool";
    case CX_PV_INT: return "an int";
    case CX_PV_FLOAT: return "a float";
    case CX_PV_STR: return "a str";
    case CX_PV_BYTES: return "bytes";
    case CX_PV_TUPLE: return "a tuple";
    case CX_PV_LIST: return "a list";
    case CX_PV_DICT: return "a dict";
    case CX_PV_GLOBAL: return "a global";
    case CX_PV_STORAGE: return "a storage";
    case CX_PV_TENSOR: return "a tensor";
    }
    return "?";
}

size_t cx_stype_size(cx_stype t)
{
    switch (t) {
    case CX_ST_F64: case CX_ST_I64: return 8;
    case CX_ST_F32: case CX_ST_I32: return 4;
    case CX_ST_F16: case CX_ST_BF16: case CX_ST_I16: return 2;
    case CX_ST_I8: case CX_ST_U8: case CX_ST_BOOL: return 1;
    }
    return 0;
}

const char *cx_stype_name(cx_stype t)
{
    switch (t) {
    case CX_ST_F32: return "float32";
    case CX_ST_F16: return "float16";
    case CX_ST_BF16: return "bfloat16";
    case CX_ST_F64: return "float64";
    case CX_ST_I64: return "int64";
    case CX_ST_I32: return "int32";
    case CX_ST_I16: return "int16";
    case CX_ST_I8: return "int8";
    case CX_ST_U8: return "uint8";
    case CX_ST_BOOL: return "bool";
    }
    return "?";
}

bool cx_stype_is_float(cx_stype t)
{
    return t == CX_ST_F32 || t == CX_ST_F16 || t == CX_ST_BF16 || t == CX_ST_F64;
}

static bool str_eq(const cx_pv *v, const char *s)
{
    size_t n = strlen(s);
    return v && v->kind == CX_PV_STR && v->u.str.n == n && memcmp(v->u.str.p, s, n) == 0;
}

const cx_pv *cx_pv_dict_get(const cx_pv *dict, const char *key)
{
    if (!dict || dict->kind != CX_PV_DICT) return NULL;
    for (size_t i = 0; i < dict->u.seq.n; i++)
        if (str_eq(dict->u.seq.v[2 * i], key)) return dict->u.seq.v[2 * i + 1];
    return NULL;
}

static const struct {
    const char *mod, *name;
    cx_pglobal id;
    cx_stype stype;
} KNOWN[] = {
    { "collections", "OrderedDict", CX_PG_ORDERED_DICT, CX_ST_F32 },
    { "torch._utils", "_rebuild_tensor_v2", CX_PG_REBUILD_TENSOR_V2, CX_ST_F32 },
    { "torch._utils", "_rebuild_parameter", CX_PG_REBUILD_PARAMETER, CX_ST_F32 },
    { "torch._utils", "_rebuild_parameter_with_state", CX_PG_REBUILD_PARAMETER_WITH_STATE, CX_ST_F32 },
    { "torch", "FloatStorage", CX_PG_STORAGE_TYPE, CX_ST_F32 },
    { "torch", "HalfStorage", CX_PG_STORAGE_TYPE, CX_ST_F16 },
    { "torch", "BFloat16Storage", CX_PG_STORAGE_TYPE, CX_ST_BF16 },
    { "torch", "DoubleStorage", CX_PG_STORAGE_TYPE, CX_ST_F64 },
    { "torch", "LongStorage", CX_PG_STORAGE_TYPE, CX_ST_I64 },
    { "torch", "IntStorage", CX_PG_STORAGE_TYPE, CX_ST_I32 },
    { "torch", "ShortStorage", CX_PG_STORAGE_TYPE, CX_ST_I16 },
    { "torch", "CharStorage", CX_PG_STORAGE_TYPE, CX_ST_I8 },
    { "torch", "ByteStorage", CX_PG_STORAGE_TYPE, CX_ST_U8 },
    { "torch", "BoolStorage", CX_PG_STORAGE_TYPE, CX_ST_BOOL },
};

/* Name of a real pickle opcode (any protocol), or NULL for a byte that is none. */
static const char *opcode_name(uint8_t op)
{
    switch (op) {
    case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP";
    case '1': return "POP_MARK"; case '2': return "DUP"; case 'F': return "FLOAT";
    case 'I': return "INT"; case 'J': return "BININT"; case 'K': return "BININT1";
    case 'L': return "LONG"; case 'M': return "BININT2"; case 'N': return "NONE";
    case 'P': return "PERSID"; case 'Q': return "BINPERSID"; case 'R': return "REDUCE";
    case 'S': return "STRING"; case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE"; case 'X': return "BINUNICODE"; case 'a': return "APPEND";
    case 'b': return "BUILD"; case 'c': return "GLOBAL"; case 'd': return "DICT";
    case '}': return "EMPTY_DICT"; case 'e': return "APPENDS"; case 'g': return "GET";
    case 'h': return "BINGET"; case 'i': return "INST"; case 'j': return "LONG_BINGET";
    case 'l': return "LIST"; case ']': return "EMPTY_LIST"; case 'o': return "OBJ";
    case 'p': return "PUT"; case 'q': return "BINPUT"; case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM"; case 't': return "TUPLE"; case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS"; case 'G': return "BINFLOAT"; case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO"; case 0x81: return "NEWOBJ"; case 0x82: return "EXT1";
    case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3"; case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE"; case 0x8a: return "LONG1"; case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET"; case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX"; case 0x93: return "STACK_GLOBAL"; case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME"; case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    }
    return NULL;
}

/* ------------------------------------------------------------------ machine */

typedef struct vm {
    cx_pickle *pk;
    const uint8_t *d;
    size_t n, pos;
    size_t op_pos;      /* offset of the opcode being run, for messages */
    cx_pv **stack;
    size_t sn, scap;
    size_t *marks;
    size_t mn, mcap;
    cx_pv **memo;
    size_t memo_cap, memo_len;
    char *err;
    size_t errlen;
} vm;

#define FAIL(st, ...) return fail_at(m, st, __VA_ARGS__)

__attribute__((format(printf, 3, 4)))
static cortex_status fail_at(vm *m, cortex_status st, const char *fmt, ...)
{
    if (m->err && m->errlen) {
        int k = snprintf(m->err, m->errlen, "pickle offset %zu: ", m->op_pos);
        if (k >= 0 && (size_t)k < m->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(m->err + k, m->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return st;
}

static cortex_status oom(vm *m)
{
    return fail_at(m, CORTEX_ERR_NOMEM, "out of memory (pickle objects need more than %zu MiB)",
                   m->pk->arena_limit >> 20);
}

static cortex_status take(vm *m, size_t k, const uint8_t **p)
{
    if (k > m->n - m->pos) FAIL(CORTEX_ERR_CORRUPT, "pickle truncated (needs %zu more bytes)", k);
    *p = m->d + m->pos;
    m->pos += k;
    return CORTEX_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }

static cx_pv *new_pv(vm *m, cx_pv_kind k)
{
    cx_pv *v = arena_alloc(m->pk, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->kind = k;
    }
    return v;
}

static cortex_status push(vm *m, cx_pv *v)
{
    if (!v) return oom(m);
    if (m->sn == m->scap) {
        if (m->scap >= CX_PK_MAX_STACK) FAIL(CORTEX_ERR_UNSUPPORTED, "pickle stack deeper than %u", CX_PK_MAX_STACK);
        size_t nc = m->scap ? m->scap * 2 : 256;
        cx_pv **ns = realloc(m->stack, nc * sizeof *ns);
        if (!ns) return oom(m);
        m->stack = ns;
        m->scap = nc;
    }
    m->stack[m->sn++] = v;
    return CORTEX_OK;
}

static size_t seg_base(const vm *m) { return m->mn ? m->marks[m->mn - 1] : 0; }

static cortex_status pop(vm *m, cx_pv **v)
{
    if (m->sn <= seg_base(m)) FAIL(CORTEX_ERR_CORRUPT, "pickle stack underflow");
    *v = m->stack[--m->sn];
    return CORTEX_OK;
}

static cortex_status top(vm *m, cx_pv **v)
{
    if (m->sn <= seg_base(m)) FAIL(CORTEX_ERR_CORRUPT, "pickle stack underflow");
    *v = m->stack[m->sn - 1];
    return CORTEX_OK;
}

/* Pops everything above the topmost mark and the mark itself; the items stay
 * readable at *items until the next push. */
static cortex_status pop_mark(vm *m, cx_pv ***items, size_t *count)
{
    if (m->mn == 0) FAIL(CORTEX_ERR_CORRUPT, "pickle MARK missing");
    size_t base = m->marks[--m->mn];
    *items = m->stack ? m->stack + base : NULL;
    *count = m->sn - base;
    m->sn = base;
    return CORTEX_OK;
}

static cortex_status seq_append(vm *m, cx_pv *c, cx_pv *x)
{
    if (c->u.seq.n == c->u.seq.cap) {
        size_t nc = c->u.seq.cap ? c->u.seq.cap * 2 : 4;
        cx_pv **nv = arena_alloc(m->pk, nc * sizeof *nv);
        if (!nv) return oom(m);
        if (c->u.seq.n) memcpy(nv, c->u.seq.v, c->u.seq.n * sizeof *nv);
        c->u.seq.v = nv;
        c->u.seq.cap = nc;
    }
    c->u.seq.v[c->u.seq.n++] = x;
    return CORTEX_OK;
}

/* Dict entries are kept as key, value pairs in seq.v (n counts pairs). */
static cortex_status dict_set(vm *m, cx_pv *d, cx_pv *k, cx_pv *v)
{
    if (d->u.seq.n * 2 + 2 > d->u.seq.cap) {
        size_t nc = d->u.seq.cap ? d->u.seq.cap * 2 : 8;
        cx_pv **nv = arena_alloc(m->pk, nc * sizeof *nv);
        if (!nv) return oom(m);
        if (d->u.seq.n) memcpy(nv, d->u.seq.v, d->u.seq.n * 2 * sizeof *nv);
        d->u.seq.v = nv;
        d->u.seq.cap = nc;
    }
    d->u.seq.v[2 * d->u.seq.n] = k;
    d->u.seq.v[2 * d->u.seq.n + 1] = v;
    d->u.seq.n++;
    return CORTEX_OK;
}

static cx_pv *make_tuple(vm *m, cx_pv **items, size_t k)
{
    cx_pv *t = new_pv(m, CX_PV_TUPLE);
    if (!t) return NULL;
    if (k) {
        t->u.seq.v = arena_alloc(m->pk, k * sizeof *items);
        if (!t->u.seq.v) return NULL;
        memcpy(t->u.seq.v, items, k * sizeof *items);
    }
    t->u.seq.n = t->u.seq.cap = k;
    return t;
}

static cortex_status memo_put(vm *m, uint64_t idx)
{
    cx_pv *v;
    cortex_status st = top(m, &v);
    if (st) return st;
    /* picklers number memo entries 0, 1, 2, ...; far-out indices would only
     * make the table huge */
    if (idx >= CX_PK_MAX_MEMO || idx > (uint64_t)m->memo_len * 2 + 4096)
        FAIL(CORTEX_ERR_UNSUPPORTED, "pickle memo index %llu too large (%zu entries so far)",
             (unsigned long long)idx, m->memo_len);
    if (idx >= m->memo_cap) {
        size_t nc = m->memo_cap ? m->memo_cap : 64;
        while (nc <= idx) nc *= 2;
        cx_pv **nm = realloc(m->memo, nc * sizeof *nm);
        if (!nm) return oom(m);
        memset(nm + m->memo_cap, 0, (nc - m->memo_cap) * sizeof *nm);
        m->memo = nm;
        m->memo_cap = nc;
    }
    if (!m->memo[idx]) m->memo_len++;
    m->memo[idx] = v;
    return CORTEX_OK;
}

static cortex_status memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_cap || !m->memo[idx])
        FAIL(CORTEX_ERR_CORRUPT, "pickle memo entry %llu is not set", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

static cortex_status push_str(vm *m, cx_pv_kind kind, uint64_t len)
{
    if (len > CX_PK_MAX_STR) FAIL(CORTEX_ERR_UNSUPPORTED, "pickle string of %llu bytes is too long", (unsigned long long)len);
    const uint8_t *p = NULL;
    cortex_status st = take(m, (size_t)len, &p);
    if (st) return st;
    cx_pv *v = new_pv(m, kind);
    if (v) {
        v->u.str.p = (const char *)p;
        v->u.str.n = (size_t)len;
    }
    return push(m, v);
}

static cortex_status push_int(vm *m, int64_t x)
{
    cx_pv *v = new_pv(m, CX_PV_INT);
    if (v) v->u.i = x;
    return push(m, v);
}

/* little-endian two's complement of k bytes (LONG1 / LONG4) */
static cortex_status push_long(vm *m, uint64_t k)
{
    if (k > 8) FAIL(CORTEX_ERR_UNSUPPORTED, "pickle integer of %llu bytes does not fit in 64 bits", (unsigned long long)k);
    const uint8_t *p = NULL;
    cortex_status st = take(m, (size_t)k, &p);
    if (st) return st;
    uint64_t u = 0;
    for (size_t i = 0; i < k; i++) u |= (uint64_t)p[i] << (8 * i);
    if (k > 0 && k < 8 && (p[k - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * k);
    int64_t x;
    memcpy(&x, &u, sizeof x);
    return push_int(m, x);
}

static cortex_status resolve_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) {
        if (strlen(KNOWN[i].mod) == ml && memcmp(KNOWN[i].mod, mod, ml) == 0 &&
            strlen(KNOWN[i].name) == nl && memcmp(KNOWN[i].name, name, nl) == 0) {
            cx_pv *v = new_pv(m, CX_PV_GLOBAL);
            if (v) {
                v->u.glob.id = KNOWN[i].id;
                v->u.glob.stype = KNOWN[i].stype;
            }
            return push(m, v);
        }
    }
    char a[CX_PK_MAX_GLOBAL + 4], b[CX_PK_MAX_GLOBAL + 4];
    size_t k = 0;
    for (k = 0; k < ml && k < CX_PK_MAX_GLOBAL; k++) a[k] = (mod[k] >= 0x20 && mod[k] < 0x7f) ? mod[k] : '?';
    a[k] = '\0';
    for (k = 0; k < nl && k < CX_PK_MAX_GLOBAL; k++) b[k] = (name[k] >= 0x20 && name[k] < 0x7f) ? name[k] : '?';
    b[k] = '\0';
    if (strcmp(a, "torch.storage") == 0 && strcmp(b, "_load_from_bytes") == 0)
        FAIL(CORTEX_ERR_UNSUPPORTED, "global torch.storage._load_from_bytes (a tensor pickled outside "
             "torch.save's zip format) is not supported");
    if (strcmp(a, "torch") == 0 && strlen(b) > 7 && strcmp(b + strlen(b) - 7, "Storage") == 0)
        FAIL(CORTEX_ERR_UNSUPPORTED, "storage type torch.%s is not supported", b);
    FAIL(CORTEX_ERR_UNSUPPORTED, "pickle global '%s.%s' is not supported (only state_dicts can be read: "
         "tensors in dicts; save model.state_dict() rather than the model or other objects)", a, b);
}

static cortex_status read_line(vm *m, const char **s, size_t *len)
{
    size_t start = m->pos;
    size_t lim = m->n - start < CX_PK_MAX_GLOBAL + 1 ? m->n - start : CX_PK_MAX_GLOBAL + 1;
    const void *nl = memchr(m->d + start, '\n', lim);
    if (!nl) FAIL(CORTEX_ERR_CORRUPT, "GLOBAL name not terminated within %u bytes", CX_PK_MAX_GLOBAL);
    *s = (const char *)m->d + start;
    *len = (size_t)((const uint8_t *)nl - (m->d + start));
    m->pos = start + *len + 1;
    return CORTEX_OK;
}

static bool as_int(const cx_pv *v, int64_t *x)
{
    if (v->kind == CX_PV_INT) { *x = v->u.i; return true; }
    if (v->kind == CX_PV_BOOL) { *x = v->u.b; return true; }
    return false;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
static cortex_status rebuild_tensor(vm *m, const cx_pv *args)
{
    size_t na = args->u.seq.n;
    cx_pv **a = args->u.seq.v;
    if (na != 6 && na != 7) FAIL(CORTEX_ERR_CORRUPT, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %zu", na);
    if (a[0]->kind != CX_PV_STORAGE)
        FAIL(CORTEX_ERR_CORRUPT, "_rebuild_tensor_v2: storage argument is %s", cx_pv_kind_name(a[0]->kind));
    int64_t off;
    if (a[1]->kind != CX_PV_INT || (off = a[1]->u.i) < 0)
        FAIL(CORTEX_ERR_CORRUPT, "_rebuild_tensor_v2: bad storage offset");
    const cx_pv *sz = a[2], *sd = a[3];
    if ((sz->kind != CX_PV_TUPLE && sz->kind != CX_PV_LIST) || (sd->kind != CX_PV_TUPLE && sd->kind != CX_PV_LIST))
        FAIL(CORTEX_ERR_CORRUPT, "_rebuild_tensor_v2: size and stride must be tuples");
    if (sz->u.seq.n > CORTEX_MAX_DIMS)
        FAIL(CORTEX_ERR_UNSUPPORTED, "tensor with %zu dimensions (at most %d supported)", sz->u.seq.n, CORTEX_MAX_DIMS);
    if (sd->u.seq.n != sz->u.seq.n)
        FAIL(CORTEX_ERR_CORRUPT, "tensor has %zu sizes but %zu strides", sz->u.seq.n, sd->u.seq.n);
    if (a[4]->kind != CX_PV_BOOL && a[4]->kind != CX_PV_INT)
        FAIL(CORTEX_ERR_CORRUPT, "_rebuild_tensor_v2: requires_grad is %s", cx_pv_kind_name(a[4]->kind));

    cx_pv *t = new_pv(m, CX_PV_TENSOR);
    cx_ptensor *tv = arena_alloc(m->pk, sizeof *tv);
    if (!t || !tv) return oom(m);
    memset(tv, 0, sizeof *tv);
    t->u.tensor = tv;
    const cx_pv *stor = a[0];
    int nd = (int)sz->u.seq.n;
    uint64_t numel = 1, last = (uint64_t)off;
    for (int i = 0; i < nd; i++) {
        int64_t s, r;
        if (!as_int(sz->u.seq.v[i], &s) || !as_int(sd->u.seq.v[i], &r))
            FAIL(CORTEX_ERR_CORRUPT, "tensor size/stride %d is not an integer", i);
        if (s < 0) FAIL(CORTEX_ERR_CORRUPT, "tensor size %d is negative (%lld)", i, (long long)s);
        if (r < 0) FAIL(CORTEX_ERR_CORRUPT, "tensor stride %d is negative (%lld)", i, (long long)r);
        tv->size[i] = s;
        tv->stride[i] = r;
        if (__builtin_mul_overflow(numel, (uint64_t)s, &numel))
            FAIL(CORTEX_ERR_CORRUPT, "tensor element count overflows");
    }
    if (numel > 0) {
        for (int i = 0; i < nd; i++) {
            uint64_t span;
            if (__builtin_mul_overflow((uint64_t)(tv->size[i] - 1), (uint64_t)tv->stride[i], &span) ||
                __builtin_add_overflow(last, span, &last))
                FAIL(CORTEX_ERR_CORRUPT, "tensor view extent overflows");
        }
        if (last >= stor->u.storage.numel)
            FAIL(CORTEX_ERR_CORRUPT, "tensor view reaches element %llu of a storage of %llu elements",
                 (unsigned long long)last, (unsigned long long)stor->u.storage.numel);
    }
    tv->storage = stor;
    tv->offset = (uint64_t)off;
    tv->ndim = nd;
    tv->numel = numel;
    return push(m, t);
}

/* REDUCE / NEWOBJ: callable(*args) for the few callables we know. */
static cortex_status call(vm *m, const cx_pv *fn, const cx_pv *args, bool newobj)
{
    if (fn->kind != CX_PV_GLOBAL)
        FAIL(CORTEX_ERR_CORRUPT, "%s on %s, not a class or function", newobj ? "NEWOBJ" : "REDUCE",
             cx_pv_kind_name(fn->kind));
    if (args->kind != CX_PV_TUPLE)
        FAIL(CORTEX_ERR_CORRUPT, "%s arguments are %s, not a tuple", newobj ? "NEWOBJ" : "REDUCE",
             cx_pv_kind_name(args->kind));
    size_t na = args->u.seq.n;
    switch (fn->u.glob.id) {
    case CX_PG_ORDERED_DICT: {
        cx_pv *d = new_pv(m, CX_PV_DICT);
        if (!d) return oom(m);
        if (na > 1) FAIL(CORTEX_ERR_CORRUPT, "OrderedDict takes at most 1 argument, got %zu", na);
        if (na == 1) {
            const cx_pv *items = args->u.seq.v[0];
            if (items->kind != CX_PV_LIST && items->kind != CX_PV_TUPLE)
                FAIL(CORTEX_ERR_UNSUPPORTED, "OrderedDict from %s", cx_pv_kind_name(items->kind));
            for (size_t i = 0; i < items->u.seq.n; i++) {
                const cx_pv *kv = items->u.seq.v[i];
                if ((kv->kind != CX_PV_TUPLE && kv->kind != CX_PV_LIST) || kv->u.seq.n != 2)
                    FAIL(CORTEX_ERR_CORRUPT, "OrderedDict item %zu is not a pair", i);
                cortex_status st = dict_set(m, d, kv->u.seq.v[0], kv->u.seq.v[1]);
                if (st) return st;
            }
        }
        return push(m, d);
    }
    case CX_PG_REBUILD_TENSOR_V2:
        if (newobj) break;
        return rebuild_tensor(m, args);
    case CX_PG_REBUILD_PARAMETER:
    case CX_PG_REBUILD_PARAMETER_WITH_STATE: {
        if (newobj) break;
        size_t want = fn->u.glob.id == CX_PG_REBUILD_PARAMETER ? 3 : 4;
        if (na != want) FAIL(CORTEX_ERR_CORRUPT, "_rebuild_parameter takes %zu arguments, got %zu", want, na);
        if (args->u.seq.v[0]->kind != CX_PV_TENSOR)
            FAIL(CORTEX_ERR_CORRUPT, "_rebuild_parameter of %s", cx_pv_kind_name(args->u.seq.v[0]->kind));
        return push(m, args->u.seq.v[0]);
    }
    case CX_PG_STORAGE_TYPE:
        FAIL(CORTEX_ERR_UNSUPPORTED, "constructing a torch %sStorage in the pickle is not supported",
             cx_stype_name(fn->u.glob.stype));
    }
    FAIL(CORTEX_ERR_UNSUPPORTED, "NEWOBJ on this global is not supported");
}

/* BINPERSID: ('storage', StorageType, key, location, numel) */
static cortex_status persistent_load(vm *m, const cx_pv *pid)
{
    if (pid->kind != CX_PV_TUPLE || pid->u.seq.n != 5)
        FAIL(CORTEX_ERR_CORRUPT, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    cx_pv **a = pid->u.seq.v;
    if (!str_eq(a[0], "storage"))
        FAIL(CORTEX_ERR_UNSUPPORTED, "persistent id of a kind other than 'storage'");
    if (a[1]->kind != CX_PV_GLOBAL || a[1]->u.glob.id != CX_PG_STORAGE_TYPE)
        FAIL(CORTEX_ERR_CORRUPT, "persistent id: storage type is not a torch storage class");
    if (a[2]->kind != CX_PV_STR || a[2]->u.str.n == 0)
        FAIL(CORTEX_ERR_CORRUPT, "persistent id: storage key is not a string");
    if (a[3]->kind != CX_PV_STR) FAIL(CORTEX_ERR_CORRUPT, "persistent id: location is not a string");
    if (a[4]->kind != CX_PV_INT || a[4]->u.i < 0) FAIL(CORTEX_ERR_CORRUPT, "persistent id: bad element count");
    cx_pv *s = new_pv(m, CX_PV_STORAGE);
    if (!s) return oom(m);
    s->u.storage.stype = a[1]->u.glob.stype;
    s->u.storage.key = a[2]->u.str.p;
    s->u.storage.key_len = a[2]->u.str.n;
    s->u.storage.numel = (uint64_t)a[4]->u.i;
    return push(m, s);
}

static cortex_status step(vm *m, bool *done)
{
    const uint8_t *p = NULL;
    cx_pv *a = NULL, *b = NULL, *c = NULL, **items = NULL;
    size_t k = 0;
    cortex_status st;
    m->op_pos = m->pos;
    if ((st = take(m, 1, &p))) return st;
    uint8_t op = *p;
    switch (op) {
    case 0x80: /* PROTO */
        if ((st = take(m, 1, &p))) return st;
        if (*p > 5) FAIL(CORTEX_ERR_UNSUPPORTED, "pickle protocol %u is not supported", *p);
        return CORTEX_OK;
    case 0x95: /* FRAME: a length prefix only; frames need no handling when all is in memory */
        if ((st = take(m, 8, &p))) return st;
        if (le64(p) > m->n - m->pos) FAIL(CORTEX_ERR_CORRUPT, "pickle frame runs past the end");
        return CORTEX_OK;
    case '.': /* STOP */
        if ((st = pop(m, &a))) return st;
        m->pk->root = a;
        *done = true;
        return CORTEX_OK;
    case '(': /* MARK */
        if (m->mn == m->mcap) {
            if (m->mcap >= CX_PK_MAX_MARKS) FAIL(CORTEX_ERR_UNSUPPORTED, "more than %u nested MARKs", CX_PK_MAX_MARKS);
            size_t nc = m->mcap ? m->mcap * 2 : 32;
            size_t *nm = realloc(m->marks, nc * sizeof *nm);
            if (!nm) return oom(m);
            m->marks = nm;
            m->mcap = nc;
        }
        m->marks[m->mn++] = m->sn;
        return CORTEX_OK;
    case '0': /* POP: an empty segment pops the mark itself */
        if (m->sn == seg_base(m) && m->mn) { m->mn--; return CORTEX_OK; }
        return pop(m, &a);
    case '1': /* POP_MARK */
        return pop_mark(m, &items, &k);
    case '2': /* DUP */
        if ((st = top(m, &a))) return st;
        return push(m, a);
    case '}': return push(m, new_pv(m, CX_PV_DICT));
    case ']': return push(m, new_pv(m, CX_PV_LIST));
    case ')': return push(m, new_pv(m, CX_PV_TUPLE));
    case 't': /* TUPLE */
        if ((st = pop_mark(m, &items, &k))) return st;
        return push(m, make_tuple(m, items, k));
    case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
        k = (size_t)(op - 0x84);
        if (m->sn - seg_base(m) < k) FAIL(CORTEX_ERR_CORRUPT, "pickle stack underflow");
        m->sn -= k;
        return push(m, make_tuple(m, m->stack + m->sn, k));
    case 'd': /* DICT */
        if ((st = pop_mark(m, &items, &k))) return st;
        if (k % 2) FAIL(CORTEX_ERR_CORRUPT, "DICT with an odd number of items");
        {
            cx_pv *d = new_pv(m, CX_PV_DICT);
            if (!d) return oom(m);
            /* items stay valid: nothing is pushed until the end */
            for (size_t i = 0; i < k; i += 2)
                if ((st = dict_set(m, d, items[i], items[i + 1]))) return st;
            return push(m, d);
        }
    case 's': /* SETITEM */
        if ((st = pop(m, &b)) || (st = pop(m, &a)) || (st = top(m, &c))) return st;
        if (c->kind != CX_PV_DICT) FAIL(CORTEX_ERR_CORRUPT, "SETITEM on %s", cx_pv_kind_name(c->kind));
        return dict_set(m, c, a, b);
    case 'u': /* SETITEMS */
        if ((st = pop_mark(m, &items, &k))) return st;
        if (k % 2) FAIL(CORTEX_ERR_CORRUPT, "SETITEMS with an odd number of items");
        if ((st = top(m, &c))) return st;
        if (c->kind != CX_PV_DICT) FAIL(CORTEX_ERR_CORRUPT, "SETITEMS on %s", cx_pv_kind_name(c->kind));
        for (size_t i = 0; i < k; i += 2)
            if ((st = dict_set(m, c, items[i], items[i + 1]))) return st;
        return CORTEX_OK;
    case 'a': /* APPEND */
        if ((st = pop(m, &a)) || (st = top(m, &c))) return st;
        if (c->kind != CX_PV_LIST) FAIL(CORTEX_ERR_CORRUPT, "APPEND on %s", cx_pv_kind_name(c->kind));
        return seq_append(m, c, a);
    case 'e': /* APPENDS */
        if ((st = pop_mark(m, &items, &k)) || (st = top(m, &c))) return st;
        if (c->kind != CX_PV_LIST) FAIL(CORTEX_ERR_CORRUPT, "APPENDS on %s", cx_pv_kind_name(c->kind));
        for (size_t i = 0; i < k; i++)
            if ((st = seq_append(m, c, items[i]))) return st;
        return CORTEX_OK;
    case 'q': /* BINPUT */
        if ((st = take(m, 1, &p))) return st;
        return memo_put(m, *p);
    case 'r': /* LONG_BINPUT */
        if ((st = take(m, 4, &p))) return st;
        return memo_put(m, le32(p));
    case 0x94: /* MEMOIZE */
        return memo_put(m, m->memo_len);
    case 'h': /* BINGET */
        if ((st = take(m, 1, &p))) return st;
        return memo_get(m, *p);
    case 'j': /* LONG_BINGET */
        if ((st = take(m, 4, &p))) return st;
        return memo_get(m, le32(p));
    case 'J': /* BININT: signed 32-bit */
        if ((st = take(m, 4, &p))) return st;
        return push_int(m, (int32_t)le32(p));
    case 'K': /* BININT1 */
        if ((st = take(m, 1, &p))) return st;
        return push_int(m, *p);
    case 'M': /* BININT2 */
        if ((st = take(m, 2, &p))) return st;
        return push_int(m, p[0] | (p[1] << 8));
    case 0x8a: /* LONG1 */
        if ((st = take(m, 1, &p))) return st;
        return push_long(m, *p);
    case 0x8b: /* LONG4 */
        if ((st = take(m, 4, &p))) return st;
        if (le32(p) & 0x80000000u) FAIL(CORTEX_ERR_CORRUPT, "LONG4 with a negative length");
        return push_long(m, le32(p));
    case 'G': { /* BINFLOAT: big-endian double */
        if ((st = take(m, 8, &p))) return st;
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
        cx_pv *v = new_pv(m, CX_PV_FLOAT);
        if (v) memcpy(&v->u.f, &u, sizeof u);
        return push(m, v);
    }
    case 0x88: case 0x89: { /* NEWTRUE, NEWFALSE */
        cx_pv *v = new_pv(m, CX_PV_BOOL);
        if (v) v->u.b = op == 0x88;
        return push(m, v);
    }
    case 'N': return push(m, new_pv(m, CX_PV_NONE));
    case 'X': /* BINUNICODE */
        if ((st = take(m, 4, &p))) return st;
        return push_str(m, CX_PV_STR, le32(p));
    case 0x8c: /* SHORT_BINUNICODE */
        if ((st = take(m, 1, &p))) return st;
        return push_str(m, CX_PV_STR, *p);
    case 0x8d: /* BINUNICODE8 */
        if ((st = take(m, 8, &p))) return st;
        return push_str(m, CX_PV_STR, le64(p));
    case 'U': /* SHORT_BINSTRING */
        if ((st = take(m, 1, &p))) return st;
        return push_str(m, CX_PV_STR, *p);
    case 'T': /* BINSTRING: signed 32-bit length */
        if ((st = take(m, 4, &p))) return st;
        if (le32(p) & 0x80000000u) FAIL(CORTEX_ERR_CORRUPT, "BINSTRING with a negative length");
        return push_str(m, CX_PV_STR, le32(p));
    case 'C': /* SHORT_BINBYTES */
        if ((st = take(m, 1, &p))) return st;
        return push_str(m, CX_PV_BYTES, *p);
    case 'B': /* BINBYTES */
        if ((st = take(m, 4, &p))) return st;
        return push_str(m, CX_PV_BYTES, le32(p));
    case 0x8e: /* BINBYTES8 */
        if ((st = take(m, 8, &p))) return st;
        return push_str(m, CX_PV_BYTES, le64(p));
    case 'c': { /* GLOBAL "module\nname\n" */
        const char *mod, *name;
        size_t ml, nl;
        if ((st = read_line(m, &mod, &ml)) || (st = read_line(m, &name, &nl))) return st;
        return resolve_global(m, mod, ml, name, nl);
    }
    case 0x93: /* STACK_GLOBAL */
        if ((st = pop(m, &b)) || (st = pop(m, &a))) return st;
        if (a->kind != CX_PV_STR || b->kind != CX_PV_STR)
            FAIL(CORTEX_ERR_CORRUPT, "STACK_GLOBAL needs two strings");
        if (a->u.str.n > CX_PK_MAX_GLOBAL || b->u.str.n > CX_PK_MAX_GLOBAL)
            FAIL(CORTEX_ERR_UNSUPPORTED, "STACK_GLOBAL name longer than %u bytes", CX_PK_MAX_GLOBAL);
        return resolve_global(m, a->u.str.p, a->u.str.n, b->u.str.p, b->u.str.n);
    case 'R': /* REDUCE */
        if ((st = pop(m, &b)) || (st = pop(m, &a))) return st;
        return call(m, a, b, false);
    case 0x81: /* NEWOBJ */
        if ((st = pop(m, &b)) || (st = pop(m, &a))) return st;
        return call(m, a, b, true);
    case 'b': /* BUILD: state on a dict (OrderedDict attributes such as _metadata) or a tensor is ignored */
        if ((st = pop(m, &b)) || (st = top(m, &a))) return st;
        if (a->kind != CX_PV_DICT && a->kind != CX_PV_TENSOR)
            FAIL(CORTEX_ERR_UNSUPPORTED, "BUILD on %s is not supported", cx_pv_kind_name(a->kind));
        return CORTEX_OK;
    case 'Q': /* BINPERSID */
        if ((st = pop(m, &a))) return st;
        return persistent_load(m, a);
    default: {
        const char *nm = opcode_name(op);
        if (nm) FAIL(CORTEX_ERR_UNSUPPORTED, "pickle opcode %s (0x%02x) is not supported", nm, op);
        FAIL(CORTEX_ERR_CORRUPT, "invalid pickle opcode 0x%02x", op);
    }
    }
}

cortex_status cx_pickle_load(cx_pickle *pk, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    memset(pk, 0, sizeof *pk);
    /* objects grow at most a few dozen bytes per pickle byte; the cap stops
     * pathological inputs long before memory runs out */
    size_t lim = ((size_t)1 << 30);
    if (size < lim / 256) lim = size * 256 + ((size_t)4 << 20);
    pk->arena_limit = lim;

    vm m;
    memset(&m, 0, sizeof m);
    m.pk = pk;
    m.d = data;
    m.n = data ? size : 0;
    m.err = err;
    m.errlen = errlen;
    cortex_status st = CORTEX_OK;
    bool done = false;
    while (!done) {
        if (m.pos >= m.n) {
            m.op_pos = m.pos;
            st = fail_at(&m, CORTEX_ERR_CORRUPT, "pickle ends without STOP");
            break;
        }
        if ((st = step(&m, &done))) break;
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (st) cx_pickle_free(pk);
    return st;
}
