/* Winograd F(4x4, 3x3) / F(2x2, 3x3) convolution (see conv_winograd.h).
 *
 * F4 interpolation points: 0, 1, -1, 1/2, -2, inf. The classic 0, +-1, +-2
 * (Lavin & Gray) gives ~2.5x the error (measured: 1.5e-5 vs 6e-6 of max|y| at
 * cin = 512, float accumulation of the GEMMs dominating in both): mixing 1/2
 * and -2 keeps the output transform's coefficients from piling up on one
 * frequency (Barabasz et al., "Error analysis and improving the accuracy of
 * Winograd convolution for deep neural networks", 2020). Matrices, with rows
 * of B^T and columns of A^T rescaled (the inverse scale goes into G) so that
 * the transforms have small exact coefficients:
 *   B^T: [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 -1 5/2 -1/2 -1 0;
 *         0 2 1 -2 -1 0; 0 1 -2 -1 2 0; 0 1 -3/2 -2 3/2 1]
 *   G:   [1 0 0; 1/3 1/3 1/3; 1/3 -1/3 1/3; 2/15 1/15 1/30; 1/30 -1/15 2/15; 0 0 1]
 *   A^T: [1 1 1 8 1 0; 0 1 -1 4 -2 0; 0 1 1 2 4 0; 0 1 -1 1 -8 1]
 * factored (a = d1-d3, b = d2-d4, b' = d3-d5, p = a+b, q = a-b):
 *   B^T d = ((d0-d2)-b - 3/2 a, 3/2 (d2+d3) - p, 3/2 (d2-d3) - q, 2a+b, a-2b, (a-b') - 3/2 b)
 *   A^T m = (m0+m1+m2 + 8m3 + m4, (m1-m2) + 4m3 - 2m4, (m1+m2) + 2m3 + 4m4, (m1-m2) + m3 - 8m4 + m5)
 * F2 (points 0, 1, -1, inf):
 *   B^T: [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G:   [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T: [1 1 1 0; 0 1 -1 -1]
 * The input and output transforms run in float; G (all the fractions) is
 * applied once at create time in double.
 *
 * Per task (block of T tiles x block of output columns), in the worker's
 * scratch:
 *   V[t][f][0..cin)   input transform of tile t, frequency f
 *   M[t][f][0..cols)  GEMM result: for each f, rows t of V[.][f] times U_f
 * then the output transform of each tile writes y. Frequencies are the outer
 * GEMM loop so each frequency's weight panels (cin x cout) are read once per
 * block and reused by its T/MR microkernel calls. */
#include <math.h>
#include <string.h>

#include "layers/conv_winograd.h"
#include "runtime/pool.h"

/* Scratch (V + M of one block) is kept under the table's wino_block_kib
 * (kernels.h: 512 KiB for a 1 MiB L2), so the block stays in L2 next to the
 * weight panels of one frequency. Layers whose transformed weights exceed
 * CX_WINO_HEAVY_BYTES (256 channels and up: 9.4 MB at 256) are bound by
 * streaming them from DRAM at batch 1, and every tile block streams them
 * once: their blocks may grow to wino_heavy_block_kib of scratch (2 MiB;
 * 256 @ 14x14: one block of 16 tiles instead of two of 8 measured 0.61 vs
 * 0.69 of the igemm time). */
#define CX_WINO_HEAVY_BYTES ((size_t)4 << 20)
/* output columns per GEMM + output transform pass (rounded up to panels):
 * measured no gain from smaller passes (64 columns lost 10-25 % on 128 and 512
 * channels), so all of a ResNet's columns in one pass */
#define CX_WINO_NB 512
/* At 2+ threads, layers whose transformed weights are at most this give each
 * thread whole tile groups instead of a column split (cx_wino_run): every
 * thread then reads all the weights, cheap from L3 at this size. ResNet-50's
 * 128-channel F4 layers (2.4 MB), 2 threads, per-layer profiles, 4 alternated
 * runs: 0.31-0.35 -> 0.28-0.31 ms; its 256-channel F2 layers (4 MiB) were
 * 10 % slower that way, so they keep the column split. */
#define CX_WINO_BALANCE_BYTES ((size_t)3 << 20)
/* scratch channel strides are rounded up to this many floats (64 bytes) */
#define CX_WINO_CH_ALIGN 16

/* ------------------------------------------------------------------ scalar transforms */

/* Channels are processed in chunks of CH so that the compiler can keep a
 * chunk's tile in registers/L1 and vectorise the c loops. */
#define CH 8

