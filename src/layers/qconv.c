/* Quantized layers (contract: qlayers.h, arithmetic: kernels/kernels_q8.h).
 *
 * The conv driver mirrors conv.c's igemm driver: tasks are MR-row tiles x
 * column blocks; a task builds its tap pointers once (padding taps -> NULL)
 * and offsets them per group; a 1x1 stride-1 conv reads its rows in place;
 * convs with few channels per group gather each row into a contiguous im2col
 * row (padding filled with a_zp). Consecutive tasks share a column block, so
 * its packed panels stay in L2 while row tiles stream past. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv_taps.h"
#include "layers/qlayers.h"
#include "runtime/pool.h"

#define CX_QBIAS_MAX 1073741823.0   /* |bias| < 2^30 (kernels_q8.h) */

/* Per output channel: the weights actually packed (requantized to |w| <=
 * wmax when the table needs it), their effective scale, the int32 bias and
 * the requantization scale. w_out (cout * per) may alias nothing. *bad counts
 * channels whose bias or scale came out non-finite (hostile parameters). */
static void prepare_columns(const cx_qconv_desc *d, int32_t wmax, int8_t *w_out, float *wscale_out,
                            int32_t *bias_out, float *scale_out, int *wbits, size_t *clamped_bias, size_t *bad)
{
    *bad = 0;
    const size_t per = (size_t)(d->cin / d->groups) * (size_t)(d->g.k[0] * d->g.k[1] * d->g.k[2]);
    *wbits = 8;
    *clamped_bias = 0;
    double bcorr;
    for (int o = 0; o < d->cout; o++) {
        bcorr = 0;
        const int8_t *w = d->w + (size_t)o * per;
        int8_t *wo = w_out + (size_t)o * per;
        int m = 0;
        for (size_t i = 0; i < per; i++) {
            int v = w[i] < 0 ? -w[i] : w[i];
            m = v > m ? v : m;
        }
        double ws = d->w_scale[o];
        if (m > wmax) {
            /* 8 -> 7 bits. Halving with round-half-to-even is unbiased; a ratio
             * like 64/127 (just above 1/2) would round every odd weight away
             * from zero, a gain error that compounds through the layers
             * (measured: 26 dB instead of 35 dB SQNR on ResNet-50). */
            double div = (m <= 2 * wmax + 1) ? 2.0 : (double)m / wmax;
            for (size_t i = 0; i < per; i++) {
                long v = lrint((double)w[i] / div);
                wo[i] = (int8_t)(v > wmax ? wmax : v < -wmax ? -wmax : v);
            }
            *wbits = 7;
            double b_shift = 0;
            if (d->xmean) {
                /* mean output change of the requantization: sum (W7 - W8) * E[x] */
                const int kc = d->cin / d->groups, ks = (int)(per / (size_t)kc), gi = o / (d->cout / d->groups);
                for (int k = 0; k < kc; k++)
                    for (int t = 0; t < ks; t++) {
                        double dw = ws * div * wo[(size_t)k * ks + t] - ws * w[(size_t)k * ks + t];
                        b_shift += dw * d->xmean[((size_t)gi * kc + k) * ks + t];
                    }
            }
            ws = ws * div;
            bcorr = b_shift;
        } else {
            memcpy(wo, w, per);
        }
        double b = (d->bias ? d->bias[o] : 0.0) - bcorr;
        if (m == 0 || !(ws > 0)) {
            /* no weights: any nonzero scale works; pick one that keeps the bias exact-ish */
            ws = fabs(b) > 0 ? fabs(b) / ((double)d->a_scale * 1048576.0) : 1.0;
        }
        double bq = b / ((double)d->a_scale * ws);
        if (!isfinite(bq)) { bq = 0; (*bad)++; }
        if (bq > CX_QBIAS_MAX) { bq = CX_QBIAS_MAX; (*clamped_bias)++; }
        if (bq < -CX_QBIAS_MAX) { bq = -CX_QBIAS_MAX; (*clamped_bias)++; }
        bias_out[o] = (int32_t)lrint(bq);
        wscale_out[o] = (float)ws;
        scale_out[o] = (float)((double)d->a_scale * ws / (double)d->y_scale);
        if (!isfinite(scale_out[o])) { scale_out[o] = 0; (*bad)++; }
    }
}

static bool valid_zp(int32_t zp) { return zp >= 0 && zp <= 255; }

