/* N-d convolution over NDHWC activations.
 *
 * Two algorithms, chosen at create time:
 *  - igemm: the indirect GEMM of QNNPACK/XNNPACK. Output pixels are the GEMM
 *    rows (M), output channels of a group the columns (N), taps x input
 *    channels the reduction. For each MR-row tile the driver builds MR*ks row
 *    pointers into the input (padding taps point at a zero row) and calls the
 *    table's microkernel, which walks packed weight panels. A 1x1 stride-1 conv
 *    reads the input in place: its pointers are just the rows.
 *  - dw: depthwise (groups == cin == cout), one output pixel per kernel call.
 *  - Winograd (conv_winograd.h) for 3x3 stride-1 layers, grouped ones included
 *    where each group fills whole kernel panels (pick_wino).
 * Work is split into tasks (group, column block, row tile) so that consecutive
 * tasks reuse the same packed weight block from L2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv_taps.h"
#include "layers/conv_winograd.h"
#include "layers/layers.h"
#include "runtime/pool.h"

/* Winograd for 3x3 stride-1 layers, chosen by the size of the transformed
 * weights (input size is not known at load): F(4x4,3x3) multiplies 4x fewer
 * but stores 36/9 = 4x the weights, F(2x2,3x3) 2.25x fewer for 16/9; past a
 * few MiB the weights streamed per run cost more than the multiplies saved
 * (measured on AVX-512: 512 channels at 7x7 lose with F4, win slightly with
 * F2) and the model's memory grows. The scalar table keeps the direct
 * algorithm: it is the reference the others are checked against.
 * CORTEX_WINOGRAD=0 in the environment turns it off (for comparisons). */
#define CX_WINO_MAX_BYTES (4u << 20)

static int pick_wino(const cx_kernels *kt, int cin, int cout, int groups, const cx_conv_geom *g)
{
    if (kt == &cx_kernels_scalar || !cx_wino_applicable(cin, cout, groups, g)) return 0;
    /* grouped: only groups whose outputs fill whole panels of the main
     * kernel (ResNeXt-101 32x8d's 32 channels per group at 14x14 on AVX-512);
     * narrower groups keep the gconv kernels, which fill the vector lanes */
    if (groups > 1 && (cout / groups) % (int)kt->f32_gemm.nr != 0) return 0;
    const char *env = getenv("CORTEX_WINOGRAD");
    if (env && env[0] == '0') return 0;
    double wc = (double)(cin / groups) * cout * sizeof(float);
    if (36 * wc <= CX_WINO_MAX_BYTES) return CX_WINO_F4;
    if (16 * wc <= CX_WINO_MAX_BYTES) return CX_WINO_F2;
    return 0;
}

/* Columns computed per group, padding included, weighted by how fast a kernel
 * runs a full panel: the narrow kernel wins only where the main one would
 * mostly compute padding (ResNeXt groups of 8 or 16 channels). */
static const cx_f32_gemm_desc *pick_gemm(const cx_kernels *kt, size_t nc)
{
    const cx_f32_gemm_desc *m = &kt->f32_gemm, *n = &kt->f32_gemm_narrow;
    if (!n->igemm) return m;
    double cm = (double)CX_ROUND_UP(nc, (size_t)m->nr), cn = (double)CX_ROUND_UP(nc, (size_t)n->nr) / 0.8;
    return cn < cm ? n : m;
}

