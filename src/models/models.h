/* Architecture registry: every --arch of CONTRACT.md that this build knows. */
#ifndef CX_MODELS_H
#define CX_MODELS_H
#include "models/builder.h"

typedef struct cx_arch {
    const char *name;
    int spatial;                 /* 2: input (N,3,H,W); 3: (N,3,T,H,W) */
    int depths[4];
    bool bottleneck;
    double bn_eps;
    int groups, width;           /* nominal ResNeXt/wide widths, for synthetic weights only */
    int (*build)(cx_builder *b, const struct cx_arch *a);  /* returns output value or -1 */
} cx_arch;

const cx_arch *cx_arch_find(const char *name);
/* Comma-separated list of known names, for usage and error messages. */
const char *cx_arch_names(void);

int cx_build_resnet(cx_builder *b, const cx_arch *a);
int cx_build_videoresnet(cx_builder *b, const cx_arch *a);
int cx_build_csn(cx_builder *b, const cx_arch *a);
int cx_build_octresnet(cx_builder *b, const cx_arch *a);

/* Synthetic state_dict of any arch at its reference module's nominal widths
 * and key names (synth.c): random weights (He scaled, seeded) and random BN
 * statistics. alpha: octresnet50's low-frequency fraction (< 0: 0.25; other
 * archs ignore it). For cortex-bench and tests. */
cortex_status cx_arch_synth(const cx_arch *a, int classes, uint64_t seed, double alpha, cx_tdict *out);
#endif