cortex_status cx_qconv_create(cx_qconv *c, const cx_qconv_desc *d, const cx_q8_kernels *qk)
{
    memset(c, 0, sizeof *c);
    const int cin = d->cin, cout = d->cout, groups = d->groups;
    if (cin <= 0 || cout <= 0 || groups <= 0 || cin % groups || cout % groups) return CORTEX_ERR_SHAPE;
    for (int i = 0; i < 3; i++)
        if (d->g.k[i] <= 0 || d->g.s[i] <= 0 || d->g.p[i] < 0 || d->g.dil[i] <= 0) return CORTEX_ERR_SHAPE;
    if (!(d->a_scale > 0) || !(d->y_scale > 0) || !isfinite(d->a_scale) || !isfinite(d->y_scale) ||
        !valid_zp(d->a_zp) || !valid_zp(d->y_zp) || (d->residual && (!(d->r_scale > 0) || !isfinite(d->r_scale) || !valid_zp(d->r_zp))))
        return CORTEX_ERR_INVALID_ARG;
    for (int o = 0; o < cout; o++)
        if (!(d->w_scale[o] >= 0) || !isfinite(d->w_scale[o])) return CORTEX_ERR_INVALID_ARG;
    c->cin = cin;
    c->cout = cout;
    c->groups = groups;
    c->g = d->g;
    c->ks = d->g.k[0] * d->g.k[1] * d->g.k[2];
    c->kc = cin / groups;
    c->nc = cout / groups;
    c->qk = qk;
    c->block_bytes = (size_t)cx_q8_block_kib(qk, NULL) * 1024;   /* read once: the run path calls no getenv */
    c->a_scale = d->a_scale;
    c->a_zp = d->a_zp;
    c->y_scale = d->y_scale;
    c->residual = d->residual;
    c->qp = (cx_q8_params){ .y_zp = d->y_zp, .ymin = d->relu ? d->y_zp : 0, .ymax = 255, .residual = NULL,
                            .r_stride = 0, .r_zp = d->residual ? d->r_zp : 0,
                            .r_scale = d->residual ? (float)((double)d->r_scale / d->y_scale) : 0.0f };
    if (!isfinite(c->qp.r_scale)) return CORTEX_ERR_INVALID_ARG;
    const size_t ks = (size_t)c->ks, kc = (size_t)c->kc, nc = (size_t)c->nc;
    const size_t per = kc * ks;
    const bool dw = groups == cin && groups == cout && groups > 1 && qk->dwconv;
    int8_t *wq = malloc((size_t)cout * per);
    float *wsc = malloc((size_t)cout * sizeof(float)), *sc = malloc((size_t)cout * sizeof(float));
    int32_t *bq = malloc((size_t)cout * sizeof(int32_t));
    int8_t *wt = NULL;
    cortex_status st = CORTEX_OK;
    if (!wq || !wsc || !sc || !bq) { st = CORTEX_ERR_NOMEM; goto out; }
    /* the depthwise kernels are exact for all s8 weights */
    size_t bad;
    prepare_columns(d, dw ? 127 : qk->wmax, wq, wsc, bq, sc, &c->wbits, &c->clamped_bias, &bad);
    if (bad) { st = CORTEX_ERR_INVALID_ARG; goto out; }
    c->zrow = cx_alloc((size_t)(kc > (size_t)cin ? kc : (size_t)cin));
    if (!c->zrow) { st = CORTEX_ERR_NOMEM; goto out; }
    memset(c->zrow, (int)d->a_zp, (size_t)cin);

    if (dw) {
        c->algo = CX_CONV_DW;
        c->packed = cx_alloc(cx_q8_dwconv_packed_size((size_t)cout, ks));
        if (!c->packed) { st = CORTEX_ERR_NOMEM; goto out; }
        cx_q8_dwconv_pack_weights((size_t)cout, ks, wq, bq, sc, (uint8_t)d->a_zp, c->packed);
        goto out;
    }
    c->algo = CX_CONV_IGEMM;
    const size_t nr = qk->gemm.nr;
    /* the largest divisor of groups whose groups together fit NR columns */
    int gp = 1;
    for (int dv = groups; dv > 1; dv--)
        if (groups % dv == 0 && (size_t)dv * nc <= nr) { gp = dv; break; }
    c->gpack = gp;
    c->pg = groups / gp;
    c->pkc = c->kc * gp;
    c->pnc = c->nc * gp;
    const size_t pkc0 = (size_t)c->pkc, pnc = (size_t)c->pnc;
    c->im2col = pkc0 <= CX_QIM2COL_MAX_KC && ks > 1;
    /* im2col: the (t, k) order of one row is the packed (t, k) order with one tap of ks*pkc */
    const size_t pkc = c->im2col ? ks * pkc0 : pkc0, pks = c->im2col ? 1 : ks;
    c->panel_bytes = cx_q8_gemm_panel_bytes(pkc, pks, nr);
    c->group_stride = CX_ROUND_UP(cx_q8_gemm_packed_size(pnc, pkc, pks, nr), 64);
    c->packed = cx_alloc(c->group_stride * (size_t)c->pg);
    wt = malloc(pnc * ks * pkc0);
    if (!c->packed || !wt) { st = CORTEX_ERR_NOMEM; goto out; }
    for (int sg = 0; sg < c->pg; sg++) {
        /* PyTorch (n, kc, ks) -> the packer's (n, ks, pkc), block diagonal */
        memset(wt, 0, pnc * ks * pkc0);
        for (size_t j = 0; j < pnc; j++) {
            const size_t o = (size_t)sg * pnc + j, lg = j / nc;
            const int8_t *src = wq + o * per;
            for (size_t k = 0; k < kc; k++)
                for (size_t t = 0; t < ks; t++) wt[(j * ks + t) * pkc0 + lg * kc + k] = src[k * ks + t];
        }
        cx_q8_gemm_pack_weights(pnc, pkc, pks, nr, qk->wmax, wt, bq + (size_t)sg * pnc, sc + (size_t)sg * pnc,
                                (uint8_t)d->a_zp, c->packed + (size_t)sg * c->group_stride);
    }
out:
    free(wq);
    free(wsc);
    free(sc);
    free(bq);
    free(wt);
    if (st != CORTEX_OK) cx_qconv_destroy(c);
    return st;
}

