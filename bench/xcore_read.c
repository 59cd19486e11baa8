/* Cross-core read bandwidth probe (not built by default).
 *
 *   gcc -std=c11 -O2 -march=native -D_GNU_SOURCE -pthread bench/xcore_read.c -o build/xcore-read
 *   build/xcore-read [MIB] [CPU_A CPU_B] [ROUNDS]      (default 4 0 1 20)
 *
 * A thread on CPU_A writes a MIB buffer, then a thread on CPU_B reads it all
 * (timed); then CPU_B writes it itself and reads it again (timed). The two
 * rates say whether the cores share a cache level: with a shared L3 both
 * reads of a buffer larger than L2 come from L3; with separate L3s (cores on
 * different CCDs, or a VM that places its vCPUs so) the first comes across
 * the package at about DRAM speed. This is what a layer pays for the half
 * of its input the other thread wrote, and why two threads reading the same
 * weights fetch them from memory twice. On the development VM (2 vCPUs of a
 * Zen 5 EPYC, 2026-11-28), read on CPU 1: 1 MiB 28.7 GB/s written by CPU 0
 * vs 100.7 written by CPU 1 itself; 4 MiB 33.0 vs 83.2; 8 MiB 34.4 vs 72.6;
 * 32 MiB (past any L3) 32.6 vs 42.0 (docs/performance.md).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t g_n;             /* floats */
static float *g_buf;
static int g_rounds = 20, g_cpu_a = 0, g_cpu_b = 1;
static _Atomic int g_phase;    /* 1: A may write, 2: A has written */

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
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void write_all(float v)
{
    for (size_t i = 0; i < g_n; i++) g_buf[i] = v;
}

/* four independent vector sums (GCC vector extension: ymm or zmm with
 * -march=native) so neither the adds nor the lanes limit the read rate */
typedef float v8f __attribute__((vector_size(32)));
static double read_all(void)
{
    v8f s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
    const double t0 = now();
    for (size_t i = 0; i + 32 <= g_n; i += 32) {
        v8f a, b, c, d;
        memcpy(&a, g_buf + i, sizeof a);
        memcpy(&b, g_buf + i + 8, sizeof b);
        memcpy(&c, g_buf + i + 16, sizeof c);
        memcpy(&d, g_buf + i + 24, sizeof d);
        s0 += a; s1 += b; s2 += c; s3 += d;
    }
    const double t = now() - t0;
    const v8f s = s0 + s1 + s2 + s3;
    volatile float sink = s[0] + s[7];
    (void)sink;
    return t;
}

static void *writer(void *arg)
{
    (void)arg;
    if (pin(g_cpu_a)) { fprintf(stderr, "xcore-read: cannot run on CPU %d\n", g_cpu_a); exit(1); }
    for (int r = 0; r < g_rounds; r++) {
        while (atomic_load(&g_phase) != 1) { }
        write_all((float)r);
        atomic_store(&g_phase, 2);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 4;
    if (argc > 3) { g_cpu_a = atoi(argv[2]); g_cpu_b = atoi(argv[3]); }
    if (argc > 4) g_rounds = atoi(argv[4]);
    if (mib < 1 || mib > 4096 || g_rounds < 3) {
        fprintf(stderr, "usage: xcore-read [MIB 1..4096] [CPU_A CPU_B] [ROUNDS >= 3]\n");
        return 1;
    }
    g_n = (size_t)mib << 18;
    g_buf = aligned_alloc(64, g_n * sizeof(float));
    if (!g_buf) { fprintf(stderr, "xcore-read: out of memory\n"); return 1; }
    memset(g_buf, 0, g_n * sizeof(float));
    if (pin(g_cpu_b)) { fprintf(stderr, "xcore-read: cannot run on CPU %d\n", g_cpu_b); return 1; }
    pthread_t th;
    if (pthread_create(&th, NULL, writer, NULL)) { fprintf(stderr, "xcore-read: no thread\n"); return 1; }
    double t_other = 0, t_same = 0;
    for (int r = 0; r < g_rounds; r++) {
        atomic_store(&g_phase, 1);
        while (atomic_load(&g_phase) != 2) { }
        const double a = read_all();   /* written by CPU_A */
        write_all((float)r);
        const double b = read_all();   /* written by CPU_B itself */
        if (r >= 2) { t_other += a; t_same += b; }   /* first rounds warm up */
    }
    pthread_join(th, NULL);
    const double bytes = (double)g_n * sizeof(float) * (g_rounds - 2);
    printf("%ld MiB read on CPU %d: written by CPU %d %.1f GB/s, written by CPU %d itself %.1f GB/s\n",
           mib, g_cpu_b, g_cpu_a, bytes / t_other * 1e-9, g_cpu_b, bytes / t_same * 1e-9);
    free(g_buf);
    return 0;
}