cortex_status cx_conv_create(cx_conv *c, int cin, int cout, int groups, const cx_conv_geom *g,
                             bool relu, const float *w, const float *bias, const cx_kernels *kt)
{
    memset(c, 0, sizeof *c);
    if (cin <= 0 || cout <= 0 || groups <= 0 || cin % groups || cout % groups) return CORTEX_ERR_SHAPE;
    for (int i = 0; i < 3; i++)
        if (g->k[i] <= 0 || g->s[i] <= 0 || g->p[i] < 0 || g->dil[i] <= 0) return CORTEX_ERR_SHAPE;
    c->cin = cin;
    c->cout = cout;
    c->groups = groups;
    c->g = *g;
    c->ks = g->k[0] * g->k[1] * g->k[2];
    c->kc = cin / groups;
    c->nc = cout / groups;
    c->min = relu ? 0.0f : -INFINITY;
    c->max = INFINITY;
    c->kt = kt;
    /* column blocks of packed weights: the table's NC for this CPU's L2
     * (kernels.h), so the block stays resident while row tiles stream past */
    c->block_bytes = (size_t)cx_kernels_blocking(kt, NULL).conv_block_kib * 1024;
    const size_t ks = (size_t)c->ks, kc = (size_t)c->kc, nc = (size_t)c->nc;

    if (groups == cin && groups == cout && kt->f32_dwconv && groups > 1) {
        c->algo = CX_CONV_DW;
        c->packed = cx_alloc(((size_t)cout * (1 + ks)) * sizeof(float));
        c->zero = cx_calloc((size_t)cout * sizeof(float));
        if (!c->packed || !c->zero) { cx_conv_destroy(c); return CORTEX_ERR_NOMEM; }
        for (int o = 0; o < cout; o++) {
            c->packed[o] = bias ? bias[o] : 0.0f;
            for (size_t t = 0; t < ks; t++) c->packed[cout + t * cout + o] = w[o * ks + t];
        }
        return CORTEX_OK;
    }

    int wv = pick_wino(kt, cin, cout, groups, g);
    if (wv) {
        c->algo = CX_CONV_WINO;
        c->wino = calloc(1, sizeof *c->wino);
        if (!c->wino) return CORTEX_ERR_NOMEM;
        cortex_status st = cx_wino_create(c->wino, (cx_wino_variant)wv, cin, cout, groups, g, relu, w, bias, kt);
        if (st != CORTEX_OK) { free(c->wino); c->wino = NULL; return st; }
        return CORTEX_OK;
    }

    c->algo = CX_CONV_IGEMM;
    c->gemm = pick_gemm(kt, nc);
    c->gconv = groups > 1 ? cx_f32_gconv_find(kt, kc, nc) : NULL;
    if (c->gconv) {
        /* all groups per kernel call; padding taps point at a zero pixel of cin floats */
        c->packed = cx_alloc(cx_f32_gconv_packed_size(c->gconv, (size_t)groups, kc, nc, ks) * sizeof(float));
        c->zero = cx_calloc((size_t)cin * sizeof(float));
        if (!c->packed || !c->zero) { cx_conv_destroy(c); return CORTEX_ERR_NOMEM; }
        cx_f32_gconv_pack(c->gconv, (size_t)groups, kc, nc, ks, w, bias, c->packed);
        return CORTEX_OK;
    }
    const size_t nr = c->gemm->nr;
    c->group_stride = cx_f32_gemm_packed_size(nc, kc, ks, nr);
    c->packed = cx_alloc(c->group_stride * (size_t)groups * sizeof(float));
    c->zero = cx_calloc(kc * sizeof(float));
    if (!c->packed || !c->zero) { cx_conv_destroy(c); return CORTEX_ERR_NOMEM; }
    for (int gi = 0; gi < groups; gi++)
        cx_f32_gemm_pack_conv_weights(nc, kc, ks, nr, w + (size_t)gi * nc * kc * ks,
                                      bias ? bias + (size_t)gi * nc : NULL,
                                      c->packed + (size_t)gi * c->group_stride);
    return CORTEX_OK;
}

void cx_conv_destroy(cx_conv *c)
{
    if (c->wino) { cx_wino_destroy(c->wino); free(c->wino); c->wino = NULL; }
    cx_free(c->packed);
    cx_free(c->zero);
    c->packed = c->zero = NULL;
}

static int out_len(int in, int k, int s, int p, int dil)
{
    long span = (long)dil * (k - 1) + 1;
    long num = (long)in + 2L * p - span;
    if (num < 0) return 0;
    return (int)(num / s + 1);
}