/* o = B^T d (F4, factored as in the header comment) */
static inline void bt6(float d0, float d1, float d2, float d3, float d4, float d5, float o[6])
{
    const float a = d1 - d3, b = d2 - d4, b1 = d3 - d5;
    const float p = a + b, q = a - b, s = d2 + d3, t = d2 - d3;
    o[0] = (d0 - d2 - b) - 1.5f * a;
    o[1] = 1.5f * s - p;
    o[2] = 1.5f * t - q;
    o[3] = 2.0f * a + b;
    o[4] = a - 2.0f * b;
    o[5] = (a - b1) - 1.5f * b;
}

/* y = A^T m (F4) */
static inline void at6(float m0, float m1, float m2, float m3, float m4, float m5, float y[4])
{
    const float s12 = m1 + m2, d12 = m1 - m2;
    y[0] = (m0 + s12) + 8.0f * m3 + m4;
    y[1] = (d12 + 4.0f * m3) - 2.0f * m4;
    y[2] = (s12 + 2.0f * m3) + 4.0f * m4;
    y[3] = (d12 + m3) - 8.0f * m4 + m5;
}

void cx_f32_wino4x3_in__scalar(size_t channels, const float *const *in, float *out, size_t os)
{
    for (size_t c0 = 0; c0 < channels; c0 += CH) {
        const size_t cn = channels - c0 < CH ? channels - c0 : CH;
        float t[6][6][CH];
        for (int s = 0; s < 6; s++) {       /* columns: t = B^T d */
            for (size_t c = 0; c < cn; c++) {
                float o[6];
                bt6(in[0 * 6 + s][c0 + c], in[1 * 6 + s][c0 + c], in[2 * 6 + s][c0 + c], in[3 * 6 + s][c0 + c],
                    in[4 * 6 + s][c0 + c], in[5 * 6 + s][c0 + c], o);
                for (int i = 0; i < 6; i++) t[i][s][c] = o[i];
            }
        }
        for (int i = 0; i < 6; i++) {       /* rows: V = t B */
            float *op = out + (size_t)(6 * i) * os + c0;
            for (size_t c = 0; c < cn; c++) {
                float o[6];
                bt6(t[i][0][c], t[i][1][c], t[i][2][c], t[i][3][c], t[i][4][c], t[i][5][c], o);
                for (int j = 0; j < 6; j++) op[(size_t)j * os + c] = o[j];
            }
        }
    }
}

static inline float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

void cx_f32_wino4x3_out__scalar(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    for (size_t c0 = 0; c0 < channels; c0 += CH) {
        const size_t cn = channels - c0 < CH ? channels - c0 : CH;
        float u[4][6][CH];
        for (int j = 0; j < 6; j++) {       /* columns: u = A^T M */
            const float *mj = m + (size_t)j * ms + c0;
            for (size_t c = 0; c < cn; c++) {
                float y[4];
                at6(mj[c], mj[6 * ms + c], mj[12 * ms + c], mj[18 * ms + c], mj[24 * ms + c], mj[30 * ms + c], y);
                for (int a = 0; a < 4; a++) u[a][j][c] = y[a];
            }
        }
        for (int a = 0; a < 4; a++) {       /* rows: Y = u A */
            for (size_t c = 0; c < cn; c++) {
                float y[4];
                at6(u[a][0][c], u[a][1][c], u[a][2][c], u[a][3][c], u[a][4][c], u[a][5][c], y);
                for (int b = 0; b < 4; b++) {
                    float v = y[b] + bias[c0 + c];
                    if (res) v += res[4 * a + b][c0 + c];
                    out[4 * a + b][c0 + c] = clampf(v, min, max);
                }
            }
        }
    }
}

void cx_f32_wino2x3_in__scalar(size_t channels, const float *const *in, float *out, size_t os)
{
    for (size_t c0 = 0; c0 < channels; c0 += CH) {
        const size_t cn = channels - c0 < CH ? channels - c0 : CH;
        float t[4][4][CH];
        for (int s = 0; s < 4; s++)
            for (size_t c = 0; c < cn; c++) {
                const float d0 = in[0 * 4 + s][c0 + c], d1 = in[1 * 4 + s][c0 + c];
                const float d2 = in[2 * 4 + s][c0 + c], d3 = in[3 * 4 + s][c0 + c];
                t[0][s][c] = d0 - d2;
                t[1][s][c] = d1 + d2;
                t[2][s][c] = d2 - d1;
                t[3][s][c] = d1 - d3;
            }
        for (int i = 0; i < 4; i++) {
            float *o = out + (size_t)(4 * i) * os + c0;
            for (size_t c = 0; c < cn; c++) {
                const float d0 = t[i][0][c], d1 = t[i][1][c], d2 = t[i][2][c], d3 = t[i][3][c];
                o[0 * os + c] = d0 - d2;
                o[1 * os + c] = d1 + d2;
                o[2 * os + c] = d2 - d1;
                o[3 * os + c] = d1 - d3;
            }
        }
    }
}

