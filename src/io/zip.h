/* Bounded, read-only zip reader for torch.save archives.
 *
 * Works on a caller-owned byte range (usually an mmap). Finds the End Of
 * Central Directory in the last 64 KiB + 22 bytes, follows a ZIP64 locator and
 * ZIP64 extra fields, walks the central directory and cross-checks every local
 * header (signature, method, name, sizes unless a data descriptor is used).
 * Entries must be stored (method 0), unencrypted, inside the file, ahead of
 * the central directory, and must not overlap one another. Names must be
 * unique. cx_zip_check_crc verifies an entry's data against the CRC-32 of the
 * central directory (the pth reader checks every entry). */
#ifndef CX_ZIP_H
#define CX_ZIP_H
#include "runtime/common.h"

typedef struct cx_zip_entry {
    const char *name;       /* points into the archive; NOT NUL-terminated */
    size_t name_len;
    uint64_t header_off;    /* offset of the local header */
    uint64_t data_off;      /* offset of the first data byte */
    uint64_t size;          /* data bytes (stored: compressed == uncompressed) */
    uint32_t crc;           /* CRC-32 of the data, from the central directory */
} cx_zip_entry;

typedef struct cx_zip {
    const uint8_t *base;
    size_t size;
    cx_zip_entry *entries;  /* sorted by name (bytewise, shorter first on a tie) */
    size_t count;
} cx_zip;

/* Parses the archive. On error z is left empty and err says what is wrong:
 * CORTEX_ERR_FORMAT (no end-of-central-directory record: not a zip),
 * CORTEX_ERR_CORRUPT (inconsistent or out-of-range structures),
 * CORTEX_ERR_UNSUPPORTED (compressed, encrypted or multi-disk),
 * CORTEX_ERR_NOMEM. */
cortex_status cx_zip_open(cx_zip *z, const void *data, size_t size, char *err, size_t errlen);

/* Entry named exactly name[0..len), or NULL. */
const cx_zip_entry *cx_zip_find(const cx_zip *z, const char *name, size_t len);

static inline const uint8_t *cx_zip_data(const cx_zip *z, const cx_zip_entry *e)
{
    return z->base + e->data_off;
}

/* CORTEX_ERR_CORRUPT naming the entry when its data's CRC-32 differs from
 * the one the central directory records (a damaged or edited file). */
cortex_status cx_zip_check_crc(const cx_zip *z, const cx_zip_entry *e, char *err, size_t errlen);

void cx_zip_close(cx_zip *z);

/* Copies s[0..n) into buf (size >= 4) for an error message, with
 * non-printable bytes as '?' and a "..." when cut. Returns buf. */
char *cx_zip_printable(char *buf, size_t bufsize, const char *s, size_t n);
#endif
