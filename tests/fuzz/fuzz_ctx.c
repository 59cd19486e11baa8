/* libFuzzer harness for the .ctx reader: every input is opened twice, once as
 * a model load would (checksums on) and once with CX_CTX_SKIP_CHECKSUMS so the
 * fuzzer reaches the field checks behind the header checksum. Whatever opens
 * is then walked completely: every metadata value, every tensor byte, every
 * lookup, with the reader's invariants asserted. `make fuzz` builds it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/ctx.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static volatile uint64_t sink;

static void walk(const cx_ctx_file *f)
{
    CHECK(cx_ctx_version(f) == 1);
    size_t nm = cx_ctx_meta_count(f);
    for (size_t i = 0; i < nm; i++) {
        cx_meta_type t;
        const char *k = cx_ctx_meta_key(f, i, &t);
        CHECK(k != NULL);
        size_t kl = strlen(k);
        CHECK(kl >= 1 && kl <= 4096);
        size_t n;
        switch (t) {
        case CX_META_I64: { int64_t v; CHECK(cx_ctx_get_i64(f, k, &v) == CORTEX_OK); sink += (uint64_t)v; break; }
        case CX_META_F64: { double v; CHECK(cx_ctx_get_f64(f, k, &v) == CORTEX_OK); sink += (uint64_t)(v == v); break; }
        case CX_META_STR: { const char *s = cx_ctx_get_str(f, k); CHECK(s != NULL); sink += strlen(s); break; }
        case CX_META_STR_ARRAY: {
            const char *const *items;
            CHECK(cx_ctx_get_str_array(f, k, &n, &items) == CORTEX_OK);
            for (size_t j = 0; j < n; j++) sink += strlen(items[j]);
            break;
        }
        case CX_META_F32_ARRAY: {
            const float *v;
            CHECK(cx_ctx_get_f32_array(f, k, &n, &v) == CORTEX_OK);
            for (size_t j = 0; j < n; j++) { uint32_t b; memcpy(&b, &v[j], 4); sink += b; }
            break;
        }
        default: CHECK(0);
        }
        CHECK(cx_ctx_get_str(f, k) == NULL || t == CX_META_STR);
    }
    size_t nt = cx_ctx_tensor_count(f);
    for (size_t i = 0; i < nt; i++) {
        const cx_ctx_tensor *t = cx_ctx_tensor_at(f, i);
        CHECK(t != NULL);
        CHECK(cx_ctx_find(f, t->name) == t);
        CHECK(t->ndim >= 0 && t->ndim <= CORTEX_MAX_DIMS);
        size_t ds = cx_dtype_size(t->dtype);
        CHECK(ds != 0);
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) { CHECK(t->shape[d] >= 0); numel *= (size_t)t->shape[d]; }
        CHECK(numel == t->numel || t->numel == 0);
        CHECK(t->nbytes == t->numel * ds);
        CHECK((uintptr_t)t->data % 64 == 0);
        const unsigned char *p = t->data;
        for (size_t b = 0; b < t->nbytes; b++) sink += p[b];
    }
    CHECK(cx_ctx_tensor_at(f, nt) == NULL);
    CHECK(cx_ctx_find(f, "\x01no such tensor") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flags[2] = { 0, CX_CTX_SKIP_CHECKSUMS };
    for (int k = 0; k < 2; k++) {
        char err[256] = "";
        cx_ctx_file *f = (cx_ctx_file *)&err;
        cortex_status st = cx_ctx_open_memory_flags(data, size, flags[k], &f, err, sizeof err);
        if (st == CORTEX_OK) {
            CHECK(f != NULL);
            walk(f);
            cx_ctx_release_pages(f);
            cx_ctx_close(f);
        } else {
            CHECK(f == NULL);
            CHECK(err[0] != '\0');
            CHECK(st == CORTEX_ERR_FORMAT || st == CORTEX_ERR_CORRUPT || st == CORTEX_ERR_UNSUPPORTED ||
                  st == CORTEX_ERR_NOMEM);
        }
    }
    return 0;
}