void cx_qconv_destroy(cx_qconv *c)
{
    cx_free(c->packed);
    cx_free(c->zrow);
    c->packed = c->zrow = NULL;
}

void cx_qconv_export(const cx_qconv *c, const cx_qconv_desc *d, int8_t *w_used, int32_t *bias_q, float *scale)
{
    float *wsc = malloc((size_t)d->cout * sizeof(float));
    int wb;
    size_t cb, bad;
    if (!wsc) return;
    prepare_columns(d, c->algo == CX_CONV_DW ? 127 : c->qk->wmax, w_used, wsc, bias_q, scale, &wb, &cb, &bad);
    free(wsc);
}

cortex_status cx_qconv_out_dims(const cx_qconv *c, cx_dims in, cx_dims *out)
{
    if (in.c != c->cin) return CORTEX_ERR_SHAPE;
    return cx_conv_geom_out_dims(&c->g, in, c->cout, out);
}

size_t cx_qconv_scratch_bytes(const cx_qconv *c)
{
    const size_t rows = c->algo == CX_CONV_DW ? 1 : c->qk->gemm.mr;
    size_t b = 2 * rows * (size_t)c->ks * sizeof(uint8_t *);
    if (c->im2col) b += rows * (size_t)c->ks * (size_t)c->pkc + CX_ALIGN;
    return b;
}

uint64_t cx_qconv_macs(const cx_qconv *c, cx_dims out)
{
    return (uint64_t)out.n * out.d * out.h * out.w * (uint64_t)c->cout * c->kc * c->ks;
}

typedef struct qconv_job {
    const cx_qconv *c;
    cx_dims in, out;
    const uint8_t *x;
    uint8_t *y;
    const uint8_t *res;
    cx_scratch *scratch;
    size_t m, mtiles, nblk;
    bool pointwise;
} qconv_job;

CX_DEFINE_ROW_TAPS(row_taps_u8, uint8_t)

static inline void qrow_taps(const qconv_job *j, size_t m, const uint8_t **base, size_t stride)
{
    row_taps_u8(&j->c->g, j->in, j->out, j->x, m, base, stride);
}

CX_DEFINE_TILE_TAPS(tile_taps_u8, row_taps_u8, uint8_t)