void cx_f32_wino2x3_out__scalar(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    for (size_t c0 = 0; c0 < channels; c0 += CH) {
        const size_t cn = channels - c0 < CH ? channels - c0 : CH;
        float u[2][4][CH];
        for (int j = 0; j < 4; j++)
            for (size_t c = 0; c < cn; c++) {
                const float m0 = m[(size_t)(0 * 4 + j) * ms + c0 + c], m1 = m[(size_t)(1 * 4 + j) * ms + c0 + c];
                const float m2 = m[(size_t)(2 * 4 + j) * ms + c0 + c], m3 = m[(size_t)(3 * 4 + j) * ms + c0 + c];
                u[0][j][c] = m0 + m1 + m2;
                u[1][j][c] = m1 - m2 - m3;
            }
        for (int a = 0; a < 2; a++) {
            float *o0 = out[2 * a + 0] + c0, *o1 = out[2 * a + 1] + c0;
            for (size_t c = 0; c < cn; c++) {
                const float m0 = u[a][0][c], m1 = u[a][1][c], m2 = u[a][2][c], m3 = u[a][3][c];
                const float b = bias[c0 + c];
                float y0 = m0 + m1 + m2 + b, y1 = m1 - m2 - m3 + b;
                if (res) {
                    y0 += res[2 * a + 0][c0 + c];
                    y1 += res[2 * a + 1][c0 + c];
                }
                o0[c] = clampf(y0, min, max);
                o1[c] = clampf(y1, min, max);
            }
        }
    }
}
#undef CH

/* ------------------------------------------------------------------ create */

static const double G4[6][3] = {
    { 1, 0, 0 },
    { 1.0 / 3, 1.0 / 3, 1.0 / 3 },
    { 1.0 / 3, -1.0 / 3, 1.0 / 3 },
    { 2.0 / 15, 1.0 / 15, 1.0 / 30 },
    { 1.0 / 30, -1.0 / 15, 2.0 / 15 },
    { 0, 0, 1 },
};
static const double G2[4][3] = {
    { 1, 0, 0 },
    { 0.5, 0.5, 0.5 },
    { 0.5, -0.5, 0.5 },
    { 0, 0, 1 },
};

bool cx_wino_applicable(int cin, int cout, int groups, const cx_conv_geom *g)
{
    if (cin <= 0 || cout <= 0 || groups <= 0 || cin % groups || cout % groups) return false;
    if (g->k[0] != 1 || g->k[1] != 3 || g->k[2] != 3) return false;
    if (g->s[0] != 1 || g->s[1] != 1 || g->s[2] != 1) return false;
    if (g->dil[0] != 1 || g->dil[1] != 1 || g->dil[2] != 1) return false;
    if (g->p[0] != 0 || g->p[1] < 0 || g->p[1] > 1 || g->p[2] < 0 || g->p[2] > 1) return false;
    return true;
}

/* The transforms follow the table's ISA (a table is only ever used on a CPU
 * that runs it). */
static void pick_transforms(cx_wino *w, const cx_kernels *kt)
{
    const bool f4 = w->m == 4;
    if (kt == &cx_kernels_avx512) {
        w->in_fn = f4 ? cx_f32_wino4x3_in__avx512 : cx_f32_wino2x3_in__avx512;
        w->out_fn = f4 ? cx_f32_wino4x3_out__avx512 : cx_f32_wino2x3_out__avx512;
    } else if (kt == &cx_kernels_avx2) {
        w->in_fn = f4 ? cx_f32_wino4x3_in__avx2 : cx_f32_wino2x3_in__avx2;
        w->out_fn = f4 ? cx_f32_wino4x3_out__avx2 : cx_f32_wino2x3_out__avx2;
    } else {
        w->in_fn = f4 ? cx_f32_wino4x3_in__scalar : cx_f32_wino2x3_in__scalar;
        w->out_fn = f4 ? cx_f32_wino4x3_out__scalar : cx_f32_wino2x3_out__scalar;
    }
}

