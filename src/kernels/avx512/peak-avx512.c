/* Throughput probes for `cortex-bench peak` (see avx2/peak-avx2.c): f32
 * vfmadd231ps zmm (16 chains); int8 vpdpbusd zmm (VNNI, 12 chains), or the
 * vpmaddubsw chain on zmm where the CPU lacks VNNI. */
#include "kernels/intrin.h"
#include "kernels/kernels.h"
#include "runtime/common.h"
#include "runtime/cpu.h"
#include "q8-avx512.h"

/* Named accumulators, not an array: GCC keeps an array indexed in a loop in
 * memory, which measures the store forwarding, not the FMA units. */
#define ACC16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ACC12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

double cx_f32_peak__avx512(double seconds)
{
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)i);
    ACC16(DECL)
    long iters = 0;
    double t0 = cx_now(), t;
    do {
        for (int r = 0; r < 2048; r++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
            ACC16(STEP)
        }
        iters += 2048;
        t = cx_now() - t0;
    } while (t < seconds);
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, a##i);
    ACC16(SUM)
    float lanes[16];
    _mm512_storeu_ps(lanes, s);  /* keep the chains live (SIMDe lacks reduce_add) */
    volatile float sink = lanes[0];
    (void)sink;
    return (double)iters * 16 * 16 * 2 / t / 1e9;
}

double cx_q8_peak__avx512(double seconds)
{
    /* vpdpbusd accumulates into its chain; the maddubs chains multiply their
     * own accumulator's bytes, so nothing can be hoisted out of the loop */
    const __m512i a = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2), one = _mm512_set1_epi16(1);
#define QDECL(i) __m512i q##i = _mm512_set1_epi32(i);
    ACC12(QDECL)
    long iters = 0;
    double t0 = cx_now(), t;
#ifndef CX_SIMDE
    const int vnni = cx_cpu_get()->avx512vnni;
#else
    const int vnni = 0;
#endif
    do {
        if (vnni) {
#ifndef CX_SIMDE
            for (int r = 0; r < 2048; r++) {
#define DP(i) q##i = _mm512_dpbusd_epi32(q##i, a, w);
                ACC12(DP)
            }
#endif
        } else {
            for (int r = 0; r < 2048; r++) {
#define MADD(i) q##i = _mm512_add_epi32(q##i, cx512_madd_epi16(_mm512_maddubs_epi16(q##i, w), one));
                ACC12(MADD)
            }
        }
        iters += 2048;
        t = cx_now() - t0;
    } while (t < seconds);
    __m512i s = _mm512_setzero_si512();
#define QSUM(i) s = _mm512_add_epi32(s, q##i);
    ACC12(QSUM)
    int lanes[16];
    _mm512_storeu_si512(lanes, s);
    volatile int sink = lanes[0];
    (void)sink;
    return (double)iters * 12 * 64 * 2 / t / 1e9;
}
