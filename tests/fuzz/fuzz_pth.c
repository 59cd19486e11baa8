/* libFuzzer harness for the PyTorch checkpoint reader (zip + pickle + views).
 * Built by `make fuzz`; seeds in tests/fuzz/seeds/fuzz_pth/.
 *
 * Every input is read as a whole checkpoint file. An input that starts like a
 * pickle (0x80) is also wrapped as a/data.pkl in a well-formed stored zip with
 * sixteen 1 KiB storages a/data/0..15, so mutations of the pickle itself
 * (which change its length) reach the interpreter instead of the zip checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/checksum.h"
#include "io/pth.h"

#define NSTOR 16
#define STOR_BYTES 1024

static void run(const uint8_t *data, size_t size)
{
    cx_tdict d;
    char err[256];
    cortex_status st = cx_pth_read_memory(data, size, &d, err, sizeof err);
    if (st != CORTEX_OK && (d.count != 0 || d.items != NULL || err[0] == '\0'))
        __builtin_trap();   /* an error must leave the dict empty and say why */
    volatile float sink = 0;
    for (size_t i = 0; i < d.count; i++)
        for (size_t k = 0; k < d.items[i].numel; k++) sink += d.items[i].data[k];
    (void)sink;
    cx_tdict_free(&d);
}

static uint8_t *put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v) { return put16(put16(p, v & 0xffff), v >> 16); }

/* stored zip: local header + name + data per entry, central directory, EOCD */
static size_t wrap(uint8_t *out, const uint8_t *pkl, size_t pn, const uint8_t *stor)
{
    char names[NSTOR + 1][16];
    const uint8_t *datas[NSTOR + 1];
    size_t sizes[NSTOR + 1];
    uint32_t offs[NSTOR + 1];
    memcpy(names[0], "a/data.pkl", 11);
    datas[0] = pkl;
    sizes[0] = pn;
    for (int i = 0; i < NSTOR; i++) {
        names[i + 1][0] = 'a'; names[i + 1][1] = '/';
        memcpy(names[i + 1] + 2, "data/", 5);
        names[i + 1][7] = (char)(i < 10 ? '0' + i : '1');
        names[i + 1][8] = (char)(i < 10 ? '\0' : '0' + i - 10);
        names[i + 1][9] = '\0';
        datas[i + 1] = stor + (size_t)i * STOR_BYTES;
        sizes[i + 1] = STOR_BYTES;
    }
    uint8_t *p = out;
    for (int i = 0; i <= NSTOR; i++) {
        size_t nl = strlen(names[i]);
        offs[i] = (uint32_t)(p - out);
        p = put32(p, 0x04034b50); p = put16(p, 20); p = put16(p, 0); p = put16(p, 0);
        p = put32(p, 0); p = put32(p, cx_crc32(datas[i], sizes[i], 0));   /* valid CRCs: mutations reach the pickle */
        p = put32(p, (uint32_t)sizes[i]); p = put32(p, (uint32_t)sizes[i]);
        p = put16(p, (unsigned)nl); p = put16(p, 0);
        memcpy(p, names[i], nl); p += nl;
        memcpy(p, datas[i], sizes[i]); p += sizes[i];
    }
    uint32_t cd = (uint32_t)(p - out);
    for (int i = 0; i <= NSTOR; i++) {
        size_t nl = strlen(names[i]);
        p = put32(p, 0x02014b50); p = put16(p, 20); p = put16(p, 20); p = put16(p, 0); p = put16(p, 0);
        p = put32(p, 0); p = put32(p, cx_crc32(datas[i], sizes[i], 0));
        p = put32(p, (uint32_t)sizes[i]); p = put32(p, (uint32_t)sizes[i]);
        p = put16(p, (unsigned)nl); p = put16(p, 0); p = put16(p, 0); p = put16(p, 0); p = put16(p, 0);
        p = put32(p, 0); p = put32(p, offs[i]);
        memcpy(p, names[i], nl); p += nl;
    }
    uint32_t cds = (uint32_t)(p - out) - cd;
    p = put32(p, 0x06054b50); p = put16(p, 0); p = put16(p, 0);
    p = put16(p, NSTOR + 1); p = put16(p, NSTOR + 1);
    p = put32(p, cds); p = put32(p, cd); p = put16(p, 0);
    return (size_t)(p - out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    if (size >= 2 && data[0] == 0x80 && size <= (1u << 20)) {
        static uint8_t stor[NSTOR * STOR_BYTES];
        static int init;
        if (!init) {
            for (size_t i = 0; i < sizeof stor / 4; i++) {
                float f = (float)i * 0.25f - 100.0f;
                memcpy(stor + 4 * i, &f, 4);
            }
            init = 1;
        }
        uint8_t *z = malloc(size + sizeof stor + 4096);
        if (!z) return 0;
        size_t n = wrap(z, data, size, stor);
        run(z, n);
        free(z);
    }
    return 0;
}
