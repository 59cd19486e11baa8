#include "runtime/cpu.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static cx_cpu g_cpu;
static int g_done;

static void detect(cx_cpu *c)
{
    memset(c, 0, sizeof *c);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, cc, d;
    if (!__get_cpuid(1, &a, &b, &cc, &d)) return;
    int osxsave = (cc >> 27) & 1;
    c->fma = (cc >> 12) & 1;
    c->f16c = (cc >> 29) & 1;
    if (osxsave) {
        uint64_t x = xgetbv0();
        c->os_ymm = (x & 0x6) == 0x6;           /* SSE + AVX state */
        c->os_zmm = (x & 0xe6) == 0xe6;         /* + opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, cc, d);
        c->avx2 = (b >> 5) & 1;
        c->avx512f = (b >> 16) & 1;
        c->avx512dq = (b >> 17) & 1;
        c->avx512bw = (b >> 30) & 1;
        c->avx512vl = (b >> 31) & 1;
        c->avx512vnni = (cc >> 11) & 1;
    }
    /* L2 size in KiB, ECX[31:16] of extended leaf 0x80000006: AMD and Intel
     * both fill it (leaf 0x8000001D / 4 are empty on some VMs) */
    if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000006u) {
        __cpuid(0x80000006u, a, b, cc, d);
        c->l2_kib = cc >> 16;
    }
#endif
}

const cx_cpu *cx_cpu_get(void)
{
    /* Benign race: every thread computes the same answer. */
    if (!__atomic_load_n(&g_done, __ATOMIC_ACQUIRE)) {
        cx_cpu c;
        detect(&c);
        g_cpu = c;
        __atomic_store_n(&g_done, 1, __ATOMIC_RELEASE);
    }
    return &g_cpu;
}

int cx_cpu_has_avx2(void)
{
    const cx_cpu *c = cx_cpu_get();
    return c->avx2 && c->fma && c->os_ymm;
}

int cx_cpu_has_avx512(void)
{
    const cx_cpu *c = cx_cpu_get();
    return c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq && c->os_zmm && cx_cpu_has_avx2();
}
