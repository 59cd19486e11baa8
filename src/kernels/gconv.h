/* Grouped convolution kernels that compute every group of a row tile in one
 * call ("gconv", after FBGEMM's groupwise conv).
 *
 * Why: the igemm path (kernels.h) calls its kernel once per group and row
 * tile and rebuilds the tile's MR*ks row pointers for every group (offset by
 * the group's first channel, padding taps redirected to the zero row). With
 * 4-16 channels per group that bookkeeping costs about as much as the
 * arithmetic, and a kernel that sees one group at a time cannot fill a zmm
 * with 4 or 8 output channels. A gconv kernel gets the tile's pixel pointers
 * once and walks the groups itself; kernels for 4 and 8 channels per group
 * use weight layouts of their own so every vector lane does useful work.
 *
 * Contract. For g < groups, rows i < mr (mr <= MR), columns j < nc:
 *   C[i][g*nc + j] = epilogue( bias[g*nc + j] + sum_{t<ks} sum_{k<kc}
 *                    a[t*MR + i][a_offset + g*kc + k] * W[g*nc + j][k][t] )
 * with the epilogue of cx_f32_params (kernels.h): residual (NULL or the same
 * layout as C, rows r_stride apart), then clamp to [min, max].
 * a: ks*MR pixel pointers, tap-major. a[q] + a_offset is channel 0 of group 0
 *    and a[q][a_offset .. a_offset + groups*kc) must be readable; a padding
 *    tap points at a zero row at least a_offset + groups*kc floats long
 *    (the conv's cin). Entries for rows i >= mr must still be valid (the
 *    driver repeats row mr-1); their results are discarded.
 * w: packed by cx_f32_gconv_pack for the same descriptor. A call may start at
 *    any group that is a multiple of the descriptor's gb: w then points at
 *    that group's block (cx_f32_gconv_block_floats apart), a_offset grows by
 *    g0*kc and c, residual by g0*nc.
 * c: row i at c + i*c_stride; only the mr x groups*nc block is written.
 * Nothing is read past a row's groups*kc channels, the packed weights, or the
 * residual's mr x groups*nc block.
 * kc and nc are the conv's channels per group; a kernel with fixed kc/nc in
 * its descriptor is only called with those. */
#ifndef CX_GCONV_H
#define CX_GCONV_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

typedef void (*cx_f32_gconv_fn)(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                const float *const *a, size_t a_offset, const float *w,
                                float *c, size_t c_stride, const cx_f32_params *p);

/* Packed weight layouts (cx_f32_gconv_pack writes them from PyTorch layout):
 *  PANELS: per group the igemm layout (cx_f32_gemm_pack_conv_weights with the
 *          descriptor's nr), groups back to back. Any kc, nc.
 *  G4:     kc = nc = 4, gb groups interleaved per block: gb*4 biases (group,
 *          column), then per tap t and k, gb*4 weights W[col][k][t] in
 *          (group, column) order; a last partial block is zero-padded.
 *  K8:     kc = nc = 8, per group 16 floats of bias (b0-3, 0 x4, b4-7, 0 x4),
 *          then per tap t and e < 4, 16 floats: lane L, element j holds
 *          W[j + 4*(L>>1)][e + 4*(L&1)][t] (128-bit lanes: columns 0-3 of
 *          k = e and e+4, then columns 4-7 of the same). */
typedef enum cx_gconv_layout { CX_GCONV_PANELS = 0, CX_GCONV_G4 = 1, CX_GCONV_K8 = 2 } cx_gconv_layout;

typedef struct cx_f32_gconv_desc {
    const char *name;
    cx_f32_gconv_fn gconv;
    uint32_t mr;            /* rows per call (MR) */
    uint32_t kc, nc;        /* the channels per group it computes; 0 = any */
    uint32_t nc_max;        /* kc/nc any: cx_f32_gconv_find offers it for nc <= nc_max */
    uint32_t gb;            /* groups per packed block */
    uint32_t nr;            /* PANELS: panel width */
    cx_gconv_layout layout;
} cx_f32_gconv_desc;

/* The gconv kernels of a table (scalar, avx2, avx512), best first; returns the
 * count. Tests walk all of them. */
size_t cx_f32_gconv_list(const cx_kernels *kt, const cx_f32_gconv_desc *const **list);

/* The kernel for a conv with kc/nc channels per group in and out, or NULL
 * when the table's igemm path is as fast (the scalar table: always NULL). */
const cx_f32_gconv_desc *cx_f32_gconv_find(const cx_kernels *kt, size_t kc, size_t nc);

/* Floats of one packed block of gb groups, and of all groups. */
size_t cx_f32_gconv_block_floats(const cx_f32_gconv_desc *d, size_t kc, size_t nc, size_t ks);
size_t cx_f32_gconv_packed_size(const cx_f32_gconv_desc *d, size_t groups, size_t kc, size_t nc, size_t ks);

/* Packs a PyTorch grouped conv weight w (groups*nc, kc, ks) and bias
 * (groups*nc floats or NULL) into out (cx_f32_gconv_packed_size floats). */
void cx_f32_gconv_pack(const cx_f32_gconv_desc *d, size_t groups, size_t kc, size_t nc, size_t ks,
                       const float *w, const float *bias, float *out);

/* scalar reference: any kc/nc, PANELS layout with nr = 8, MR = 4 */
void cx_f32_gconv_ukernel_4x8__scalar(size_t groups, size_t mr, size_t kc, size_t nc, size_t ks,
                                      const float *const *a, size_t a_offset, const float *w,
                                      float *c, size_t c_stride, const cx_f32_params *p);

#endif