cortex_status cx_conv_geom_out_dims(const cx_conv_geom *g, cx_dims in, int cout, cx_dims *out)
{
    cx_dims o = { in.n, out_len(in.d, g->k[0], g->s[0], g->p[0], g->dil[0]),
                  out_len(in.h, g->k[1], g->s[1], g->p[1], g->dil[1]),
                  out_len(in.w, g->k[2], g->s[2], g->p[2], g->dil[2]), cout };
    if (o.n <= 0 || o.d <= 0 || o.h <= 0 || o.w <= 0) return CORTEX_ERR_SHAPE;
    *out = o;
    return CORTEX_OK;
}

cortex_status cx_conv_out_dims(const cx_conv *c, cx_dims in, cx_dims *out)
{
    if (in.c != c->cin) return CORTEX_ERR_SHAPE;
    return cx_conv_geom_out_dims(&c->g, in, c->cout, out);
}

/* Convs with few input channels (the 3-channel stem) merge the kw taps of
 * each kernel row into one run of kw*kc floats (adjacent pixels are
 * contiguous in NDHWC), so the kernel sees kd*kh taps of K = kw*kc instead of
 * ks taps of 3 channels: per-tap overhead over 3 channels would dominate.
 * Runs inside the input are read in place; only border pixels' runs are
 * gathered. The packed (t, k) weight layout is the same, no repacking.
 * Against a full im2col gather of every row, ResNet-50's stem went from
 * 2.40 to 1.51 ms (1 thread) and 1.24 to 0.75 ms (2 threads) on the Zen 5. */
#define CX_IM2COL_MAX_KC 8

/* Only for ungrouped convs (the stem): for a grouped conv the gather runs
 * once per group and row tile and made 4 and 8 channels per group 2-2.4x
 * slower than per-tap kernel calls. */
static bool use_im2col(const cx_conv *c)
{
    return c->algo == CX_CONV_IGEMM && !c->gconv && c->kc <= CX_IM2COL_MAX_KC && c->ks > 1 && c->groups == 1;
}

size_t cx_conv_scratch_bytes(const cx_conv *c)
{
    if (c->algo == CX_CONV_WINO) return cx_wino_scratch_bytes(c->wino);
    size_t rows = c->algo == CX_CONV_DW ? 1 : c->gconv ? c->gconv->mr : c->gemm->mr;
    /* igemm: tap pointers without channel offset, then the kernel's pointers */
    size_t b = 2 * rows * (size_t)c->ks * sizeof(float *);
    if (use_im2col(c)) b += rows * (size_t)c->ks * (size_t)c->kc * sizeof(float) + CX_ALIGN;
    return b;
}

uint64_t cx_conv_macs(const cx_conv *c, cx_dims out)
{
    return (uint64_t)out.n * out.d * out.h * out.w * (uint64_t)c->cout * c->kc * c->ks;
}

typedef struct conv_job {
    const cx_conv *c;
    cx_dims in, out;
    const float *x;
    float *y;
    const float *res;
    cx_scratch *scratch;
    size_t m, mtiles, nblk, nblocks;  /* igemm: rows, row tiles, columns per block, blocks per group */
    size_t gblk, ngblocks;            /* igemm: groups per block, group blocks */
    size_t ptiles;                    /* igemm: row tiles per row part (mtiles: one part) */
    size_t tframes, tstiles, thw;     /* igemm, frames fastest (see cx_conv_run): output frames,
                                       * row tiles per frame, pixels per frame; tframes 0: flat order */
    const cx_f32_gemm_desc *gemm;     /* igemm: c->gemm, or the table's fewer-rows kernel (same packing) */
    bool pointwise;                   /* 1x1, stride 1, no padding: rows read in place */
    bool prefetch;
} conv_job;

CX_DEFINE_ROW_TAPS(row_taps_f32, float)

static inline void row_taps(const conv_job *j, size_t m, const float **base, size_t stride)
{
    row_taps_f32(&j->c->g, j->in, j->out, j->x, m, base, stride);
}

CX_DEFINE_TILE_TAPS(tile_taps_f32, row_taps_f32, float)

