/* Helpers shared by the command-line tools: the error line of CONTRACT.md
 * ("cortex: error: <file>: <what>", exit 1), usage errors (exit 2), and strict
 * number parsing. */
#ifndef CX_CLI_H
#define CX_CLI_H
#include <stdint.h>

/* Prints "cortex: error: <msg>" and returns 1. The message should start with
 * the file concerned ("<file>: ..."). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "cortex: error: <msg>", then the usage text, returns 2. */
int cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict parsers: the whole string must be a number in [lo, hi]. */
int cli_int(const char *s, long lo, long hi, long *out);
int cli_double(const char *s, double *out);
/* "1x3x224x224" -> shape; returns rank or -1. */
int cli_shape(const char *s, int64_t *shape, int max);
/* --isa values: 1 if s is auto, scalar, avx2 or avx512 (a usage check). */
int cli_isa_name(const char *s);
/* Checks that the kernels asked for by --isa ISA (or, when ISA is NULL or
 * "auto", the CORTEX_ISA variable) run on this machine. Returns 0, or prints
 * the error line ("cortex: error: --isa: ..." / "CORTEX_ISA: ...") and
 * returns 1. */
/* --isa / CORTEX_ISA and CORTEX_L2_KIB: 0, or 1 after printing the error */
int cli_check_isa(const char *isa);
/* Thread count option default: online CPUs. */
int cli_default_threads(void);
#endif
