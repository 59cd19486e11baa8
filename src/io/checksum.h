/* cxh64: the 64-bit checksum of .ctx files (header and every tensor).
 *
 * Four independent lanes consume the input as little-endian 64-bit words
 * (lane i takes words i, i+4, i+8, ...), each word folded in by a bijective
 * xor/rotate/multiply step, so that any change confined to one word is
 * always detected, and the lanes run in parallel in the CPU's multiplier.
 * The exact definition (for other implementations) is in docs/format.md. */
#ifndef CX_CHECKSUM_H
#define CX_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/* Checksum of n bytes at p. seed lets a caller chain pieces:
 * cx_checksum64(b, nb, cx_checksum64(a, na, 0)). p may be NULL when n == 0. */
uint64_t cx_checksum64(const void *p, size_t n, uint64_t seed);

/* CRC-32 as zip stores it (ISO-HDLC: reflected polynomial 0xEDB88320, initial
 * and final xor 0xFFFFFFFF): cx_crc32(p, n, 0) is the CRC of p[0..n); pass a
 * previous result as crc to continue it. Slice-by-8 tables, ~2 GB/s. */
uint32_t cx_crc32(const void *p, size_t n, uint32_t crc);
#endif