/* n bytes from src to dst in fixed-size, possibly overlapping chunks: the
 * runs copied here are a few dozen bytes (a 7-pixel row of 3 channels is 21),
 * where a memcpy call cost more than the copy (perf on the int8 3x7x7 video
 * stem: 40 % of the layer in the gather, 12 % in memmove itself). Never reads
 * or writes outside [src, src + n) / [dst, dst + n). */
static inline void copy_run(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 <= n; i += 16) memcpy(dst + i, src + i, 16);
        if (i < n) memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/* The im2col row of output pixel m when the conv's input channels are one
 * packed group (pg == 1): per (kd, kh) input row, the kw taps are one
 * contiguous span of the input row (dilation 1), clipped at the borders and
 * padded with a_zp. r gets ks*cin bytes in (t, k) order. */
static void im2col_row(const qconv_job *j, size_t m, uint8_t *r)
{
    const cx_qconv *c = j->c;
    const cx_dims o = j->out, in = j->in;
    const size_t C = (size_t)in.c, KW = (size_t)c->g.k[2], RUN = KW * C;
    const uint8_t zp = (uint8_t)c->a_zp;
    size_t ow = m % (size_t)o.w, q = m / (size_t)o.w;
    size_t oh = q % (size_t)o.h;
    q /= (size_t)o.h;
    size_t od = q % (size_t)o.d, n = q / (size_t)o.d;
    const long d0 = (long)od * c->g.s[0] - c->g.p[0], h0 = (long)oh * c->g.s[1] - c->g.p[1],
               w0 = (long)ow * c->g.s[2] - c->g.p[2];
    const uint8_t *img = j->x + (size_t)n * in.d * in.h * in.w * C;
    const long KD = c->g.k[0], KH = c->g.k[1], dd = c->g.dil[0], dh = c->g.dil[1];
    const size_t row_bytes = (size_t)in.w * C, plane = (size_t)in.h * row_bytes;
    if (c->g.dil[2] == 1 && w0 >= 0 && w0 + (long)KW <= in.w && d0 >= 0 && d0 + (KD - 1) * dd < in.d && h0 >= 0 &&
        h0 + (KH - 1) * dh < in.h) {
        /* the whole window inside the input (most pixels): one run per (kd, kh) */
        const uint8_t *pd = img + (size_t)d0 * plane + (size_t)h0 * row_bytes + (size_t)w0 * C;
        for (long kd = 0; kd < KD; kd++, pd += (size_t)dd * plane) {
            const uint8_t *ph = pd;
            for (long kh = 0; kh < KH; kh++, ph += (size_t)dh * row_bytes, r += RUN) copy_run(r, ph, RUN);
        }
        return;
    }
    for (int kd = 0; kd < c->g.k[0]; kd++) {
        const long id = d0 + (long)kd * c->g.dil[0];
        for (int kh = 0; kh < c->g.k[1]; kh++, r += RUN) {
            const long ih = h0 + (long)kh * c->g.dil[1];
            if (id < 0 || id >= in.d || ih < 0 || ih >= in.h) { memset(r, zp, RUN); continue; }
            const uint8_t *row = img + ((size_t)id * in.h + (size_t)ih) * row_bytes;
            if (c->g.dil[2] == 1) {
                long a = w0 < 0 ? -w0 : 0, b = (long)in.w - w0;   /* valid kw in [a, b) */
                b = b > (long)KW ? (long)KW : b;
                if (a >= b) { memset(r, zp, RUN); continue; }
                if (a > 0) memset(r, zp, (size_t)a * C);
                copy_run(r + (size_t)a * C, row + (size_t)(w0 + a) * C, (size_t)(b - a) * C);
                if ((size_t)b < KW) memset(r + (size_t)b * C, zp, (KW - (size_t)b) * C);
            } else {
                for (size_t kw = 0; kw < KW; kw++) {
                    const long iw = w0 + (long)kw * c->g.dil[2];
                    if (iw < 0 || iw >= in.w) memset(r + kw * C, zp, C);
                    else copy_run(r + kw * C, row + (size_t)iw * C, C);
                }
            }
        }
    }
}

