/* A bounded pickle interpreter for torch.save's data.pkl.
 *
 * Runs protocol 2 pickles (and the harmless protocol 3-5 opcodes) into a tree
 * of values allocated from one arena. Only the globals a state_dict needs are
 * known (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * _rebuild_parameter[_with_state], torch.*Storage); REDUCE on them is evaluated
 * on the spot, so a tensor comes out as a CX_PV_TENSOR whose view has already
 * been checked against its storage's element count. Persistent ids
 * ('storage', type, key, location, numel) become CX_PV_STORAGE values; the
 * caller maps keys to archive entries. Every read is bounds-checked; stack,
 * marks, memo, strings and total memory are limited. */
#ifndef CX_PICKLE_H
#define CX_PICKLE_H
#include "runtime/common.h"

#define CX_PK_MAX_STACK  (1u << 20)   /* value stack entries */
#define CX_PK_MAX_MARKS  (1u << 16)   /* nested MARKs */
#define CX_PK_MAX_MEMO   (1u << 22)   /* largest memo index + 1 */
#define CX_PK_MAX_STR    (1u << 24)   /* bytes in one string */
#define CX_PK_MAX_GLOBAL 256          /* bytes in a GLOBAL module or name */

typedef enum cx_pv_kind {
    CX_PV_NONE, CX_PV_BOOL, CX_PV_INT, CX_PV_FLOAT, CX_PV_STR, CX_PV_BYTES,
    CX_PV_TUPLE, CX_PV_LIST, CX_PV_DICT, CX_PV_GLOBAL, CX_PV_STORAGE, CX_PV_TENSOR
} cx_pv_kind;

/* Element types of torch storages. */
typedef enum cx_stype {
    CX_ST_F32, CX_ST_F16, CX_ST_BF16, CX_ST_F64,
    CX_ST_I64, CX_ST_I32, CX_ST_I16, CX_ST_I8, CX_ST_U8, CX_ST_BOOL
} cx_stype;

typedef enum cx_pglobal {
    CX_PG_ORDERED_DICT, CX_PG_REBUILD_TENSOR_V2, CX_PG_REBUILD_PARAMETER,
    CX_PG_REBUILD_PARAMETER_WITH_STATE, CX_PG_STORAGE_TYPE
} cx_pglobal;

typedef struct cx_pv cx_pv;
struct cx_pv {
    cx_pv_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *p; size_t n; } str;          /* STR, BYTES: into the pickle, no NUL */
        struct { cx_pv **v; size_t n, cap; } seq;         /* TUPLE, LIST; DICT: v[2k]=key, v[2k+1]=value, n pairs */
        struct { cx_pglobal id; cx_stype stype; } glob;   /* stype for CX_PG_STORAGE_TYPE */
        struct { cx_stype stype; const char *key; size_t key_len; uint64_t numel; } storage;
        const struct cx_ptensor *tensor;
    } u;
};

/* A tensor view, checked against its storage's element count. */
typedef struct cx_ptensor {
    const cx_pv *storage;     /* a CX_PV_STORAGE */
    uint64_t offset;          /* in elements */
    int ndim;
    int64_t size[CORTEX_MAX_DIMS];
    int64_t stride[CORTEX_MAX_DIMS];   /* >= 0, in elements */
    uint64_t numel;
} cx_ptensor;

typedef struct cx_pk_chunk cx_pk_chunk;
typedef struct cx_pickle {
    cx_pk_chunk *chunks;   /* arena holding every value */
    size_t arena_bytes, arena_limit;
    cx_pv *root;           /* the object STOP returned */
} cx_pickle;

/* Runs the pickle data[0..size). On error everything is freed, pk->root is
 * NULL and err names the problem: CORTEX_ERR_CORRUPT (truncated, malformed,
 * inconsistent), CORTEX_ERR_UNSUPPORTED (an opcode, global or protocol this
 * reader does not run), CORTEX_ERR_NOMEM. */
cortex_status cx_pickle_load(cx_pickle *pk, const uint8_t *data, size_t size, char *err, size_t errlen);
void cx_pickle_free(cx_pickle *pk);

const char *cx_pv_kind_name(cx_pv_kind k);   /* with its article: "an int", "a dict", "None" */
size_t cx_stype_size(cx_stype t);
const char *cx_stype_name(cx_stype t);   /* "float32", ... */
bool cx_stype_is_float(cx_stype t);       /* f32 / f16 / bf16 / f64 */

/* Looks up a string key in a DICT; NULL if absent (first match). */
const cx_pv *cx_pv_dict_get(const cx_pv *dict, const char *key);
#endif
