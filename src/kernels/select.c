/* Kernel table selection: once per model load. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "runtime/common.h"
#include "runtime/cpu.h"

int cx_kernels_available(const cx_kernels *k)
{
    if (!k || !k->f32_gemm.igemm) return 0;
    if (k == &cx_kernels_scalar) return 1;
#ifdef CX_SIMDE
    /* test-only build: AVX-512 sources run on SIMDe's portable intrinsics */
    if (k == &cx_kernels_avx512) return 1;
#endif
    if (k == &cx_kernels_avx2) return cx_cpu_has_avx2();
    if (k == &cx_kernels_avx512) return cx_cpu_has_avx512();
    return 0;
}

const cx_kernels *cx_kernels_select(const char *request, char *err, size_t errlen)
{
    if (!request || !*request || strcmp(request, "auto") == 0) {
        const char *env = getenv("CORTEX_ISA");
        request = (env && *env && strcmp(env, "auto") != 0) ? env : NULL;
    }
    if (!request) {
        if (cx_kernels_available(&cx_kernels_avx512)) return &cx_kernels_avx512;
        if (cx_kernels_available(&cx_kernels_avx2)) return &cx_kernels_avx2;
        return &cx_kernels_scalar;
    }
    const cx_kernels *k = NULL;
    if (strcmp(request, "scalar") == 0) k = &cx_kernels_scalar;
    else if (strcmp(request, "avx2") == 0) k = &cx_kernels_avx2;
    else if (strcmp(request, "avx512") == 0) k = &cx_kernels_avx512;
    else {
        cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED,
                "unknown ISA '%s' (expected auto, scalar, avx2 or avx512)", request);
        return NULL;
    }
    if (!cx_kernels_available(k)) {
        cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED,
                "ISA '%s' requested but this CPU/OS or build does not support it", request);
        return NULL;
    }
    return k;
}

/* CORTEX_L2_KIB parsed strictly: digits only, 64..262144 KiB; 0 otherwise */
static uint32_t env_l2_kib(const char **raw)
{
    const char *e = getenv("CORTEX_L2_KIB");
    if (raw) *raw = e;
    if (!e || !*e) return 0;
    unsigned long v = 0;
    for (const char *p = e; *p; p++) {
        if (*p < '0' || *p > '9' || v > 262144) return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v >= 64 && v <= 262144 ? (uint32_t)v : 0;
}

int cx_blocking_env_check(char *err, size_t errlen)
{
    const char *raw;
    if (env_l2_kib(&raw) || !raw || !*raw) return 0;
    cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG,
            "CORTEX_L2_KIB='%s' is not an L2 size in KiB (a whole number, 64..262144)", raw);
    return -1;
}

static uint32_t scale_kib(uint32_t kib, uint32_t l2, uint32_t table_l2)
{
    uint64_t v = (uint64_t)kib * l2 / table_l2;
    return v < 16 ? 16 : (uint32_t)v;   /* at least a few panels */
}

/* This CPU's L2 for a table written for table_l2 KiB, and where it came from */
static uint32_t cpu_l2_kib(uint32_t table_l2, const char **source)
{
    uint32_t l2 = env_l2_kib(NULL);
    const char *src = "CORTEX_L2_KIB";
    if (!l2) { l2 = cx_cpu_get()->l2_kib; src = "CPUID"; }
    if (!l2 || !table_l2) { l2 = table_l2; src = "default"; }
    if (source) *source = src;
    return l2;
}

cx_f32_blocking cx_kernels_blocking(const cx_kernels *k, const char **source)
{
    cx_f32_blocking b = k->f32_blocking;
    const uint32_t l2 = cpu_l2_kib(b.l2_kib, source);
    if (l2 != b.l2_kib && b.l2_kib) {
        b.conv_block_kib = scale_kib(b.conv_block_kib, l2, b.l2_kib);
        b.wino_block_kib = scale_kib(b.wino_block_kib, l2, b.l2_kib);
        b.wino_heavy_block_kib = scale_kib(b.wino_heavy_block_kib, l2, b.l2_kib);
        b.l2_kib = l2;
    }
    return b;
}

uint32_t cx_blocking_scale_kib(uint32_t kib, uint32_t table_l2_kib, const char **source)
{
    const uint32_t l2 = cpu_l2_kib(table_l2_kib, source);
    return l2 != table_l2_kib && table_l2_kib ? scale_kib(kib, l2, table_l2_kib) : kib;
}
