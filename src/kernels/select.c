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