static void qigemm_task(void *arg, size_t task, int worker)
{
    const qconv_job *j = arg;
    const cx_qconv *c = j->c;
    const size_t MR = c->qk->gemm.mr, NR = c->qk->gemm.nr;
    const size_t ks = (size_t)c->ks, kc = (size_t)c->pkc, cout = (size_t)c->cout;
    const size_t mt = task % j->mtiles, nb = task / j->mtiles;
    const size_t m0 = mt * MR, mr = CX_MIN(MR, j->m - m0);
    const size_t n0 = nb * j->nblk, ncols = CX_MIN(j->nblk, (size_t)c->pnc - n0);
    const uint8_t **base = j->scratch[worker].p, **ind = base + MR * ks;
    uint8_t *rows = c->im2col ? (uint8_t *)CX_ROUND_UP((uintptr_t)(ind + MR * ks), CX_ALIGN) : NULL;

    if (c->im2col && c->pg == 1) {
        /* one group: gather the rows straight from the input, one kernel call */
        for (size_t i = 0; i < mr; i++) {
            uint8_t *r = rows + i * ks * kc;
            im2col_row(j, m0 + i, r);
            ind[i] = r;
        }
        for (size_t i = mr; i < MR; i++) ind[i] = ind[mr - 1];
        cx_q8_params p = c->qp;
        p.r_stride = cout;
        p.residual = j->res ? j->res + m0 * cout + n0 : NULL;
        c->qk->gemm.igemm(mr, ncols, ks * kc, 1, ind, c->packed + (n0 / NR) * c->panel_bytes, j->y + m0 * cout + n0,
                          cout, &p);
        return;
    }
    if (j->pointwise) {
        for (size_t i = 0; i < MR; i++) base[i] = j->x + (m0 + CX_MIN(i, mr - 1)) * (size_t)c->cin;
    } else {
        tile_taps_u8(&c->g, j->in, j->out, j->x, m0, mr, MR, base);
    }
    const size_t wpanel = (n0 / NR) * c->panel_bytes;
    cx_q8_params p = c->qp;
    p.r_stride = cout;
    for (size_t gi = 0; gi < (size_t)c->pg; gi++) {
        const size_t choff = gi * kc, col = gi * (size_t)c->pnc + n0;
        const uint8_t *const *a = ind;
        size_t call_kc = kc, call_ks = ks;
        if (c->im2col) {
            const uint8_t zp = (uint8_t)c->a_zp;
            for (size_t i = 0; i < MR; i++) {
                uint8_t *r = rows + i * ks * kc;
                if (i >= mr) { ind[i] = ind[mr - 1]; continue; } /* rows past mr: any valid pointer */
                for (size_t t = 0; t < ks;) {
                    const uint8_t *src = base[t * MR + i];
                    size_t run = 1;
                    if (src) {
                        /* consecutive taps that are consecutive pixels (groups == 1): one copy */
                        if (c->pg == 1)
                            while (t + run < ks && base[(t + run) * MR + i] == src + run * kc) run++;
                        copy_run(r + t * kc, src + choff, run * kc);
                    } else {
                        while (t + run < ks && !base[(t + run) * MR + i]) run++;
                        memset(r + t * kc, zp, run * kc);
                    }
                    t += run;
                }
                ind[i] = r;
            }
            call_kc = ks * kc;
            call_ks = 1;
        } else if (c->pg == 1 && j->pointwise) {
            a = base;
        } else {
            for (size_t q = 0; q < MR * ks; q++) ind[q] = base[q] ? base[q] + choff : c->zrow;
        }
        p.residual = j->res ? j->res + m0 * cout + col : NULL;
        const uint8_t *w = c->packed + gi * c->group_stride + wpanel;
        c->qk->gemm.igemm(mr, ncols, call_kc, call_ks, a, w, j->y + m0 * cout + col, cout, &p);
    }
}

static void qdw_task(void *arg, size_t row, int worker)
{
    const qconv_job *j = arg;
    const cx_qconv *c = j->c;
    const uint8_t **ind = j->scratch[worker].p;
    const size_t C = (size_t)c->cout, ks = (size_t)c->ks;
    const size_t step = (size_t)c->g.s[2] * (size_t)j->in.c;
    cx_q8_params p = c->qp;
    bool prev_inside = false;
    for (size_t ow = 0; ow < (size_t)j->out.w; ow++) {
        size_t m = row * (size_t)j->out.w + ow;
        const bool inside = cx_taps_w_inside(&c->g, j->in, ow);
        if (inside && prev_inside) {   /* see cx_taps_w_inside */
            for (size_t t = 0; t < ks; t++)
                if (ind[t] != c->zrow) ind[t] += step;
        } else {
            qrow_taps(j, m, ind, 1);
            for (size_t t = 0; t < ks; t++)
                if (!ind[t]) ind[t] = c->zrow;
        }
        prev_inside = inside;
        p.residual = j->res ? j->res + m * C : NULL;
        c->qk->dwconv(C, ks, ind, c->packed, j->y + m * C, &p);
    }
}