static inline void tile_taps(const conv_job *j, size_t m0, size_t mr, size_t MR, const float **base)
{
    tile_taps_f32(&j->c->g, j->in, j->out, j->x, m0, mr, MR, base);
}

/* The im2col path's A rows for output pixel m: one pointer per (kd, kh)
 * kernel row to kw*kc contiguous floats, into the input where the whole run
 * lies inside it (stride-1 dilation in w), else to a gathered copy in
 * `gather` (run u at gather + u*kw*kc, zeros for the padding). */
static void row_runs(const conv_job *j, size_t m, const float **ind, size_t stride, float *gather)
{
    const cx_conv_geom *g = &j->c->g;
    const cx_dims in = j->in, o = j->out;
    const size_t kc = (size_t)in.c, kw = (size_t)g->k[2], rk = kw * kc;
    size_t ow = m % (size_t)o.w, r = m / (size_t)o.w;
    size_t oh = r % (size_t)o.h;
    r /= (size_t)o.h;
    size_t od = r % (size_t)o.d, n = r / (size_t)o.d;
    const long d0 = (long)od * g->s[0] - g->p[0], h0 = (long)oh * g->s[1] - g->p[1], w0 = (long)ow * g->s[2] - g->p[2];
    const bool w_in = w0 >= 0 && w0 + (long)(kw - 1) * g->dil[2] < in.w && (g->dil[2] == 1 || kw == 1);
    const float *img = j->x + n * (size_t)in.d * in.h * in.w * kc;
    size_t u = 0;
    for (int kd = 0; kd < g->k[0]; kd++) {
        const long id = d0 + (long)kd * g->dil[0];
        for (int kh = 0; kh < g->k[1]; kh++, u++) {
            const long ih = h0 + (long)kh * g->dil[1];
            const bool row_in = id >= 0 && id < in.d && ih >= 0 && ih < in.h;
            const float *rowp = row_in ? img + ((size_t)id * in.h + (size_t)ih) * in.w * kc : NULL;
            if (row_in && w_in) { ind[u * stride] = rowp + (size_t)w0 * kc; continue; }
            float *dst = gather + u * rk;
            for (size_t v = 0; v < kw; v++) {
                const long iw = w0 + (long)v * g->dil[2];
                if (row_in && iw >= 0 && iw < in.w) memcpy(dst + v * kc, rowp + (size_t)iw * kc, kc * sizeof(float));
                else memset(dst + v * kc, 0, kc * sizeof(float));
            }
            ind[u * stride] = dst;
        }
    }
}

/* One task: one MR-row tile x one column block x one block of groups. The
 * tap pointers are computed once and offset per group. Tasks run weight
 * block by weight block (a column block, or a block of whole groups), each
 * small enough to stay in L2 while the row tiles stream past. */
