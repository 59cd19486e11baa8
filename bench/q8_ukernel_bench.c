/* int8 microkernel benchmark (not built by default; 1 thread).
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc bench/q8_ukernel_bench.c build/libcortex.a -lm -lpthread -o build/q8bench
 *   build/q8bench [M N K]        (default 1024 1024 1024)
 *
 * 1. Peak of the instruction chains the kernels are built on, from inline asm
 *    with 12-16 independent accumulators: vpmaddubsw -> vpmaddwd -> vpaddd on
 *    ymm (32 MAC) and zmm (64 MAC), vpdpbusd on zmm (64 MAC).
 *    GOPS = 2 * MAC / s.
 * 2. For every q8 table this CPU runs: a u8 x s8 GEMM M x N x K (requantized
 *    to u8) through the table's igemm microkernel with the driver order of
 *    src/layers/conv.c: columns in blocks of ~192 KiB of packed weights, row
 *    tiles of MR streaming past each block, one kernel call per (block, tile)
 *    walking all panels of the block; and the kernel alone on L1-resident
 *    data (hot). Times are thread CPU time (the machine may be shared), best
 *    of several runs; the peak is remeasured right after each GEMM and the
 *    higher of the two peak readings is used, so clock drift does not flatter
 *    the percentage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels_q8.h"
#include "runtime/cpu.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ peaks */
__attribute__((target("avx2"))) static void peak_chain_ymm(long n)
{
    __asm__ volatile("vpxor %%ymm13,%%ymm13,%%ymm13\n vpxor %%ymm14,%%ymm14,%%ymm14\n"
                     "vpcmpeqw %%ymm15,%%ymm15,%%ymm15\n vpsrlw $15,%%ymm15,%%ymm15\n"
                     "1:\n"
#define C(i, t) "vpmaddubsw %%ymm13,%%ymm14,%%ymm" #t "\n vpmaddwd %%ymm15,%%ymm" #t ",%%ymm" #t "\n vpaddd %%ymm" #t ",%%ymm" #i ",%%ymm" #i "\n"
                     C(0, 10) C(1, 11) C(2, 12) C(3, 10) C(4, 11) C(5, 12) C(6, 10) C(7, 11) C(8, 12) C(9, 10)
                     C(0, 11) C(1, 12)
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
#undef C
}
__attribute__((target("avx512f,avx512bw"))) static void peak_chain_zmm(long n)
{
    __asm__ volatile("vpxord %%zmm29,%%zmm29,%%zmm29\n vpxord %%zmm30,%%zmm30,%%zmm30\n"
                     "vpternlogd $0xff,%%zmm31,%%zmm31,%%zmm31\n vpsrlw $15,%%zmm31,%%zmm31\n"
                     "1:\n"
#define C(i, t) "vpmaddubsw %%zmm29,%%zmm30,%%zmm" #t "\n vpmaddwd %%zmm31,%%zmm" #t ",%%zmm" #t "\n vpaddd %%zmm" #t ",%%zmm" #i ",%%zmm" #i "\n"
                     C(0, 24) C(1, 25) C(2, 26) C(3, 27) C(4, 24) C(5, 25) C(6, 26) C(7, 27) C(8, 24) C(9, 25)
                     C(10, 26) C(11, 27) C(12, 24) C(13, 25) C(14, 26) C(15, 27)
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm24", "xmm25", "xmm26", "xmm27",
                       "xmm29", "xmm30", "xmm31", "cc");
#undef C
}
__attribute__((target("avx512f,avx512vnni"))) static void peak_dpbusd_zmm(long n)
{
    __asm__ volatile("vpxord %%zmm29,%%zmm29,%%zmm29\n vpxord %%zmm30,%%zmm30,%%zmm30\n"
                     "1:\n"
#define D(i) "vpdpbusd %%zmm30,%%zmm29,%%zmm" #i "\n"
                     D(0) D(1) D(2) D(3) D(4) D(5) D(6) D(7) D(8) D(9) D(10) D(11) D(12) D(13) D(14) D(15)
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm29", "xmm30", "cc");
#undef D
}

static double best_gops(void (*fn)(long), double macs_per_iter)
{
    const long n = 5000000;
    double best = 0;
    for (int r = 0; r < 7; r++) {
        double t = now();
        fn(n);
        t = now() - t;
        const double g = 2.0 * macs_per_iter * (double)n / t * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* ------------------------------------------------------------------- GEMM */
typedef struct {
    const char *name;
    cx_qu8_igemm_fn fn;
    size_t mr, nr;
    int wmax;
    double peak;             /* GOPS of the matching instruction chain */
    void (*peak_fn)(long);   /* remeasured next to the GEMM (clock drift); NULL: keep peak */
    double peak_macs;
} variant;

#define BLOCK_BYTES (192 * 1024)

static void gemm(const variant *v, size_t M, size_t N, size_t K, const uint8_t *A, const uint8_t *packed,
                 uint8_t *C, const cx_q8_params *p)
{
    const size_t MR = v->mr, NR = v->nr, pb = cx_q8_gemm_panel_bytes(K, 1, NR);
    size_t panels = BLOCK_BYTES / pb;
    if (panels < 1) panels = 1;
    size_t nblk = panels * NR;
    const size_t nr_up = (N + NR - 1) / NR * NR;
    if (nblk > nr_up) nblk = nr_up;
    const uint8_t *ptr[64];
    for (size_t n0 = 0; n0 < N; n0 += nblk) {
        const size_t ncols = N - n0 < nblk ? N - n0 : nblk;
        const uint8_t *w = packed + (n0 / NR) * pb;
        for (size_t m0 = 0; m0 < M; m0 += MR) {
            const size_t mr = M - m0 < MR ? M - m0 : MR;
            for (size_t i = 0; i < MR; i++) ptr[i] = A + (m0 + (i < mr ? i : mr - 1)) * K;
            v->fn(mr, ncols, K, 1, ptr, w, C + m0 * N + n0, N, p);
        }
    }
}

static void bench_variant(const variant *v, size_t M, size_t N, size_t K)
{
    uint8_t *A = malloc(M * K), *C = malloc(M * N);
    int8_t *W = malloc(N * K);
    int32_t *bias = malloc(N * sizeof(int32_t));
    float *scale = malloc(N * sizeof(float));
    const size_t psz = cx_q8_gemm_packed_size(N, K, 1, v->nr);
    uint8_t *packed = aligned_alloc(64, (psz + 63) / 64 * 64);
    if (!A || !C || !W || !bias || !scale || !packed) { fprintf(stderr, "out of memory\n"); exit(1); }
    srand(1);
    for (size_t i = 0; i < M * K; i++) A[i] = (uint8_t)rand();
    for (size_t i = 0; i < N * K; i++) W[i] = (int8_t)(rand() % (2 * v->wmax + 1) - v->wmax);
    for (size_t j = 0; j < N; j++) { bias[j] = rand() % 1000; scale[j] = 1e-4f; }
    cx_q8_gemm_pack_weights(N, K, 1, v->nr, v->wmax, W, bias, scale, 128, packed);
    const cx_q8_params p = { 128, 0, 255, NULL, 0, 0, 0.0f };
    const double ops = 2.0 * (double)M * (double)N * (double)K;

    double best = 1e30, peak = v->peak;
    gemm(v, M, N, K, A, packed, C, &p);
    for (int r = 0; r < 7; r++) {
        double t = now();
        gemm(v, M, N, K, A, packed, C, &p);
        t = now() - t;
        if (t < best) best = t;
    }
    if (v->peak_fn) {
        const double p2 = best_gops(v->peak_fn, v->peak_macs);
        if (p2 > peak) peak = p2;
    }
    /* hot: MR x NR x 512 on L1-resident data */
    const size_t hk = 512, hpsz = cx_q8_gemm_packed_size(v->nr, hk, 1, v->nr);
    uint8_t *hw = aligned_alloc(64, (hpsz + 63) / 64 * 64);
    cx_q8_gemm_pack_weights(v->nr, hk, 1, v->nr, v->wmax, W, bias, scale, 128, hw);
    const uint8_t *ptr[64];
    for (size_t i = 0; i < v->mr; i++) ptr[i] = A + i * hk;
    double hbest = 1e30;
    const int reps = 2000;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (int x = 0; x < reps; x++) v->fn(v->mr, v->nr, hk, 1, ptr, hw, C, v->nr, &p);
        t = now() - t;
        if (t < hbest) hbest = t;
    }
    const double hg = 2.0 * (double)(v->mr * v->nr * hk) * reps / hbest * 1e-9;
    const double g = ops / best * 1e-9;
    printf("  %-12s %2zux%-3zu GEMM %zux%zux%zu: %6.1f GOPS = %5.1f%% of peak %6.1f;  hot kernel %6.1f GOPS (%5.1f%%)\n",
           v->name, v->mr, v->nr, M, N, K, g, 100.0 * g / peak, peak, hg, 100.0 * hg / peak);
    free(hw);
    free(A);
    free(C);
    free(W);
    free(bias);
    free(scale);
    free(packed);
}

#ifdef CX_Q8_BENCH_VARIANTS
#include CX_Q8_BENCH_VARIANTS /* defines extra_variants(double pymm, double pzmm, double pdp, variant *out) */
#endif

int main(int argc, char **argv)
{
    size_t M = 1024, N = 1024, K = 1024;
    if (argc == 4) {
        M = (size_t)atol(argv[1]);
        N = (size_t)atol(argv[2]);
        K = (size_t)atol(argv[3]);
    }
    const cx_cpu *cpu = cx_cpu_get();
    double pymm = 0, pzmm = 0, pdp = 0;
    if (cx_cpu_has_avx2()) {
        pymm = best_gops(peak_chain_ymm, 12 * 32);
        printf("peak vpmaddubsw->vpmaddwd->vpaddd ymm: %7.1f GOPS\n", pymm);
    }
    if (cx_cpu_has_avx512()) {
        pzmm = best_gops(peak_chain_zmm, 16 * 64);
        printf("peak vpmaddubsw->vpmaddwd->vpaddd zmm: %7.1f GOPS\n", pzmm);
        if (cpu->avx512vnni) {
            pdp = best_gops(peak_dpbusd_zmm, 16 * 64);
            printf("peak vpdpbusd zmm:                      %7.1f GOPS\n", pdp);
        }
    }
    variant vs[32];
    int nv = 0;
    const cx_q8_kernels *tabs[] = { &cx_q8_kernels_avx2, &cx_q8_kernels_avx2exact, &cx_q8_kernels_avx512,
                                    &cx_q8_kernels_avx512vnni };
    const double peaks[] = { pymm, pymm, pzmm, pdp };
    void (*const pfn[])(long) = { peak_chain_ymm, peak_chain_ymm, peak_chain_zmm, peak_dpbusd_zmm };
    const double pmacs[] = { 12 * 32, 12 * 32, 16 * 64, 16 * 64 };
    for (int i = 0; i < 4; i++)
        if (cx_q8_kernels_available(tabs[i]))
            vs[nv++] = (variant){ tabs[i]->name, tabs[i]->gemm.igemm, tabs[i]->gemm.mr, tabs[i]->gemm.nr,
                                  tabs[i]->wmax, peaks[i], pfn[i], pmacs[i] };
#ifdef CX_Q8_BENCH_VARIANTS
    nv += extra_variants(pymm, pzmm, pdp, vs + nv);
#endif
    printf("u8 x s8 -> u8 GEMM, 1 thread, conv.c driver order (thread CPU time, best of 7):\n");
    for (int i = 0; i < nv; i++) bench_variant(&vs[i], M, N, K);
    return 0;
}