void cx_qconv_run(const cx_qconv *c, cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y,
                  const uint8_t *residual, cortex_pool *pool, cx_scratch *scratch)
{
    qconv_job j = { .c = c, .in = in, .out = out, .x = x, .y = y, .res = c->residual ? residual : NULL,
                    .scratch = scratch };
    if (c->algo == CX_CONV_DW) {
        cx_parallel(pool, qdw_task, &j, (size_t)out.n * out.d * out.h);
        return;
    }
    const size_t MR = c->qk->gemm.mr, NR = c->qk->gemm.nr;
    const cx_conv_geom *g = &c->g;
    j.pointwise = c->ks == 1 && g->s[0] == 1 && g->s[1] == 1 && g->s[2] == 1 &&
                  g->p[0] == 0 && g->p[1] == 0 && g->p[2] == 0;
    j.m = (size_t)out.n * out.d * out.h * out.w;
    j.mtiles = CX_DIV_UP(j.m, MR);
    size_t panels = CX_MAX((size_t)1, c->block_bytes / c->panel_bytes);
    j.nblk = CX_MIN(panels * NR, CX_ROUND_UP((size_t)c->pnc, NR));
    size_t nblocks = CX_DIV_UP((size_t)c->pnc, j.nblk);
    cx_parallel(pool, qigemm_task, &j, nblocks * j.mtiles);
}

void cx_qconv_ref(const cx_qconv *c, const int8_t *w_used, const int32_t *bias_q, const float *scale,
                  cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y, const uint8_t *residual)
{
    const int kc = c->kc, nc = c->nc, cout = c->cout;
    const int ks = c->ks;
    const cx_conv_geom *g = &c->g;
    cx_q8_params p = c->qp;
    p.residual = c->residual ? residual : NULL;
    for (int n = 0; n < out.n; n++)
        for (int od = 0; od < out.d; od++)
            for (int oh = 0; oh < out.h; oh++)
                for (int ow = 0; ow < out.w; ow++) {
                    size_t m = (((size_t)n * out.d + od) * out.h + oh) * out.w + ow;
                    for (int o = 0; o < cout; o++) {
                        int gi = o / nc;
                        int64_t acc = bias_q[o];
                        for (int kd = 0; kd < g->k[0]; kd++)
                            for (int kh = 0; kh < g->k[1]; kh++)
                                for (int kw = 0; kw < g->k[2]; kw++) {
                                    int id = od * g->s[0] - g->p[0] + kd * g->dil[0];
                                    int ih = oh * g->s[1] - g->p[1] + kh * g->dil[1];
                                    int iw = ow * g->s[2] - g->p[2] + kw * g->dil[2];
                                    if (id < 0 || id >= in.d || ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
                                    const uint8_t *xp = x + ((((size_t)n * in.d + id) * in.h + ih) * in.w + iw) * in.c + gi * kc;
                                    int t = (kd * g->k[1] + kh) * g->k[2] + kw;
                                    for (int k = 0; k < kc; k++)
                                        acc += (int64_t)((int)xp[k] - c->a_zp) * w_used[((size_t)o * kc + k) * ks + t];
                                }
                        uint8_t r = p.residual ? residual[m * cout + o] : 0;
                        y[m * cout + o] = cx_q8_requant((int32_t)acc, scale[o], &p, r);
                    }
                }
}

/* ---------------------------------------------------------------- pooling */

typedef struct qpool_job {
    const cx_pool_desc *p;
    cx_dims in, out;
    const uint8_t *x;
    uint8_t *y;
    const cx_q8_kernels *qk;
} qpool_job;

static void qmaxpool_row(void *arg, size_t row, int worker)
{
    (void)worker;
    const qpool_job *j = arg;
    const cx_pool_desc *p = j->p;
    const cx_dims in = j->in, out = j->out;
    const size_t C = (size_t)in.c;
    const uint8_t *taps[CX_QPOOL_MAX_TAPS];
    size_t oh = row % (size_t)out.h, r = row / (size_t)out.h;
    size_t od = r % (size_t)out.d, n = r / (size_t)out.d;
    for (int ow = 0; ow < out.w; ow++) {
        int s1[3], e1[3];
        cx_pool_window(p, in, (int)od, (int)oh, ow, s1, e1);
        const size_t nt = cx_qpool_taps(in, j->x, n, s1, e1, taps);
        uint8_t *yp = j->y + (row * (size_t)out.w + (size_t)ow) * C;
        if (nt == 0) { memset(yp, 0, C); continue; } /* cannot happen for valid pool dims */
        j->qk->maxpool(C, nt, taps, yp, 0, 255);
    }
}

void cx_qmaxpool_run(const cx_pool_desc *p, cx_dims in, const uint8_t *x, cx_dims out, uint8_t *y,
                     const cx_q8_kernels *qk, cortex_pool *pool)
{
    qpool_job j = { p, in, out, x, y, qk };
    cx_parallel(pool, qmaxpool_row, &j, (size_t)out.n * out.d * out.h);
}

typedef struct qgap_job { cx_dims in; const uint8_t *x; float *y; cx_q8_pool_params pp; const cx_q8_kernels *qk; size_t cblk; } qgap_job;

static void qgap_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const qgap_job *j = arg;
    const size_t C = (size_t)j->in.c, S = (size_t)j->in.d * j->in.h * j->in.w;
    const size_t nb = CX_DIV_UP(C, j->cblk), n = i / nb, c0 = (i % nb) * j->cblk;
    j->qk->gavgpool_f32(S, CX_MIN(j->cblk, C - c0), C, j->x + n * S * C + c0, j->y + n * C + c0, &j->pp);
}