cortex_status cx_wino_create(cx_wino *w, cx_wino_variant v, int cin, int cout, int groups, const cx_conv_geom *g,
                             bool relu, const float *weight, const float *bias, const cx_kernels *kt)
{
    memset(w, 0, sizeof *w);
    if (!cx_wino_applicable(cin, cout, groups, g) || (v != CX_WINO_F2 && v != CX_WINO_F4)) return CORTEX_ERR_SHAPE;
    w->cin = cin;
    w->cout = cout;
    w->groups = groups;
    w->kc = cin / groups;
    w->nc = cout / groups;
    w->pad_h = g->p[1];
    w->pad_w = g->p[2];
    w->m = (int)v;
    w->alpha = w->m + 2;
    w->nfreq = w->alpha * w->alpha;
    w->min = relu ? 0.0f : -INFINITY;
    w->max = INFINITY;
    w->gemm = &kt->f32_gemm;
    const cx_f32_gemm_desc *rk = &kt->f32_gemm_rows;
    w->gemm_rows = rk->igemm && rk->nr == w->gemm->nr && rk->mr < w->gemm->mr ? rk : NULL;
    pick_transforms(w, kt);

    const size_t nr = w->gemm->nr, kc = (size_t)w->kc, nc = (size_t)w->nc, nf = (size_t)w->nfreq, A = (size_t)w->alpha;
    /* one group's panel set per frequency; groups > 1 store a group's
     * frequencies together so a task streams its groups' weights in order */
    w->freq_stride = cx_f32_gemm_packed_size(nc, kc, 1, nr);
    w->group_stride = nf * w->freq_stride;
    size_t total;
    if (!cx_mul_ok(w->group_stride, (size_t)groups * sizeof(float), &total)) return CORTEX_ERR_NOMEM;
    w->packed = cx_alloc(total);   /* every float is written below (no calloc pass over 37 MB) */
    w->bias = cx_calloc((size_t)cout * sizeof(float));
    w->zero = cx_calloc((size_t)cin * sizeof(float));
    if (!w->packed || !w->bias || !w->zero) { cx_wino_destroy(w); return CORTEX_ERR_NOMEM; }
    if (bias) memcpy(w->bias, bias, (size_t)cout * sizeof(float));

    /* U = G g G^T in double, scattered into the packed layout of kernels.h
     * (per NR panel: NR zero biases, then (k, j) weights), per group. Loop
     * order (group, panel, k, column) writes each frequency's panels
     * sequentially. */
    const double(*G)[3] = w->m == 4 ? G4 : G2;
    const size_t panel = nr * (1 + kc);
    for (size_t gi = 0; gi < (size_t)groups; gi++) {
        float *gdst = w->packed + gi * w->group_stride;
        for (size_t o0 = 0; o0 < nc; o0 += nr) {
            for (size_t f = 0; f < nf; f++)
                memset(gdst + f * w->freq_stride + o0 / nr * panel, 0, nr * sizeof(float));   /* zero bias */
            for (size_t k = 0; k < kc; k++)
                for (size_t o = o0; o < o0 + nr; o++) {
                    float *dst = gdst + o0 / nr * panel + nr + k * nr + (o - o0);
                    if (o >= nc) {   /* padding column */
                        for (size_t f = 0; f < nf; f++) dst[f * w->freq_stride] = 0.0f;
                        continue;
                    }
                    const float *gk = weight + ((gi * nc + o) * kc + k) * 9;
                    double tg[6][3];            /* G g */
                    for (size_t i = 0; i < A; i++)
                        for (int s = 0; s < 3; s++)
                            tg[i][s] = G[i][0] * gk[0 * 3 + s] + G[i][1] * gk[1 * 3 + s] + G[i][2] * gk[2 * 3 + s];
                    for (size_t i = 0; i < A; i++)
                        for (size_t j = 0; j < A; j++) {
                            double u = tg[i][0] * G[j][0] + tg[i][1] * G[j][1] + tg[i][2] * G[j][2];
                            dst[(i * A + j) * w->freq_stride] = (float)u;
                        }
                }
        }
    }

    w->cin_p = CX_ROUND_UP((size_t)cin, (size_t)CX_WINO_CH_ALIGN);
    w->nb = CX_MIN(CX_ROUND_UP((size_t)CX_WINO_NB, nr), CX_ROUND_UP((size_t)cout, nr));
    if (groups > 1) w->nb = CX_MAX(w->nb, CX_ROUND_UP(nc, (size_t)CX_WINO_CH_ALIGN));   /* one whole group fits */
    const size_t MR = w->gemm->mr;
    const size_t per_tile = nf * (w->cin_p + w->nb) * sizeof(float);
    const cx_f32_blocking blk = cx_kernels_blocking(kt, NULL);
    size_t budget = (size_t)blk.wino_block_kib * 1024;
    w->weight_bytes = nf * kc * (size_t)cout * sizeof(float);
    if (w->weight_bytes > CX_WINO_HEAVY_BYTES) budget = (size_t)blk.wino_heavy_block_kib * 1024;
    w->max_tiles = CX_MAX(MR, budget / per_tile / MR * MR);
    return CORTEX_OK;
}

