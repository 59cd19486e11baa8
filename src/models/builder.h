/* The graph builder that architecture code (resnet.c, ...) talks to.
 *
 * One arch description serves two jobs:
 *  - CONVERT (cortex-convert): tensors come from a PyTorch state_dict; each
 *    conv's BatchNorm is folded into its weight and bias (in double, with the
 *    arch's BN eps) and written to a .ctx writer under the conv's name.
 *  - LOAD (cortex_model_load): folded tensors come from a .ctx file; each conv
 *    is created (weights packed for the kernel table) and added to the graph.
 * Either way the builder checks every tensor's presence and shape, infers
 * widths and groups from shapes, and at the end reports keys nobody used.
 * After the first error every call is a no-op returning -1: arch code need not
 * check each step.
 *
 * LOAD of an int8 file (metadata dtype "int8", docs/int8.md): a conv whose
 * weight is stored int8 becomes a QCONV (u8 in, u8 out, the output's
 * (scale, zp) from metadata quant.act.<conv>); a conv stored float32 stays an
 * fp32 CONV. Values carry their type, and the builder converts where a
 * consumer needs the other one (QUANTIZE with the producer's quant.act params,
 * or quant.input for the network input; DEQUANTIZE), once per value. Max
 * pooling of a u8 value stays u8, global average pooling of a u8 value
 * produces f32 (QGAP_F32), ADD and the fc run in f32. Arch code is unchanged. */
#ifndef CX_BUILDER_H
#define CX_BUILDER_H
#include "io/ctx.h"
#include "runtime/graph.h"

typedef enum cx_build_mode { CX_BUILD_CONVERT, CX_BUILD_LOAD } cx_build_mode;

typedef struct cx_builder {
    cx_build_mode mode;
    const cx_tdict *sd;          /* CONVERT: source state_dict */
    cx_ctx_writer *w;            /* CONVERT: destination */
    const cx_ctx_file *ctx;      /* LOAD: source */
    const cx_kernels *kt;        /* LOAD: kernel table to pack for */
    cx_graph *g;
    bool *used;                  /* per source tensor */
    double bn_eps;               /* set by the arch before its convs (default 1e-5) */
    /* set by the arch before a conv: the groups its reference module has
     * (0: any, read from the weight's shape); a checkpoint whose shape
     * implies other groups is an error naming the tensor */
    int want_groups;
    const char *arch_name;       /* for that error */
    cortex_status st;
    char err[512];
    uint64_t params;             /* learned parameters after folding */
    void (*progress)(void *ctx, int done);  /* called after each conv, may be NULL */
    void *progress_ctx;
    int convs_done;
    /* int8 LOAD (set by the caller before building) */
    bool int8;
    const cx_q8_kernels *qk;
    int wbits;                   /* 8, or 7 if any GEMM's weights were requantized for qk->wmax */
    /* per value (int8 LOAD): its other-type twin (-1 none), and for f32
     * values the calibrated (scale, zp) a QUANTIZE would use */
    int *twin;
    bool *has_act;
    float *act_scale;
    int32_t *act_zp;
    int cap_meta;
    /* octave nets: alpha requested by the caller (< 0: arch default); the
     * arch sets alpha_meta (>= 0) to have CONVERT store metadata 'alpha' */
    double alpha, alpha_meta;
} cx_builder;

void cx_builder_init(cx_builder *b, cx_build_mode mode, cx_graph *g);
/* Records the first error; returns -1 so arch code can `return cx_b_fail(...)`. */
int cx_b_fail(cx_builder *b, cortex_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool cx_b_ok(const cx_builder *b);
/* Whether the source has a tensor of this name (e.g. optional downsample). */
bool cx_b_has(const cx_builder *b, const char *name);

int cx_b_input(cx_builder *b, int channels);
/* Conv (weight "<conv>.weight", kernel k[3] in d,h,w) + optional BN "<bn>"
 * (NULL: the conv has its own bias or none) + optional residual value (-1
 * none) added before the optional ReLU. Output channels and groups come from
 * the weight's shape. For a 2-D net k[0] = 1 and the weight is 4-D. */
int cx_b_conv(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
              const int stride[3], const int pad[3], int residual, bool relu);
/* cx_b_conv where a BN is applied to a sum of convs (octave convs): the BN's
 * scale is folded into this conv's weights, its shift into the bias only if
 * bn_shift (exactly one conv of the sum takes it). In LOAD mode the same as
 * cx_b_conv (the folded bias is stored). */
int cx_b_conv_part(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
                   const int stride[3], const int pad[3], int residual, bool relu, bool bn_shift);
int cx_b_avgpool(cx_builder *b, int x, const char *name, const int k[3], const int s[3],
                 const int p[3], bool ceil_mode, bool count_include_pad);
/* x + crop(upsample2_nearest(low)) (UP2ADD), optional ReLU; the result has
 * x's size. In an int8 model: QUP2ADD when both inputs are u8 and the node
 * has calibrated output parameters, else fp32 like ADD. */
int cx_b_upadd(cx_builder *b, int x, int low, const char *name, bool relu);
/* Size of axis `axis` of source tensor `name`, or -1 if absent (not marked used). */
int cx_b_dim(const cx_builder *b, const char *name, int axis);
int cx_b_maxpool(cx_builder *b, int x, const char *name, const int k[3], const int s[3],
                 const int p[3], bool ceil_mode);
int cx_b_gap(cx_builder *b, int x, const char *name);
/* Linear layer "<name>.weight" (classes, C) + "<name>.bias" on a GAP output. */
int cx_b_fc(cx_builder *b, int x, const char *name);
int cx_b_add(cx_builder *b, int x, int y, const char *name, bool relu);
/* Finishes: sets the graph output and fails on source tensors never used. */
cortex_status cx_b_finish(cx_builder *b, int output);
void cx_builder_free(cx_builder *b);
#endif