static void igemm_task(void *arg, size_t task, int worker)
{
    const conv_job *j = arg;
    const cx_conv *c = j->c;
    const size_t MR = j->gemm->mr, NR = j->gemm->nr;
    const size_t ks = (size_t)c->ks, kc = (size_t)c->kc, cout = (size_t)c->cout;
    /* task = ((part * ngblocks + gb) * nblocks + nb) * ptiles + tile of the part */
    const size_t pt = task % j->ptiles, nb = task / j->ptiles % j->nblocks;
    const size_t gb = task / j->ptiles / j->nblocks % j->ngblocks, part = task / j->ptiles / j->nblocks / j->ngblocks;
    const size_t mt = part * j->ptiles + pt;
    if (mt >= j->mtiles) return;   /* the last part's ragged end */
    const size_t ptn = CX_MIN(j->ptiles, j->mtiles - part * j->ptiles);   /* tiles in this part */
    size_t m0, mr;
    if (j->tframes) {   /* tile mt = ((n * tstiles + s) * tframes + d): tile s of frame d of clip n */
        const size_t d = mt % j->tframes, s = mt / j->tframes % j->tstiles, n = mt / j->tframes / j->tstiles;
        m0 = (n * j->tframes + d) * j->thw + s * MR;
        mr = CX_MIN(MR, j->thw - s * MR);
    } else {
        m0 = mt * MR;
        mr = CX_MIN(MR, j->m - m0);
    }
    const size_t n0 = nb * j->nblk, ncols = CX_MIN(j->nblk, (size_t)c->nc - n0);
    const size_t g0 = gb * j->gblk, g1 = CX_MIN(g0 + j->gblk, (size_t)c->groups);
    const float **base = j->scratch[worker].p, **ind = base + MR * ks;
    const bool im2col = use_im2col(c);
    float *rows = im2col ? (float *)CX_ROUND_UP((uintptr_t)(ind + MR * ks), CX_ALIGN) : NULL;

    if (j->pointwise) {
        for (size_t i = 0; i < MR; i++) base[i] = j->x + (m0 + CX_MIN(i, mr - 1)) * (size_t)c->cin;
    } else if (!im2col) {   /* the im2col path addresses whole kernel rows itself (row_runs) */
        tile_taps(j, m0, mr, MR, base);
    }
    const size_t wpanel = (n0 / NR) * NR * (1 + ks * kc);
    /* This task's share (1/mtiles) of the next weight block, prefetched by
     * its kernel calls: the first row tile of a block otherwise waits on
     * memory for the whole block (a late layer's weights are MiBs, read once
     * per run); spread over the tiles, the stream hides under the FMAs.
     * Measured on the 512-channel 3x3 at 7x7, weights cold: -6.6 %. */
    const char *pf = NULL;
    size_t pf_bytes = 0;
    if (j->prefetch && (nb + 1 < j->nblocks || g1 < (size_t)c->groups)) {
        size_t bytes;
        if (nb + 1 < j->nblocks) {   /* next column block of the same groups (ungrouped: the only case) */
            const size_t next_cols = CX_MIN(j->nblk, (size_t)c->nc - n0 - j->nblk);
            bytes = CX_DIV_UP(next_cols, NR) * NR * (1 + ks * kc) * sizeof(float);
            pf = (const char *)(c->packed + wpanel + j->nblk * (1 + ks * kc));
        } else {                     /* next block of groups: whole groups, contiguous */
            bytes = (CX_MIN(g1 + j->gblk, (size_t)c->groups) - g1) * c->group_stride * sizeof(float);
            pf = (const char *)(c->packed + g1 * c->group_stride);
        }
        const size_t s0 = bytes * pt / ptn, s1 = bytes * (pt + 1) / ptn;
        pf += s0;
        pf_bytes = CX_DIV_UP(s1 - s0, g1 - g0);   /* split again over the groups' calls */
    }
    for (size_t gi = g0; gi < g1; gi++) {
        const size_t choff = gi * kc, col = gi * (size_t)c->nc + n0;
        const float *const *a = ind;
        size_t call_kc = kc, call_ks = ks;
        if (im2col) {
            /* the kw taps of one (kd, kh) row are adjacent pixels: kw*kc
             * contiguous floats, read in place when all lie inside the input;
             * only rows touching the padding are gathered into scratch */
            const size_t kw = (size_t)c->g.k[2], runs = ks / kw, rk = kw * kc;
            const float *gbeg = rows, *gend = rows + MR * runs * rk;
            const size_t step = (size_t)c->g.s[2] * (size_t)j->in.c;
            bool prev_in = false;
            for (size_t i = 0; i < MR; i++) {
                if (i >= mr) {   /* padding rows: same data */
                    for (size_t u = 0; u < runs; u++) ind[u * MR + i] = ind[u * MR + mr - 1];
                    continue;
                }
                /* the next pixel of an output row whose runs all lie inside
                 * along w: in-place runs move by one stride, the gathered
                 * ones are rows out of d/h, zeros for the whole output row,
                 * and are shared (row_runs' addressing and zero fills were
                 * a quarter of the 3-D stem's time) */
                const size_t ow = (m0 + i) % (size_t)j->out.w;
                const bool in_w = cx_taps_w_inside(&c->g, j->in, ow) && (c->g.dil[2] == 1 || kw == 1);
                if (i > 0 && ow > 0 && in_w && prev_in) {
                    for (size_t u = 0; u < runs; u++) {
                        const float *p = ind[u * MR + i - 1];
                        ind[u * MR + i] = p >= gbeg && p < gend ? p : p + step;
                    }
                } else {
                    row_runs(j, m0 + i, ind + i, MR, rows + i * runs * rk);
                }
                prev_in = in_w;
            }
            call_kc = rk;
            call_ks = runs;
        } else if (c->groups == 1 && j->pointwise) {
            a = base;
        } else {
            for (size_t q = 0; q < MR * ks; q++) ind[q] = base[q] ? base[q] + choff : c->zero;
        }
        cx_f32_params p = { c->min, c->max, j->res ? j->res + m0 * cout + col : NULL, cout, pf, pf_bytes };
        const float *w = c->packed + gi * c->group_stride + wpanel;
        j->gemm->igemm(mr, ncols, call_kc, call_ks, a, w, j->y + m0 * cout + col, cout, &p);
    }
}

