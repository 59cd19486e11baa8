/* Thread pool: persistent workers that sleep on a condition variable between
 * jobs. A job is a range [0, n) handed out by an atomic counter in chunks of
 * one, so uneven tiles balance themselves. The calling thread works too. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/common.h"
#include "runtime/pool.h"

struct cortex_pool {
    int nthreads;            /* including the caller */
    int custom;
    cortex_pool_ops ops;
    pthread_t *threads;
    pthread_mutex_t mu;      /* guards generation/stop and the job fields */
    pthread_cond_t wake, done;
    pthread_mutex_t run_mu;  /* serialises concurrent cx_parallel callers */
    unsigned long generation;
    int stop;
    int active;              /* workers still inside the current job */
    cortex_task_fn fn;
    void *arg;
    size_t n;
    size_t next;             /* atomic work counter */
};

typedef struct { cortex_pool *p; int id; } worker_arg;

static void drain(cortex_pool *p, int id)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n) break;
        p->fn(p->arg, i, id);
    }
}

static void *worker_main(void *v)
{
    worker_arg *wa = v;
    cortex_pool *p = wa->p;
    int id = wa->id;
    free(wa);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cortex_status cortex_pool_create(int nthreads, cortex_pool **out)
{
    if (!out) return CORTEX_ERR_INVALID_ARG;
    *out = NULL;
    if (nthreads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    if (nthreads > 1024) return CORTEX_ERR_INVALID_ARG;
    cortex_pool *p = calloc(1, sizeof *p);
    if (!p) return CORTEX_ERR_NOMEM;
    p->nthreads = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (nthreads > 1) {
        p->threads = calloc((size_t)nthreads - 1, sizeof *p->threads);
        if (!p->threads) { free(p); return CORTEX_ERR_NOMEM; }
        for (int i = 1; i < nthreads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (wa) { wa->p = p; wa->id = i; } /* filled before the thread can read it */
            if (!wa || pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                p->nthreads = i; /* destroy joins the ones started */
                cortex_pool_destroy(p);
                return CORTEX_ERR_INTERNAL;
            }
        }
    }
    *out = p;
    return CORTEX_OK;
}

cortex_status cortex_pool_create_custom(const cortex_pool_ops *ops, cortex_pool **out)
{
    if (!out) return CORTEX_ERR_INVALID_ARG;
    *out = NULL;
    if (!ops || !ops->parallel_for || ops->nthreads < 1) return CORTEX_ERR_INVALID_ARG;
    cortex_pool *p = calloc(1, sizeof *p);
    if (!p) return CORTEX_ERR_NOMEM;
    p->custom = 1;
    p->ops = *ops;
    p->nthreads = ops->nthreads;
    pthread_mutex_init(&p->run_mu, NULL);
    *out = p;
    return CORTEX_OK;
}

int cortex_pool_threads(const cortex_pool *pool) { return pool ? pool->nthreads : 1; }

void cortex_pool_destroy(cortex_pool *p)
{
    if (!p) return;
    if (!p->custom) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->nthreads; i++) pthread_join(p->threads[i - 1], NULL);
        free(p->threads);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->done);
    }
    pthread_mutex_destroy(&p->run_mu);
    free(p);
}

void cx_parallel(cortex_pool *p, cortex_task_fn fn, void *arg, size_t n)
{
    if (n == 0) return;
    if (!p || p->nthreads == 1 || n == 1) {
        for (size_t i = 0; i < n; i++) fn(arg, i, 0);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    if (p->custom) {
        p->ops.parallel_for(p->ops.ctx, fn, arg, n);
        pthread_mutex_unlock(&p->run_mu);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    p->active = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_mu);
}