void cx_wino_destroy(cx_wino *w)
{
    cx_free(w->packed);
    cx_free(w->bias);
    cx_free(w->zero);
    w->packed = w->bias = w->zero = NULL;
}

uint64_t cx_wino_macs(const cx_wino *w, cx_dims out)
{
    return (uint64_t)out.n * out.d * out.h * out.w * (uint64_t)w->cout * (uint64_t)w->kc * 9u;
}

/* ------------------------------------------------------------------ run */

typedef struct scratch_layout {
    float *v, *m, *junk;
    const float **a, **in;
    float **out;
    const float **res;
} scratch_layout;

/* V and M of one block share one region of max_tiles * nf * (cin_p + nb)
 * floats: the dense path splits it at max_tiles * nf * cin_p, the grouped
 * path per run by its block shape (m set by the task). */
static size_t region_floats(const cx_wino *w)
{
    return w->max_tiles * (size_t)w->nfreq * (w->cin_p + w->nb);
}

static size_t layout(const cx_wino *w, void *base, scratch_layout *l)
{
    const size_t T = w->max_tiles, nf = (size_t)w->nfreq, mm = (size_t)(w->m * w->m);
    uintptr_t p = CX_ROUND_UP((uintptr_t)base, (uintptr_t)CX_ALIGN);
    const uintptr_t p0 = (uintptr_t)base;
    if (l) l->v = (float *)p;
    if (l) l->m = (float *)p + T * nf * w->cin_p;
    p += region_floats(w) * sizeof(float);
    if (l) l->junk = (float *)p;   /* cropped pixels of up to cout columns */
    p += CX_ROUND_UP((size_t)w->cout, (size_t)CX_WINO_CH_ALIGN) * sizeof(float);
    if (l) l->a = (const float **)p;
    p += w->gemm->mr * sizeof(float *);
    if (l) l->in = (const float **)p;
    p += nf * sizeof(float *);
    if (l) l->out = (float **)p;
    p += mm * sizeof(float *);
    if (l) l->res = (const float **)p;
    p += mm * sizeof(float *);
    return (size_t)(p - p0);
}

size_t cx_wino_scratch_bytes(const cx_wino *w)
{
    return layout(w, NULL, NULL) + CX_ALIGN;
}

typedef struct wino_job {
    const cx_wino *w;
    cx_dims in, out;
    const float *x;
    float *y;
    const float *res;
    cx_scratch *scratch;
    size_t tiles_h, tiles_w, ntiles;  /* tiles per image row/column, all images */
    size_t tblk, ntb;                 /* tiles per block, blocks */
    size_t nblk, ncb;                 /* dense: output columns per block, column blocks */
    size_t gblk, ngb;                 /* grouped: groups per block, group blocks */
    size_t bal_q, bal_r;              /* dense, balanced split (see cx_wino_run); 0, 0: off */
    const cx_f32_gemm_desc *gemm;     /* w->gemm or w->gemm_rows (same packing) */
} wino_job;

/* Input transform of tiles t0..t0+tn, channels ch0..ch0+nch, into
 * v + t*vs + f*cs. */
static void transform_in(const wino_job *j, const scratch_layout *l, size_t t0, size_t tn, size_t ch0, size_t nch,
                         float *v, size_t vs, size_t cs)
{
    const cx_wino *w = j->w;
    const size_t M = (size_t)w->m, A = (size_t)w->alpha, cin = (size_t)w->cin;
    const cx_dims in = j->in;
    const size_t per_img = j->tiles_h * j->tiles_w;
    for (size_t t = 0; t < tn; t++) {
        const size_t tile = t0 + t, img = tile / per_img, r = tile % per_img;
        const long ih0 = (long)(r / j->tiles_w * M) - w->pad_h, iw0 = (long)(r % j->tiles_w * M) - w->pad_w;
        const float *base = j->x + img * (size_t)in.h * in.w * cin + ch0;
        for (size_t a = 0; a < A; a++) {
            const long ih = ih0 + (long)a;
            const bool rowin = ih >= 0 && ih < in.h;
            for (size_t b = 0; b < A; b++) {
                const long iw = iw0 + (long)b;
                l->in[a * A + b] = rowin && iw >= 0 && iw < in.w ? base + ((size_t)ih * in.w + (size_t)iw) * cin
                                                                 : w->zero + ch0;
            }
        }
        w->in_fn(nch, l->in, v + t * vs, cs);
    }
}

