/* Internal view of the thread pool: one parallel-for primitive. */
#ifndef CX_POOL_H
#define CX_POOL_H
#include <stddef.h>
#include "cortex.h"

/* Calls fn(arg, i, worker) for every i in [0, n); returns when all are done.
 * NULL pool or n == 1: runs inline on the caller with worker 0. */
void cx_parallel(cortex_pool *pool, cortex_task_fn fn, void *arg, size_t n);
#endif
