/* Every --arch this build knows (CONTRACT.md), with its depths and BN eps.
 * Adding an arch: a build function in its own file, a row here, a name in
 * cx_arch_names. */
#include <string.h>

#include "models/models.h"

#define RESNET(nm, d0, d1, d2, d3, bott, g, wd) \
    { nm, 2, { d0, d1, d2, d3 }, bott, 1e-5, g, wd, cx_build_resnet }

static const cx_arch ARCHS[] = {
    RESNET("resnet18", 2, 2, 2, 2, false, 1, 64),
    RESNET("resnet34", 3, 4, 6, 3, false, 1, 64),
    RESNET("resnet50", 3, 4, 6, 3, true, 1, 64),
    RESNET("resnet101", 3, 4, 23, 3, true, 1, 64),
    RESNET("resnet152", 3, 8, 36, 3, true, 1, 64),
    RESNET("resnext50_32x4d", 3, 4, 6, 3, true, 32, 4),
    RESNET("resnext101_32x4d", 3, 4, 23, 3, true, 32, 4),
    RESNET("resnext101_32x8d", 3, 4, 23, 3, true, 32, 8),
    RESNET("resnext101_32x16d", 3, 4, 23, 3, true, 32, 16),
    RESNET("resnext101_32x32d", 3, 4, 23, 3, true, 32, 32),
    RESNET("resnext101_32x48d", 3, 4, 23, 3, true, 32, 48),
    RESNET("wide_resnet50_2", 3, 4, 6, 3, true, 1, 128),
    RESNET("wide_resnet101_2", 3, 4, 23, 3, true, 1, 128),
    /* video: (N, 3, T, H, W) */
    { "r3d_18", 3, { 2, 2, 2, 2 }, false, 1e-5, 1, 64, cx_build_videoresnet },
    { "mc3_18", 3, { 2, 2, 2, 2 }, false, 1e-5, 1, 64, cx_build_videoresnet },
    { "r2plus1d_18", 3, { 2, 2, 2, 2 }, false, 1e-5, 1, 64, cx_build_videoresnet },
    { "r2plus1d_34", 3, { 3, 4, 6, 3 }, false, 1e-5, 1, 64, cx_build_videoresnet },
    { "ir_csn_50", 3, { 3, 4, 6, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "ir_csn_101", 3, { 3, 4, 23, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "ir_csn_152", 3, { 3, 8, 36, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "ip_csn_50", 3, { 3, 4, 6, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "ip_csn_101", 3, { 3, 4, 23, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "ip_csn_152", 3, { 3, 8, 36, 3 }, true, 1e-3, 1, 64, cx_build_csn },
    { "resnext3d_101", 3, { 3, 4, 23, 3 }, true, 1e-5, 32, 4, cx_build_csn },
    /* octave convs (alpha: --alpha, default 0.25, stored as metadata) */
    { "octresnet50", 2, { 3, 4, 6, 3 }, true, 1e-5, 1, 64, cx_build_octresnet },
};

const cx_arch *cx_arch_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (strcmp(ARCHS[i].name, name) == 0) return &ARCHS[i];
    return NULL;
}

const char *cx_arch_names(void)
{
    return "resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x4d, "
           "resnext101_32x8d, resnext101_32x16d, resnext101_32x32d, resnext101_32x48d, "
           "wide_resnet50_2, wide_resnet101_2, r3d_18, mc3_18, r2plus1d_18, r2plus1d_34, ir_csn_50, "
           "ir_csn_101, ir_csn_152, ip_csn_50, ip_csn_101, ip_csn_152, resnext3d_101, "
           "octresnet50";
}