/* Output transform of tiles t0..t0+tn, columns n..n+cols, from m + t*ms_tile
 * (frequency stride ms_f), fused with bias, residual and clamp; edge pixels
 * cropped. */
static void transform_out(const wino_job *j, const scratch_layout *l, size_t t0, size_t tn, size_t n, size_t cols,
                          const float *m, size_t ms_tile, size_t ms_f)
{
    const cx_wino *w = j->w;
    const size_t M = (size_t)w->m, cout = (size_t)w->cout;
    const cx_dims out = j->out;
    const size_t per_img = j->tiles_h * j->tiles_w;
    for (size_t t = 0; t < tn; t++) {
        const size_t tile = t0 + t, img = tile / per_img, r = tile % per_img;
        const size_t oh0 = r / j->tiles_w * M, ow0 = r % j->tiles_w * M;
        const size_t pix0 = img * (size_t)out.h * out.w;
        for (size_t a = 0; a < M; a++)
            for (size_t b = 0; b < M; b++) {
                const size_t oh = oh0 + a, ow = ow0 + b;
                if (oh < (size_t)out.h && ow < (size_t)out.w) {
                    const size_t ofs = (pix0 + oh * out.w + ow) * cout + n;
                    l->out[a * M + b] = j->y + ofs;
                    l->res[a * M + b] = j->res ? j->res + ofs : NULL;
                } else {
                    l->out[a * M + b] = l->junk;
                    l->res[a * M + b] = l->junk;
                }
            }
        w->out_fn(cols, m + t * ms_tile, ms_f, w->bias + n, l->out, j->res ? l->res : NULL, w->min, w->max);
    }
}

static void wino_task(void *arg, size_t task, int worker)
{
    const wino_job *j = arg;
    const cx_wino *w = j->w;
    scratch_layout l;
    layout(w, j->scratch[worker].p, &l);

    size_t tb = task % j->ntb, cb = task / j->ntb, nblk = j->nblk;
    if (j->bal_q + j->bal_r) {
        /* balanced: thread slot s gets whole blocks s*q .. s*q+q-1, then
         * column piece s of each of the r leftover blocks */
        const size_t s = task / (j->bal_q + j->bal_r), i = task % (j->bal_q + j->bal_r);
        const size_t nt = j->ncb;   /* pieces per leftover block = threads */
        if (i < j->bal_q) { tb = s * j->bal_q + i; cb = 0; nblk = (size_t)w->cout; }
        else { tb = nt * j->bal_q + (i - j->bal_q); cb = s; }
    }
    const size_t t0 = tb * j->tblk, tn = CX_MIN(j->tblk, j->ntiles - t0);
    const size_t n0 = cb * nblk;
    if (n0 >= (size_t)w->cout) return;   /* an empty piece (fewer panels than threads) */
    const size_t ncols = CX_MIN(nblk, (size_t)w->cout - n0);
    const size_t nf = (size_t)w->nfreq, cin = (size_t)w->cin;
    const size_t vs = nf * w->cin_p;   /* floats per tile in V */

    /* 1. input transform of the block's tiles */
    transform_in(j, &l, t0, tn, 0, cin, l.v, vs, w->cin_p);

    /* 2 + 3, per pass of nb output columns:
     * one GEMM per frequency, M[t][f][0..cols) = V[t][f][0..cin) x U_f[:, n..n+cols),
     * then the output transform (+ bias, residual, clamp), edge pixels cropped */
    const size_t MR = j->gemm->mr, NR = j->gemm->nr, nb = w->nb, msz = nf * nb;
    cx_f32_params p = { -INFINITY, INFINITY, NULL, 0, NULL, 0 };
    for (size_t n = n0; n < n0 + ncols; n += nb) {
        const size_t cols = CX_MIN(nb, n0 + ncols - n);
        const size_t wofs = n / NR * NR * (1 + cin);
        /* the weights of frequency f+1 are prefetched while f computes, a
         * share per tile group: else the first group of each frequency waits
         * on memory (the transformed weights of a layer are MiBs, read once) */
        const size_t slice = CX_DIV_UP(cols, NR) * NR * (1 + cin) * sizeof(float);
        const size_t ngroups = CX_DIV_UP(tn, MR);
        for (size_t f = 0; f < nf; f++) {
            const float *wf = w->packed + f * w->freq_stride + wofs;
            const char *nxt = f + 1 < nf ? (const char *)(wf + w->freq_stride) : NULL;
            for (size_t i0 = 0; i0 < tn; i0 += MR) {
                const size_t mr = CX_MIN(MR, tn - i0), gi = i0 / MR;
                for (size_t i = 0; i < MR; i++) l.a[i] = l.v + (i0 + CX_MIN(i, mr - 1)) * vs + f * w->cin_p;
                p.prefetch = nxt ? nxt + slice * gi / ngroups : NULL;
                p.prefetch_bytes = nxt ? slice * (gi + 1) / ngroups - slice * gi / ngroups : 0;
                j->gemm->igemm(mr, cols, cin, 1, l.a, wf, l.m + i0 * msz + f * nb, msz, &p);
            }
        }
        transform_out(j, &l, t0, tn, n, cols, l.m, msz, nb);
    }
}

