/* libFuzzer harness for the .npy reader: parse, then read every element and
 * check the shape invariants. `make fuzz` builds it. */
#include <stdint.h>
#include <string.h>

#include "io/npy.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static volatile uint32_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    cx_npy a;
    cortex_status st = cx_npy_read_memory(data, size, &a, err, sizeof err);
    if (st != CORTEX_OK) {
        CHECK(a.data == NULL);
        CHECK(err[0] != '\0');
        CHECK(st == CORTEX_ERR_FORMAT || st == CORTEX_ERR_CORRUPT || st == CORTEX_ERR_UNSUPPORTED ||
              st == CORTEX_ERR_NOMEM);
        return 0;
    }
    CHECK(a.ndim >= 0 && a.ndim <= CORTEX_MAX_DIMS);
    size_t numel = 1;
    int zero = 0;
    for (int d = 0; d < a.ndim; d++) {
        CHECK(a.shape[d] >= 0);
        if (a.shape[d] == 0) zero = 1;
        numel *= (size_t)a.shape[d];
    }
    CHECK(zero ? a.numel == 0 : a.numel == numel);
    CHECK(a.data != NULL);
    CHECK(size >= a.numel * 4);
    /* the data are the last numel*4 bytes of the input */
    CHECK(a.numel == 0 || memcmp(a.data, data + size - a.numel * 4, a.numel * 4) == 0);
    for (size_t i = 0; i < a.numel; i++) { uint32_t b; memcpy(&b, &a.data[i], 4); sink += b; }
    cx_npy_free(&a);
    return 0;
}
