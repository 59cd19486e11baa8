#include "io/checksum.h"

#include <pthread.h>
#include <string.h>

#define K1 0x9E3779B97F4A7C15ull  /* odd constants: multiplication by them is a bijection mod 2^64 */
#define K2 0xC2B2AE3D27D4EB4Full
#define K3 0x165667B19E3779F9ull

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* One word into one lane: bijective in the word for a fixed lane state and in
 * the lane state for a fixed word (xor, rotate and multiplication by an odd
 * constant are all bijections), so a change confined to one word always
 * changes the lane. The rotate feeds high bits back into the low ones, which a
 * multiplication alone never does. One multiply per word: ~20 GB/s. */
static inline uint64_t step(uint64_t acc, uint64_t w)
{
    acc ^= w;
    acc = rotl64(acc, 31);
    return acc * K1;
}

static inline uint64_t fmix(uint64_t h)
{
    h ^= h >> 33;
    h *= K2;
    h ^= h >> 29;
    h *= K3;
    h ^= h >> 32;
    return h;
}

uint64_t cx_checksum64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t a0 = seed + K1, a1 = seed + K2, a2 = seed + K3, a3 = seed ^ K1 ^ K3;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = step(a0, load_le64(p + i));
        a1 = step(a1, load_le64(p + i + 8));
        a2 = step(a2, load_le64(p + i + 16));
        a3 = step(a3, load_le64(p + i + 24));
    }
    /* the remaining 0..3 whole words go to lanes 0.., then a zero-padded last word */
    uint64_t *lane[4] = { &a0, &a1, &a2, &a3 };
    int l = 0;
    for (; i + 8 <= n; i += 8, l++) *lane[l] = step(*lane[l], load_le64(p + i));
    if (i < n) {
        unsigned char last[8] = { 0 };
        memcpy(last, p + i, n - i);
        *lane[l] = step(*lane[l], load_le64(last));
    }
    uint64_t h = rotl64(a0, 1) + rotl64(a1, 7) + rotl64(a2, 12) + rotl64(a3, 18);
    h ^= (uint64_t)n * K3;
    return fmix(h);
}

/* ---- CRC-32 (zip) */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_tab[0][i] = c;
    }
    /* crc_tab[t][i]: the CRC of byte i followed by t zero bytes */
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xFF];
}

uint32_t cx_crc32(const void *data, size_t n, uint32_t crc)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    uint32_t c = ~crc;
    /* eight bytes per step: the low four fold into the running CRC, all eight
     * are looked up independently (bytewise definition, little-endian order) */
    while (n >= 8) {
        const uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc_tab[7][lo & 0xFF] ^ crc_tab[6][(lo >> 8) & 0xFF] ^ crc_tab[5][(lo >> 16) & 0xFF] ^ crc_tab[4][lo >> 24] ^
            crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xFF];
    return ~c;
}