void cx_qgap_f32_run(cx_dims in, const uint8_t *x, float a_scale, int32_t a_zp, float *y,
                     const cx_q8_kernels *qk, cortex_pool *pool)
{
    const size_t S = (size_t)in.d * in.h * in.w, C = (size_t)in.c;
    qgap_job j = { in, x, y, { 0 }, qk, 256 };
    j.pp.bias = -(int32_t)S * a_zp;
    j.pp.scale = (float)((double)a_scale / (double)S);
    cx_parallel(pool, qgap_task, &j, (size_t)in.n * CX_DIV_UP(C, j.cblk));
}

/* ------------------------------------------------------------ conversions */

#define QCHUNK 16384
typedef struct qcvt_job { size_t n; const void *x; void *y; float scale; int32_t zp; } qcvt_job;

/* cx_q8_quantize1 / (x - zp) * scale over a chunk: restrict and locals so that
 * they vectorise (the per-element form through the job pointer did not:
 * octresnet50's 87 QUANTIZEs took 12.3 of 33 ms at 1 thread) */
CX_VECTORIZE static void quant_chunk(size_t n, const float *restrict x, uint8_t *restrict y, float inv, int32_t zp)
{
    for (size_t k = 0; k < n; k++) y[k] = cx_q8_quantize1(x[k], inv, zp);
}

CX_VECTORIZE static void dequant_chunk(size_t n, const uint8_t *restrict x, float *restrict y, float scale, int32_t zp)
{
    for (size_t k = 0; k < n; k++) y[k] = (float)((int32_t)x[k] - zp) * scale;
}

static void quant_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const qcvt_job *j = arg;
    const size_t s = i * QCHUNK, e = CX_MIN(s + QCHUNK, j->n);
    quant_chunk(e - s, (const float *)j->x + s, (uint8_t *)j->y + s, 1.0f / j->scale, j->zp);
}

static void dequant_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const qcvt_job *j = arg;
    const size_t s = i * QCHUNK, e = CX_MIN(s + QCHUNK, j->n);
    dequant_chunk(e - s, (const uint8_t *)j->x + s, (float *)j->y + s, j->scale, j->zp);
}

void cx_quantize_run(size_t n, const float *x, float scale, int32_t zp, uint8_t *y, cortex_pool *pool)
{
    qcvt_job j = { n, x, y, scale, zp };
    cx_parallel(pool, quant_task, &j, CX_DIV_UP(n, QCHUNK));
}

void cx_dequantize_run(size_t n, const uint8_t *x, float scale, int32_t zp, float *y, cortex_pool *pool)
{
    qcvt_job j = { n, x, y, scale, zp };
    cx_parallel(pool, dequant_task, &j, CX_DIV_UP(n, QCHUNK));
}
