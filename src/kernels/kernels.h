/* Kernel families and the per-ISA kernel table.
 *
 * Layers never name an ISA: they call through a cx_kernels table chosen once per
 * model load (cx_kernels_select). Weights are packed with the table's tile sizes,
 * so packing and microkernel always agree. Every family has a scalar version in
 * src/kernels/scalar/, which is also what the tests compare the others with.
 *
 * Naming: cx_<dtype>_<op>_ukernel_<tile>__<isa>; the file name is the symbol
 * without the cx_ prefix (f32-igemm-6x16-avx2.c holds cx_f32_igemm_ukernel_6x16__avx2).
 */
#ifndef CX_KERNELS_H
#define CX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* For plain-C loops over contiguous elements (pooling, adds, conversions):
 * GCC's -O2 cost model leaves loops of unknown trip count scalar, so these
 * ask for the -O3 vectoriser (baseline SSE2 outside the ISA directories).
 * Write such loops over restrict pointers and locals, without branches. */
#if defined(__GNUC__) && !defined(__clang__)
#define CX_VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define CX_VECTORIZE
#endif

/* Epilogue of the f32 GEMM family: y = clamp(acc + bias + residual, min, max).
 * ReLU is min = 0, max = +inf; no clamp is -inf..+inf. residual is NULL or
 * points at the tile's first element, rows r_stride floats apart, columns
 * contiguous (same column index as C). */
typedef struct cx_f32_params {
    float min, max;
    const float *residual;
    size_t r_stride;
    /* Optional prefetch stream (a hint; kernels may ignore it): the kernel
     * touches [prefetch, prefetch + prefetch_bytes) with L2 prefetches spread
     * over its k steps, so the driver can pull the next weight block in while
     * this one computes instead of stalling on it later. */
    const void *prefetch;
    size_t prefetch_bytes;
} cx_f32_params;

/* A kernel spreads its prefetch stream evenly over its `steps` loop
 * iterations (a burst of misses at the start would stall the loads behind
 * it): one prefetch per iteration, advancing by the bytes returned (1..64,
 * so no cache line is skipped), until prefetch + prefetch_bytes. */
static inline size_t cx_f32_prefetch_step(const cx_f32_params *p, size_t steps)
{
    if (!p->prefetch || steps == 0) return 64;
    const size_t s = (p->prefetch_bytes + steps - 1) / steps;
    return s > 64 ? 64 : s < 1 ? 1 : s;
}

/* f32 indirect GEMM microkernel ("igemm", as in QNNPACK/XNNPACK).
 * Computes rows [0, mr) (mr <= MR) and columns [0, nc) (any nc >= 1) of
 *   C[i][j] = epilogue( W.bias[j] + sum_{t<ks} sum_{k<kc} a[t*MR + i][k] * W[t][k][j] )
 * a: ks*MR row pointers, tap-major. Each points at kc readable floats; a
 *    padding tap points at a zero row. Entries for rows i >= mr must still be
 *    valid pointers (the driver repeats row mr-1); their results are discarded.
 * w: packed by cx_f32_gemm_pack_weights with the same NR: for each NR-wide
 *    panel of columns, NR biases then ks*kc*NR weights in (t, k, j) order;
 *    columns past nc are zero-padded. The kernel walks panels for nc > NR.
 * c: row i at c + i*c_stride; only the mr x nc block is written.
 * The kernel reads no A float past a[..][kc-1] and no W float past the panels. */
typedef void (*cx_f32_igemm_fn)(size_t mr, size_t nc, size_t kc, size_t ks,
                                const float *const *a, const float *w,
                                float *c, size_t c_stride, const cx_f32_params *p);

/* Depthwise convolution, channels-last (one output pixel): for c < channels
 *   out[c] = epilogue(bias[c] + sum_{t<ks} in[t][c] * w[t][c])
 * in: ks pointers to rows of `channels` floats (padding taps point at zeros).
 * w: bias[channels] then ks*channels weights, tap-major (unpacked layout). */
typedef void (*cx_f32_dwconv_fn)(size_t channels, size_t ks, const float *const *in,
                                 const float *w, float *out, const cx_f32_params *p);

/* One f32 igemm kernel with its tile; weights are packed with this nr. */
typedef struct cx_f32_gemm_desc {
    cx_f32_igemm_fn igemm;       /* full MR-row kernel; handles any mr <= MR */
    uint32_t mr, nr;
} cx_f32_gemm_desc;

/* Cache blocking of the f32 conv drivers: the BLIS MC/KC/NC of libcortex.
 * NC is the column block (packed weights of nc columns x all of K), sized to
 * stay in L2 while the row tiles stream past; the Winograd tile blocks keep
 * their transformed input and GEMM output (V + M) in L2 the same way. K is
 * not blocked (the fused epilogue needs the whole sum; 1x1 convs read A in
 * place) and M is not blocked (each row tile's A rows stay in L1 across the
 * panels of a block). Each table holds the budgets for the L2 of the parts it
 * was written for; cx_kernels_blocking rescales them to the L2 this CPU
 * reports. Blocking changes the order of tasks, never a sum: outputs are
 * bit-identical under any budget. */
