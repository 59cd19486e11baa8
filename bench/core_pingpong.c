/* Cross-core cache-line latency probe (not built by default).
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -pthread bench/core_pingpong.c -o build/core-pingpong
 *   build/core-pingpong [CPU_A CPU_B] [ROUND_TRIPS]      (default 0 1 200000)
 *
 * Two threads pinned to CPU_A and CPU_B hand one cache line back and forth
 * (each waits for the other's store, then stores): the time per round trip is
 * two line transfers between the cores. Why it matters here: with 2 threads a
 * layer's input was written partly by the other core, and every such line
 * pays this transfer. On the development VM (2 vCPUs of a Zen 5 EPYC) one way
 * took 225-265 ns (several runs), far more than between cores of one CCX (tens of ns):
 * the two vCPUs behave like different CCDs, with separate L3s. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) _Atomic long g_flag;
static long g_n = 200000;
static int g_cpu_b = 1;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof s, &s);
}

static void *partner(void *arg)
{
    (void)arg;
    if (pin(g_cpu_b) != 0) { perror("core-pingpong: pin partner"); exit(1); }
    for (long i = 0; i < g_n; i++) {
        while (atomic_load_explicit(&g_flag, memory_order_acquire) != 2 * i + 1) { }
        atomic_store_explicit(&g_flag, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int cpu_a = 0;
    if (argc >= 3) { cpu_a = atoi(argv[1]); g_cpu_b = atoi(argv[2]); }
    if (argc >= 4) g_n = atol(argv[3]);
    if (g_n < 1000) g_n = 1000;
    if (pin(cpu_a) != 0) { perror("core-pingpong: pin"); return 1; }
    for (int rep = 0; rep < 3; rep++) {
        atomic_store(&g_flag, 0);
        pthread_t t;
        if (pthread_create(&t, NULL, partner, NULL) != 0) { perror("core-pingpong: thread"); return 1; }
        const double t0 = now();
        for (long i = 0; i < g_n; i++) {
            atomic_store_explicit(&g_flag, 2 * i + 1, memory_order_release);
            while (atomic_load_explicit(&g_flag, memory_order_acquire) != 2 * i + 2) { }
        }
        const double dt = now() - t0;
        pthread_join(t, NULL);
        printf("cpu %d <-> cpu %d: round trip %.1f ns, one way %.1f ns (%ld round trips)\n", cpu_a, g_cpu_b,
               dt / (double)g_n * 1e9, dt / (double)g_n * 0.5e9, g_n);
    }
    return 0;
}