/* Grouped: one task = a tile block x a block of whole groups. V holds only the
 * block's input channels (stride cs per frequency), M its output columns
 * (stride ms); per frequency and group, the group's [kc x nc] weights (a few
 * KiB, in L1) serve every tile group of the block. */
static void wino_group_task(void *arg, size_t task, int worker)
{
    const wino_job *j = arg;
    const cx_wino *w = j->w;
    scratch_layout l;
    layout(w, j->scratch[worker].p, &l);

    const size_t tb = task % j->ntb, gb = task / j->ntb;
    const size_t t0 = tb * j->tblk, tn = CX_MIN(j->tblk, j->ntiles - t0);
    const size_t g0 = gb * j->gblk, gn = CX_MIN(j->gblk, (size_t)w->groups - g0);
    const size_t nf = (size_t)w->nfreq, kc = (size_t)w->kc, nc = (size_t)w->nc;
    const size_t cs = CX_ROUND_UP(gn * kc, (size_t)CX_WINO_CH_ALIGN), ms = CX_ROUND_UP(gn * nc, (size_t)CX_WINO_CH_ALIGN);
    const size_t vs = nf * cs, msz = nf * ms;
    float *v = l.v, *m = l.v + j->tblk * vs;

    transform_in(j, &l, t0, tn, g0 * kc, gn * kc, v, vs, cs);

    /* groups outer, frequencies inner: the block's weights are one
     * contiguous stream, read in order; each (group, frequency) panel set is
     * prefetched while the previous one computes, a share per tile group */
    const size_t MR = j->gemm->mr, ntg = CX_DIV_UP(tn, MR);
    const size_t slice = w->freq_stride * sizeof(float);
    const float *wend = w->packed + (g0 + gn) * w->group_stride;
    cx_f32_params p = { -INFINITY, INFINITY, NULL, 0, NULL, 0 };
    for (size_t g = 0; g < gn; g++)
        for (size_t f = 0; f < nf; f++) {
            const float *wf = w->packed + (g0 + g) * w->group_stride + f * w->freq_stride;
            const char *nxt = wf + w->freq_stride < wend ? (const char *)(wf + w->freq_stride) : NULL;
            for (size_t i0 = 0; i0 < tn; i0 += MR) {
                const size_t mr = CX_MIN(MR, tn - i0), gi = i0 / MR;
                for (size_t i = 0; i < MR; i++) l.a[i] = v + (i0 + CX_MIN(i, mr - 1)) * vs + f * cs + g * kc;
                p.prefetch = nxt ? nxt + slice * gi / ntg : NULL;
                p.prefetch_bytes = nxt ? slice * (gi + 1) / ntg - slice * gi / ntg : 0;
                j->gemm->igemm(mr, nc, kc, 1, l.a, wf, m + i0 * msz + f * ms + g * nc, msz, &p);
            }
        }
    transform_out(j, &l, t0, tn, g0 * nc, gn * nc, m, msz, ms);
}

/* Floats of V + M for a grouped block of T tiles x G groups. */
static size_t group_block_floats(const cx_wino *w, size_t T, size_t G)
{
    return T * (size_t)w->nfreq *
           (CX_ROUND_UP(G * (size_t)w->kc, (size_t)CX_WINO_CH_ALIGN) + CX_ROUND_UP(G * (size_t)w->nc, (size_t)CX_WINO_CH_ALIGN));
}

