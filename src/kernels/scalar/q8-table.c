/* The scalar int8 table, and int8 table availability / selection (the SIMD
 * tables live in src/kernels/avx2/q8-table.c and src/kernels/avx512/q8-table.c). */
#include <string.h>

#include "kernels/kernels_q8.h"
#include "runtime/cpu.h"

const cx_q8_kernels cx_q8_kernels_scalar = {
    .name = "scalar",
    .gemm = { cx_qu8_igemm_ukernel_4x8c4__scalar, 4, 8, CX_Q8_KR },
    .wmax = 127,
    .dwconv = cx_q8_dwconv_ukernel__scalar,
    .maxpool = cx_u8_maxpool_ukernel__scalar,
    .avgpool = cx_q8_avgpool_ukernel__scalar,
    .gavgpool = cx_q8_gavgpool_ukernel__scalar,
    .gavgpool_f32 = cx_q8_gavgpool_f32_ukernel__scalar,
    .dqadd = cx_q8_dqadd_ukernel__scalar,
    .dqavg = cx_q8_dqavg_ukernel__scalar,
    .l2_kib = 1024, .conv_block_kib = 384,
};

uint32_t cx_q8_block_kib(const cx_q8_kernels *k, const char **source)
{
    return cx_blocking_scale_kib(k->conv_block_kib, k->l2_kib, source);
}

int cx_q8_kernels_available(const cx_q8_kernels *k)
{
    if (!k || !k->gemm.igemm) return 0;
    if (k == &cx_q8_kernels_scalar) return 1;
#ifdef CX_SIMDE
    /* test-only build: AVX-512 sources run on SIMDe's portable intrinsics */
    if (k == &cx_q8_kernels_avx512 || k == &cx_q8_kernels_avx512vnni) return 1;
#endif
    if (k == &cx_q8_kernels_avx2 || k == &cx_q8_kernels_avx2exact) return cx_cpu_has_avx2();
    if (k == &cx_q8_kernels_avx512) return cx_cpu_has_avx512();
    if (k == &cx_q8_kernels_avx512vnni) return cx_cpu_has_avx512() && cx_cpu_get()->avx512vnni;
    return 0;
}

static const cx_q8_kernels *best_at_most(int level) /* 0 scalar, 1 avx2, 2 avx512 */
{
    if (level >= 2 && cx_q8_kernels_available(&cx_q8_kernels_avx512vnni)) return &cx_q8_kernels_avx512vnni;
    if (level >= 2 && cx_q8_kernels_available(&cx_q8_kernels_avx512)) return &cx_q8_kernels_avx512;
    if (level >= 1 && cx_q8_kernels_available(&cx_q8_kernels_avx2)) return &cx_q8_kernels_avx2;
    return &cx_q8_kernels_scalar;
}

const cx_q8_kernels *cx_q8_kernels_for(const cx_kernels *f32)
{
    if (!f32) return best_at_most(2);
    if (strcmp(f32->name, "avx512") == 0) return best_at_most(2);
    if (strcmp(f32->name, "avx2") == 0) return best_at_most(1);
    return &cx_q8_kernels_scalar;
}

const cx_q8_kernels *cx_q8_kernels_by_name(const char *name)
{
    if (!name || !*name || strcmp(name, "auto") == 0) return best_at_most(2);
    const cx_q8_kernels *all[] = { &cx_q8_kernels_scalar, &cx_q8_kernels_avx2, &cx_q8_kernels_avx2exact,
                                   &cx_q8_kernels_avx512, &cx_q8_kernels_avx512vnni };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, all[i]->name) == 0) return cx_q8_kernels_available(all[i]) ? all[i] : NULL;
    return NULL;
}
