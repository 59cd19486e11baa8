/* Thread pool: every index runs exactly once, worker ids stay in range and are
 * never shared by two concurrent calls, pools start and stop cleanly, and
 * concurrent callers on one pool take turns. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cxtest.h"
#include "cortex.h"
#include "runtime/pool.h"

typedef struct job { int *hits; int nthreads; int bad; int busy[64]; } job;

static void task(void *arg, size_t i, int worker)
{
    job *j = arg;
    if (worker < 0 || worker >= j->nthreads) __atomic_store_n(&j->bad, 1, __ATOMIC_RELAXED);
    else if (__atomic_exchange_n(&j->busy[worker], 1, __ATOMIC_ACQ_REL)) __atomic_store_n(&j->bad, 2, __ATOMIC_RELAXED);
    __atomic_fetch_add(&j->hits[i], 1, __ATOMIC_RELAXED);
    if (worker >= 0 && worker < j->nthreads) __atomic_store_n(&j->busy[worker], 0, __ATOMIC_RELEASE);
}

START_TEST(every_index_once)
{
    for (int nt = 1; nt <= 5; nt++) {
        cortex_pool *p;
        ck_assert_int_eq(cortex_pool_create(nt, &p), CORTEX_OK);
        ck_assert_int_eq(cortex_pool_threads(p), nt);
        for (int rep = 0; rep < 200; rep++) {
            size_t n = (size_t)(rep * 37 % 1000);
            job j = { calloc(n + 1, sizeof(int)), nt, 0, { 0 } };
            cx_parallel(p, task, &j, n);
            for (size_t i = 0; i < n; i++) ck_assert_int_eq(j.hits[i], 1);
            ck_assert_int_eq(j.bad, 0);
            free(j.hits);
        }
        cortex_pool_destroy(p);
    }
}
END_TEST

START_TEST(create_destroy_churn)
{
    for (int i = 0; i < 100; i++) {
        cortex_pool *p;
        ck_assert_int_eq(cortex_pool_create(1 + i % 4, &p), CORTEX_OK);
        if (i % 2) {
            job j = { calloc(10, sizeof(int)), 1 + i % 4, 0, { 0 } };
            cx_parallel(p, task, &j, 10);
            free(j.hits);
        }
        cortex_pool_destroy(p);
    }
    cortex_pool_destroy(NULL);
    cortex_pool *p = NULL;
    ck_assert_int_eq(cortex_pool_create(2, NULL), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cortex_pool_create_custom(NULL, &p), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cortex_pool_threads(NULL), 1);
}
END_TEST

static cortex_pool *shared;
static void *caller(void *arg)
{
    int *fail = arg;
    for (int rep = 0; rep < 100; rep++) {
        job j = { calloc(300, sizeof(int)), 3, 0, { 0 } };
        cx_parallel(shared, task, &j, 300);
        for (int i = 0; i < 300; i++) if (j.hits[i] != 1) *fail = 1;
        if (j.bad) *fail = 1;
        free(j.hits);
    }
    return NULL;
}

START_TEST(concurrent_callers_take_turns)
{
    ck_assert_int_eq(cortex_pool_create(3, &shared), CORTEX_OK);
    pthread_t t[3];
    int fail[3] = { 0 };
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, caller, &fail[i]);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(fail[i], 0);
    cortex_pool_destroy(shared);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pool");
    TCase *t = tcase_create("pool");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, every_index_once);
    tcase_add_test(t, create_destroy_churn);
    tcase_add_test(t, concurrent_callers_take_turns);
    suite_add_tcase(s, t);
    return s;
}

CXT_MAIN(suite)