void cx_wino_run(const cx_wino *w, cx_dims in, const float *x, cx_dims out, float *y,
                 const float *residual, cortex_pool *pool, cx_scratch *scratch)
{
    wino_job j = { .w = w, .in = in, .out = out, .x = x, .y = y, .res = residual, .scratch = scratch };
    const size_t M = (size_t)w->m;
    j.tiles_h = CX_DIV_UP((size_t)out.h, M);
    j.tiles_w = CX_DIV_UP((size_t)out.w, M);
    j.ntiles = (size_t)in.n * (size_t)in.d * j.tiles_h * j.tiles_w;
    /* tiles are the GEMM rows: the fewer-rows kernel where it pads less
     * (7x7 tiles = 49: 7 groups of 7, not 56 rows in groups of 8) */
    j.gemm = w->gemm;
    if (w->gemm_rows && CX_DIV_UP(j.ntiles, w->gemm_rows->mr) * w->gemm_rows->mr < CX_DIV_UP(j.ntiles, w->gemm->mr) * w->gemm->mr)
        j.gemm = w->gemm_rows;
    const size_t MR = j.gemm->mr, NR = j.gemm->nr;
    const size_t nt = (size_t)cortex_pool_threads(pool);

    if (w->groups > 1) {
        /* all tiles in one block when one group's V + M fits the region
         * (weights then stream once), else the largest MR multiple; then as
         * many groups as fit, fewer when that leaves < ~8 tasks per thread */
        const size_t cap = region_floats(w), groups = (size_t)w->groups;
        size_t T = CX_ROUND_UP(j.ntiles, MR);
        if (group_block_floats(w, T, 1) > cap) T = CX_MAX(MR, cap / group_block_floats(w, 1, 1) / MR * MR);
        size_t G = 1;
        while (G < groups && group_block_floats(w, T, G + 1) <= cap) G++;
        j.tblk = T;
        j.ntb = CX_DIV_UP(j.ntiles, T);
        if (nt > 1) G = CX_MIN(G, CX_MAX((size_t)1, groups * j.ntb / (8 * nt)));
        j.gblk = G;
        j.ngb = CX_DIV_UP(groups, G);
        cx_parallel(pool, wino_group_task, &j, j.ntb * j.ngb);
        return;
    }

    /* Tile blocks of whole MR groups, at most max_tiles: one thread takes
     * the largest. Several threads: when the largest blocks give fewer than
     * ~4 tasks per thread, split the output columns too (late layers, 16 or
     * 4 tiles: each weight is still streamed once), keeping >= 2 panels per
     * column block; a column split repeats the block's input transform, cheap
     * next to the GEMMs there. Without a column split, smaller tile blocks
     * (~8 tasks per thread) let the pool's dynamic scheduling even out the
     * end. */
    const size_t groups = CX_DIV_UP(j.ntiles, MR), gmax = w->max_tiles / MR;
    const size_t panels = CX_DIV_UP((size_t)w->cout, NR);
    size_t gpb = gmax, ncb = 1;
    if (nt > 1) {
        const size_t ntb = CX_DIV_UP(groups, gpb);
        if (ntb < 4 * nt) ncb = CX_MAX((size_t)1, CX_MIN(CX_DIV_UP(4 * nt, ntb), panels / 2));
        if (ncb == 1 && ntb < 8 * nt) gpb = CX_MAX((size_t)1, CX_MIN(gmax, groups / (8 * nt)));
    }
    if (nt > 1 && w->weight_bytes <= CX_WINO_BALANCE_BYTES && groups >= nt && panels >= nt && ncb > 1) {
        /* light weights, few tile groups (ResNet-50 stage 2: 49 tiles = 7
         * groups of 7) where the rule above splits columns: each thread
         * takes whole tile groups (reading all the weights) and only the
         * leftover groups are split by columns, so the input transform is
         * repeated for those alone */
        j.tblk = MR;
        j.ntb = groups;
        j.bal_q = groups / nt;
        j.bal_r = groups % nt;
        j.ncb = nt;
        j.nblk = CX_DIV_UP(panels, nt) * NR;
        cx_parallel(pool, wino_task, &j, nt * (j.bal_q + j.bal_r));
        return;
    }
    j.tblk = gpb * MR;
    j.ntb = CX_DIV_UP(j.ntiles, j.tblk);
    j.nblk = CX_DIV_UP(panels, ncb) * NR;
    j.ncb = CX_DIV_UP((size_t)w->cout, j.nblk);
    cx_parallel(pool, wino_task, &j, j.ntb * j.ncb);
}
