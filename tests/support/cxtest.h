/* Shared test helpers: seeded random data (seed printed on failure), poisoned
 * outputs with red zones, tolerance checks, and a main() for Check suites. */
#ifndef CXTEST_H
#define CXTEST_H
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include "kernels/kernels.h"

/* Deterministic PRNG; the seed comes from CX_SEED or a fixed default and is
 * printed by cxt_fail_seed() so any failure can be replayed. */
uint64_t cxt_seed(void);
void cxt_rng_init(uint64_t seed);
uint32_t cxt_u32(void);
int cxt_int(int lo, int hi);           /* uniform in [lo, hi] */
float cxt_float(float lo, float hi);
void cxt_fill(float *p, size_t n, float lo, float hi);

/* A buffer of n floats with RED floats of red zone before and after, all
 * poisoned (NaN pattern). cxt_buf_check_red() fails the test if a red zone was
 * written. */
#define CXT_RED 64
typedef struct { float *base; float *p; size_t n; } cxt_buf;
cxt_buf cxt_buf_new(size_t n);
void cxt_buf_poison(cxt_buf *b);
int cxt_buf_red_ok(const cxt_buf *b);
void cxt_buf_free(cxt_buf *b);

/* `bytes` bytes that end exactly where a PROT_NONE page begins: a kernel that
 * reads one byte past its input faults in any build. Free with cxt_guard_free. */
typedef struct { void *map; size_t len; } cxt_guard;
void *cxt_guarded(size_t bytes, cxt_guard *g);
void cxt_guard_free(cxt_guard *g);
/* n floats (at least one) ending at the guard page */
float *cxt_guarded_floats(size_t n, cxt_guard *g);

/* malloc of n floats (at least one); fails the test when out of memory */
float *cxt_floats(size_t n);

/* max |a-b| / max(|b|, floor) over n; index of worst in *worst */
double cxt_rel_err(const float *a, const float *b, size_t n, double floor, size_t *worst);

/* Kernel tables the current machine can run (scalar always). When the
 * environment sets CORTEX_TEST_ISA, only that one (the SIMDe build). */
int cxt_tables(const cx_kernels **out, int max);
/* the same, failing the test when there is none */
int cxt_tables_req(const cx_kernels **out, int max);

/* Standard main: runs the suite built by make_suite(), exits non-zero on failure. */
int cxt_main(Suite *(*make_suite)(void));
#define CXT_MAIN(fn) int main(void) { return cxt_main(fn); }
#endif