/* One task: one MR-row tile x one range of groups, one kernel call. */
static void gconv_task(void *arg, size_t task, int worker)
{
    const conv_job *j = arg;
    const cx_conv *c = j->c;
    const cx_f32_gconv_desc *gd = c->gconv;
    const size_t MR = gd->mr, ks = (size_t)c->ks, kc = (size_t)c->kc, nc = (size_t)c->nc, cout = (size_t)c->cout;
    const size_t mt = task % j->mtiles, gb = task / j->mtiles;
    const size_t m0 = mt * MR, mr = CX_MIN(MR, j->m - m0);
    const size_t g0 = gb * j->nblk, gn = CX_MIN(j->nblk, (size_t)c->groups - g0);
    const float **base = j->scratch[worker].p;
    if (j->pointwise) {
        for (size_t i = 0; i < MR; i++) base[i] = j->x + (m0 + CX_MIN(i, mr - 1)) * (size_t)c->cin;
    } else {
        tile_taps(j, m0, mr, MR, base);
        for (size_t q = 0; q < MR * ks; q++)
            if (!base[q]) base[q] = c->zero;
    }
    const size_t col = g0 * nc;
    cx_f32_params p = { c->min, c->max, j->res ? j->res + m0 * cout + col : NULL, cout, NULL, 0 };
    const float *w = c->packed + g0 / gd->gb * cx_f32_gconv_block_floats(gd, kc, nc, ks);
    gd->gconv(gn, mr, kc, nc, ks, base, g0 * kc, w, j->y + m0 * cout + col, cout, &p);
}

static void dw_task(void *arg, size_t row, int worker)
{
    const conv_job *j = arg;
    const cx_conv *c = j->c;
    const float **ind = j->scratch[worker].p;
    const size_t C = (size_t)c->cout, ks = (size_t)c->ks, step = (size_t)c->g.s[2] * (size_t)j->in.c;
    bool prev_inside = false;
    for (size_t ow = 0; ow < (size_t)j->out.w; ow++) {
        size_t m = row * (size_t)j->out.w + ow;
        const bool inside = cx_taps_w_inside(&c->g, j->in, ow);
        if (inside && prev_inside) {
            for (size_t t = 0; t < ks; t++) if (ind[t] != c->zero) ind[t] += step;
        } else {
            row_taps(j, m, ind, 1);
            for (size_t t = 0; t < ks; t++) if (!ind[t]) ind[t] = c->zero;
        }
        prev_inside = inside;
        cx_f32_params p = { c->min, c->max, j->res ? j->res + m * C : NULL, C, NULL, 0 };
        c->kt->f32_dwconv(C, ks, ind, c->packed, j->y + m * C, &p);
    }
}