typedef struct cx_f32_blocking {
    uint32_t l2_kib;                /* the per-core L2 the budgets below are for */
    uint32_t conv_block_kib;        /* NC: packed weights of one column block */
    uint32_t wino_block_kib;        /* Winograd V + M scratch of one tile block */
    uint32_t wino_heavy_block_kib;  /* the same for layers whose weights stream from DRAM */
} cx_f32_blocking;

typedef struct cx_kernels {
    const char *name;            /* "scalar", "avx2", "avx512" */
    cx_f32_gemm_desc f32_gemm;   /* the main GEMM */
    /* A narrower-NR GEMM for convs whose groups have few output channels
     * (ResNeXt: 8 or 16 per group), where the main NR would compute mostly
     * padding. igemm NULL when the table has none. */
    cx_f32_gemm_desc f32_gemm_narrow;
    /* Optional: a kernel on the main GEMM's packed weights (same nr) with
     * fewer rows, for row counts the main mr covers with many padding rows
     * (AVX-512: 7x32 for 7x7 and 14x14 maps). igemm NULL where absent. */
    cx_f32_gemm_desc f32_gemm_rows;
    cx_f32_dwconv_fn f32_dwconv;
    cx_f32_blocking f32_blocking;
    /* Peak probes for `cortex-bench peak`: run the ISA's f32 FMA / int8
     * multiply-add stream for about `seconds`; GFLOP/s and GOPS (2 per MAC). */
    double (*f32_peak)(double seconds);
    double (*q8_peak)(double seconds);
} cx_kernels;

/* Tables; each lives next to its kernels. An ISA compiled out leaves its
 * table with NULL kernels and cx_kernels_available() false. */
extern const cx_kernels cx_kernels_scalar;
extern const cx_kernels cx_kernels_avx2;
extern const cx_kernels cx_kernels_avx512;

/* Picks a table. request NULL or "auto": CORTEX_ISA from the environment if
 * set, else the best the CPU and OS support. "scalar" | "avx2" | "avx512"
 * force one; NULL return with err filled when the CPU lacks it or the name is
 * unknown. */
const cx_kernels *cx_kernels_select(const char *request, char *err, size_t errlen);

/* The table's blocking for this CPU: budgets scaled by (L2 of this CPU) /
 * (the table's l2_kib). The L2 is CORTEX_L2_KIB from the environment when
 * that is a valid size (cx_blocking_env_check), else what CPUID reports,
 * else the table's own. *source (may be NULL) gets "CORTEX_L2_KIB", "CPUID"
 * or "default". */
cx_f32_blocking cx_kernels_blocking(const cx_kernels *k, const char **source);

/* One budget of a table written for an L2 of table_l2_kib, rescaled the same
 * way to this CPU's L2 (CORTEX_L2_KIB, else CPUID, else unchanged); the int8
 * tables' column block goes through this too. *source as above (may be NULL). */
uint32_t cx_blocking_scale_kib(uint32_t kib, uint32_t table_l2_kib, const char **source);

/* CORTEX_L2_KIB: unset, or a whole number of KiB in 64..262144. Returns 0, or
 * -1 with err filled (model load reports it instead of ignoring a typo). */
int cx_blocking_env_check(char *err, size_t errlen);

/* Whether this CPU (CPUID + XGETBV) can run a table's instructions. */
int cx_kernels_available(const cx_kernels *k);

/* Packs f32 conv/GEMM weights for the igemm family.
 * w: (n, ks, kc) row-major: column j of the GEMM, tap t, input channel k
 *    (a conv weight OIDHW permuted to O,DHW,I per group). bias: n floats or NULL.
 * out: cx_f32_gemm_packed_size(n, kc, ks, nr) floats. */
size_t cx_f32_gemm_packed_size(size_t n, size_t kc, size_t ks, size_t nr);
void cx_f32_gemm_pack_weights(size_t n, size_t kc, size_t ks, size_t nr,
                              const float *w, const float *bias, float *out);

/* Same packed layout, read straight from a PyTorch conv weight of one group:
 * w is (n, kc, ks) = (out channels, in channels, kd*kh*kw), no temporary. */
void cx_f32_gemm_pack_conv_weights(size_t n, size_t kc, size_t ks, size_t nr,
                                   const float *w, const float *bias, float *out);

/* peak probes */
double cx_f32_peak__scalar(double seconds);
double cx_f32_peak__avx2(double seconds);
double cx_q8_peak__avx2(double seconds);
double cx_f32_peak__avx512(double seconds);
double cx_q8_peak__avx512(double seconds);

/* scalar kernels */
void cx_f32_igemm_ukernel_4x8__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                      const float *const *a, const float *w,
                                      float *c, size_t c_stride, const cx_f32_params *p);
void cx_f32_dwconv_ukernel__scalar(size_t channels, size_t ks, const float *const *in,
                                   const float *w, float *out, const cx_f32_params *p);

#endif
