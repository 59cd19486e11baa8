/* Throughput probes for `cortex-bench peak`: independent accumulator chains of
 * the instruction each GEMM family is built on, long enough to hide latency.
 * f32: vfmadd231ps ymm (12 chains). int8: vpmaddubsw -> vpmaddwd -> vpaddd
 * (u8 x s8, 32-bit accumulation; 8 chains). Returns GFLOP/s or GOPS
 * (2 ops per multiply-add). */
#include "kernels/intrin.h"
#include "kernels/kernels.h"
#include "runtime/common.h"

/* Named accumulators, not an array: GCC keeps an array indexed in a loop in
 * memory, which measures the store forwarding, not the FMA units. */
#define ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

double cx_f32_peak__avx2(double seconds)
{
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)i);
    ACC12(DECL)
    long iters = 0;
    double t0 = cx_now(), t;
    do {
        for (int r = 0; r < 4096; r++) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
            ACC12(STEP)
        }
        iters += 4096;
        t = cx_now() - t0;
    } while (t < seconds);
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, a##i);
    ACC12(SUM)
    volatile float sink = _mm256_cvtss_f32(s);
    (void)sink;
    return (double)iters * 12 * 8 * 2 / t / 1e9;
}

double cx_q8_peak__avx2(double seconds)
{
    /* each chain multiplies its own accumulator's bytes: nothing for the
     * compiler to hoist or share, and 12 chains cover the latency */
    const __m256i w = _mm256_set1_epi8(-2), one = _mm256_set1_epi16(1);
#define QDECL(i) __m256i q##i = _mm256_set1_epi32(i);
    ACC12(QDECL)
    long iters = 0;
    double t0 = cx_now(), t;
    do {
        for (int r = 0; r < 4096; r++) {
#define MADD(i) q##i = _mm256_add_epi32(q##i, _mm256_madd_epi16(_mm256_maddubs_epi16(q##i, w), one));
            ACC12(MADD)
        }
        iters += 4096;
        t = cx_now() - t0;
    } while (t < seconds);
    __m256i s = _mm256_setzero_si256();
#define QSUM(i) s = _mm256_add_epi32(s, q##i);
    ACC12(QSUM)
    volatile int sink = _mm256_extract_epi32(s, 0);
    (void)sink;
    return (double)iters * 12 * 32 * 2 / t / 1e9;
}