void cx_conv_run(const cx_conv *c, cx_dims in, const float *x, cx_dims out, float *y,
                 const float *residual, cortex_pool *pool, cx_scratch *scratch)
{
    if (c->algo == CX_CONV_WINO) {
        cx_wino_run(c->wino, in, x, out, y, residual, pool, scratch);
        return;
    }
    conv_job j = { .c = c, .in = in, .out = out, .x = x, .y = y, .res = residual, .scratch = scratch };
    if (c->algo == CX_CONV_DW) {
        cx_parallel(pool, dw_task, &j, (size_t)out.n * out.d * out.h);
        return;
    }
    const cx_conv_geom *g = &c->g;
    j.pointwise = c->ks == 1 && g->s[0] == 1 && g->s[1] == 1 && g->s[2] == 1 &&
                  g->p[0] == 0 && g->p[1] == 0 && g->p[2] == 0;
    if (c->gconv) {
        /* row tiles x group ranges: the groups are split (in whole packed
         * blocks) only when too few row tiles would leave workers idle */
        const size_t MR = c->gconv->mr, gbk = c->gconv->gb, groups = (size_t)c->groups;
        j.m = (size_t)out.n * out.d * out.h * out.w;
        j.mtiles = CX_DIV_UP(j.m, MR);
        const size_t want = 4 * (size_t)cortex_pool_threads(pool);
        size_t parts = 1;
        while (j.mtiles * parts < want && CX_DIV_UP(groups, parts * 2) >= gbk) parts *= 2;
        j.nblk = CX_ROUND_UP(CX_DIV_UP(groups, parts), gbk);
        j.nblocks = CX_DIV_UP(groups, j.nblk);
        cx_parallel(pool, gconv_task, &j, j.nblocks * j.mtiles);
        return;
    }
    j.m = (size_t)out.n * out.d * out.h * out.w;
    /* the fewer-rows kernel where it computes fewer padding rows (7x7 maps:
     * 49 rows in 7 tiles of 7, not 56 in tiles of 8) */
    j.gemm = c->gemm;
    const cx_f32_gemm_desc *rk = &c->kt->f32_gemm_rows;
    if (c->gemm == &c->kt->f32_gemm && rk->igemm && rk->nr == c->gemm->nr && rk->mr < c->gemm->mr &&
        CX_DIV_UP(j.m, rk->mr) * rk->mr < CX_DIV_UP(j.m, c->gemm->mr) * c->gemm->mr)
        j.gemm = rk;
    const size_t MR = j.gemm->mr, NR = j.gemm->nr;
    j.mtiles = CX_DIV_UP(j.m, MR);
    /* A temporal conv (kd > 1, 1x1 in space: R(2+1)D's) reads each input
     * frame for kd output frames. In flat order those reads lie a frame's
     * work apart (an R(2+1)D stage-1 frame is 1.8 MB: past the L2, so each
     * is a miss kd times over); with the frames fastest, a spatial tile's kd
     * reads of a frame come from consecutive tiles. Tiles stay within a
     * frame. Stage 1's 144->64 3x1x1 alone, 1 thread: 10.0-11.1 -> 8.4-9.4
     * ms; r2plus1d_18 (1x3x8x112x112) 0.95-0.99x in four alternated pairs.
     * Not for 3x3x3 convs: frames fastest moves their kh reuse as far apart
     * as it brings the kd reuse together (mc3_18: 0.95-1.08x, no gain). */
    if (c->g.k[0] > 1 && c->g.k[1] == 1 && c->g.k[2] == 1 && out.d > 1 && !j.pointwise) {
        j.thw = (size_t)out.h * out.w;
        j.tstiles = CX_DIV_UP(j.thw, MR);
        j.tframes = (size_t)out.d;
        j.mtiles = (size_t)out.n * j.tframes * j.tstiles;
    }
    size_t panel_bytes = NR * (1 + (size_t)c->ks * c->kc) * sizeof(float);
    size_t panels = CX_MAX((size_t)1, c->block_bytes / panel_bytes);
    j.nblk = CX_MIN(panels * NR, CX_ROUND_UP((size_t)c->nc, NR));
    j.nblocks = CX_DIV_UP((size_t)c->nc, j.nblk);
    /* groups whose weights fit one block run together (ResNeXt's 32 groups
     * of 32 channels at 14x14: 1.2 MiB per layer, re-read from L3 by every
     * row tile when all groups were one block; in ResNeXt-101 32x8d those 23
     * layers took 19.1-20.1 ms instead of 21.5-22.6 at 1 thread, 11.8 instead
     * of 12.9 at 2, per-layer profile) */
    const size_t gbytes = c->group_stride * sizeof(float);
    j.gblk = j.nblocks > 1 ? 1 : CX_MAX((size_t)1, CX_MIN((size_t)c->groups, c->block_bytes / gbytes));
    j.ngblocks = CX_DIV_UP((size_t)c->groups, j.gblk);
    /* with several row tiles per block, each tile's kernel calls prefetch a
     * share of the next block's weights (see igemm_task) */
    j.prefetch = j.mtiles > 1;
    /* Rows split between the threads first (each thread streams every weight
     * block past its own rows) where the weights span several blocks but the
     * activations outweigh them (ResNeXt-101 32x8d's 512-channel 1x1s at
     * 28x28): a column split there has each thread read the whole input, half
     * of it written by the other core, and leaves the next layer's rows split
     * across both. Stage 2 of that net, 2 threads, per-layer profiles: 14.1-14.2 ->
     * 13.3 ms (two alternated runs). Where the weights outweigh the
     * activations (14x14 and 7x7), reading them twice costs more. */
    j.ptiles = j.mtiles;
    size_t parts = 1;
    const size_t nt = (size_t)cortex_pool_threads(pool);
    const double act = (double)j.m * (double)(in.c + c->cout) * sizeof(float);
    const double wbytes = (double)c->group_stride * (double)c->groups * sizeof(float);
    if (nt > 1 && j.nblocks * j.ngblocks > 1 && act >= wbytes && j.mtiles >= 4 * nt) {
        parts = nt;
        j.ptiles = CX_DIV_UP(j.mtiles, parts);
    }
    cx_parallel(pool, igemm_task, &j, parts * j.ngblocks * j.nblocks * j.ptiles);
}

void cx_conv_ref(int cin, int cout, int groups, const cx_conv_geom *g, const float *w,
                 const float *bias, float min, float max, cx_dims in, const float *x,
                 cx_dims out, float *y, const float *residual)
{
    const int kc = cin / groups, nc = cout / groups;
    const int ks = g->k[0] * g->k[1] * g->k[2];
    for (int n = 0; n < out.n; n++)
        for (int od = 0; od < out.d; od++)
            for (int oh = 0; oh < out.h; oh++)
                for (int ow = 0; ow < out.w; ow++) {
                    size_t m = (((size_t)n * out.d + od) * out.h + oh) * out.w + ow;
                    for (int o = 0; o < cout; o++) {
                        int gi = o / nc;
                        double acc = bias ? bias[o] : 0.0;
                        for (int kd = 0; kd < g->k[0]; kd++)
                            for (int kh = 0; kh < g->k[1]; kh++)
                                for (int kw = 0; kw < g->k[2]; kw++) {
                                    int id = od * g->s[0] - g->p[0] + kd * g->dil[0];
                                    int ih = oh * g->s[1] - g->p[1] + kh * g->dil[1];
                                    int iw = ow * g->s[2] - g->p[2] + kw * g->dil[2];
                                    if (id < 0 || id >= in.d || ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
                                    const float *xp = x + ((((size_t)n * in.d + id) * in.h + ih) * in.w + iw) * in.c + gi * kc;
                                    int t = (kd * g->k[1] + kh) * g->k[2] + kw;
                                    for (int k = 0; k < kc; k++)
                                        acc += (double)xp[k] * w[((size_t)o * kc + k) * ks + t];
                                }
                        if (residual) acc += residual[m * cout + o];
                        float v = (float)acc;
                        v = v < min ? min : v;
                        y[m * cout + o] = v > max ? max : v;
                    }
                }
}
