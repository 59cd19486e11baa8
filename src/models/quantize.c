/* Post-training static quantization: calibration and the int8 .ctx writer.
 * See quantize.h and docs/int8.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/quantize.h"
#include "runtime/model.h"

#define H CX_HIST_HALF
#define NB (2 * CX_HIST_HALF)

int cx_calib_method_parse(const char *s, cx_calib_method *m, double *percentile)
{
    if (!s) return -1;
    if (!strcmp(s, "minmax")) { *m = CX_CALIB_MINMAX; return 0; }
    if (!strcmp(s, "mse")) { *m = CX_CALIB_MSE; return 0; }
    if (!strcmp(s, "percentile")) { *m = CX_CALIB_PERCENTILE; *percentile = CX_CALIB_DEFAULT_PERCENTILE; return 0; }
    if (!strncmp(s, "percentile:", 11)) {
        char *end;
        double p = strtod(s + 11, &end);
        if (end == s + 11 || *end || !(p > 50 && p <= 100)) return -1;
        *m = CX_CALIB_PERCENTILE;
        *percentile = p;
        return 0;
    }
    return -1;
}

cx_quant_opts cx_quant_opts_default(void)
{
    cx_quant_opts o = { 0 };
    o.method = CX_CALIB_DEFAULT;
    o.percentile = CX_CALIB_DEFAULT_PERCENTILE;
    o.batch = 4;
    return o;
}

/* ------------------------------------------------------------- histogram */

cortex_status cx_hist_init(cx_hist *h)
{
    memset(h, 0, sizeof *h);
    h->bins = calloc(NB, sizeof *h->bins);
    h->min = INFINITY;
    h->max = -INFINITY;
    return h->bins ? CORTEX_OK : CORTEX_ERR_NOMEM;
}

void cx_hist_free(cx_hist *h)
{
    free(h->bins);
    h->bins = NULL;
}

static void hist_merge(cx_hist *h)
{
    double nb[NB] = { 0 };
    /* old bin i (relative index i-H) -> H + floor((i-H)/2) = (i+H)/2 */
    for (int i = 0; i < NB; i++) nb[(i + H) / 2] += h->bins[i];
    memcpy(h->bins, nb, sizeof nb);
    h->w *= 2;
}

void cx_hist_add(cx_hist *h, const float *x, size_t n)
{
    float mn = h->min, mx = h->max;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        finite++;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (!finite) return;
    h->min = mn;
    h->max = mx;
    double amax = fmax(fabs((double)mn), fabs((double)mx));
    if (amax > 0) {
        if (h->w == 0) h->w = ldexp(1.0, (int)ceil(log2(amax / H)));
        while (amax >= H * h->w) hist_merge(h);
    }
    const double inv = h->w > 0 ? 1.0 / h->w : 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        if (v == 0.0f) { h->zeros += 1; continue; }
        double t = (double)v * inv + H;  /* in (0, 2H) */
        long k = (long)t;
        k = k < 0 ? 0 : k > NB - 1 ? NB - 1 : k;
        h->bins[k] += 1;
    }
    h->count += (double)finite;
}

/* prefix sums over bins of count, count*c, count*c^2 (c = bin centre) */
typedef struct hsum { double p0[NB + 1], p1[NB + 1], p2[NB + 1]; double w; } hsum;

static void hsum_build(const cx_hist *h, hsum *s)
{
    s->w = h->w;
    s->p0[0] = s->p1[0] = s->p2[0] = 0;
    for (int i = 0; i < NB; i++) {
        double c = ((double)(i - H) + 0.5) * h->w, n = h->bins[i];
        s->p0[i + 1] = s->p0[i] + n;
        s->p1[i + 1] = s->p1[i] + n * c;
        s->p2[i + 1] = s->p2[i] + n * c * c;
    }
}

/* sums over bins [a, b] (inclusive, clamped) */
static void hrange(const hsum *s, long a, long b, double *s0, double *s1, double *s2)
{
    a = a < 0 ? 0 : a;
    b = b > NB - 1 ? NB - 1 : b;
    if (a > b) { *s0 = *s1 = *s2 = 0; return; }
    *s0 = s->p0[b + 1] - s->p0[a];
    *s1 = s->p1[b + 1] - s->p1[a];
    *s2 = s->p2[b + 1] - s->p2[a];
}

/* Sum of squared errors of quantizing the histogram to [lo, hi] with 256
 * levels: values past a bound cost their distance to it; values within
 * half a step of 0 round to 0 (cost c^2); the others cost step^2/12. */
static double hsum_err(const hsum *s, double lo, double hi)
{
    if (s->w == 0) return 0;
    const double w = s->w, d = (hi - lo) / 255.0;
    /* bin centres c_i = (i - H + 0.5) w */
    long ihi = (long)floor(hi / w + H - 0.5);      /* last bin with c <= hi */
    long ilo = (long)ceil(lo / w + H - 0.5);       /* first bin with c >= lo */
    double s0, s1, s2, e = 0;
    hrange(s, ihi + 1, NB - 1, &s0, &s1, &s2);
    e += s2 - 2 * hi * s1 + hi * hi * s0;
    hrange(s, 0, ilo - 1, &s0, &s1, &s2);
    e += s2 - 2 * lo * s1 + lo * lo * s0;
    long z0 = (long)ceil(-d / 2 / w + H - 0.5), z1 = (long)floor(d / 2 / w + H - 0.5);
    z0 = z0 < ilo ? ilo : z0;
    z1 = z1 > ihi ? ihi : z1;
    double zc = 0;
    if (z0 <= z1) {
        hrange(s, z0, z1, &s0, &s1, &s2);
        e += s2;
        zc = s0;
    }
    hrange(s, ilo, ihi, &s0, &s1, &s2);
    e += (s0 - zc) * d * d / 12.0;
    return e > 0 ? e : 0;
}

double cx_hist_mse(const cx_hist *h, double lo, double hi)
{
    if (h->count <= 0) return 0;
    hsum *s = malloc(sizeof *s);
    if (!s) return NAN;
    hsum_build(h, s);
    double e = hsum_err(s, lo, hi) / h->count;
    free(s);
    return e;
}

/* q-quantile (0..1) of the values (zeros included), linear within a bin */
static double hist_quantile(const cx_hist *h, double q)
{
    double target = q * h->count, acc = 0;
    for (int i = 0; i < NB; i++) {
        if (i == H) { /* exact zeros sit between bin H-1 and bin H */
            if (acc + h->zeros >= target) return 0;
            acc += h->zeros;
        }
        double n = h->bins[i];
        if (n > 0 && acc + n >= target) {
            double f = (target - acc) / n;
            return ((double)(i - H) + f) * h->w;
        }
        acc += n;
    }
    return h->max;
}

void cx_hist_range(const cx_hist *h, cx_calib_method m, double percentile, bool nonneg, double *lo, double *hi)
{
    double mn = h->count > 0 ? fmin((double)h->min, 0.0) : 0, mx = h->count > 0 ? fmax((double)h->max, 0.0) : 0;
    if (nonneg) mn = 0;
    *lo = mn;
    *hi = mx;
    if (h->count <= 0 || h->w == 0 || m == CX_CALIB_MINMAX) return;
    if (m == CX_CALIB_PERCENTILE) {
        double p = percentile / 100.0;
        double qh = hist_quantile(h, p), ql = hist_quantile(h, 1.0 - p);
        *hi = fmin(fmax(qh, 0.0), mx);
        *lo = nonneg ? 0 : fmax(fmin(ql, 0.0), mn);
        return;
    }
    /* MSE: thresholds on bin edges, lo = -a*w, hi = b*w */
    hsum *s = malloc(sizeof *s);
    if (!s) return;
    hsum_build(h, s);
    const double w = h->w;
    long bmax = (long)ceil(mx / w), amax = nonneg ? 0 : (long)ceil(-mn / w);
    if (bmax < 1 && amax < 1) { free(s); return; }
    double best = INFINITY;
    long ba = amax, bb = bmax;
    /* coarse grid (<= ~128 steps per side), then refine at full resolution */
    long sa = amax > 128 ? CX_DIV_UP(amax, 128) : 1, sb = bmax > 128 ? CX_DIV_UP(bmax, 128) : 1;
    for (int pass = 0; pass < 2; pass++) {
        long a0 = 0, a1 = amax, b0 = 1, b1 = bmax, stepa = sa, stepb = sb;
        if (pass == 1) {
            if (sa == 1 && sb == 1) break;
            a0 = CX_MAX(0, ba - sa); a1 = CX_MIN(amax, ba + sa);
            b0 = CX_MAX(1, bb - sb); b1 = CX_MIN(bmax, bb + sb);
            stepa = stepb = 1;
        }
        if (bmax < 1) { b0 = 0; b1 = 0; }
        for (long a = a1; a >= a0; a -= stepa) {
            for (long b = b1; b >= b0; b -= stepb) {
                double l = -(double)a * w, u = (double)b * w;
                if (!(u > l)) continue;
                double e = hsum_err(s, l, u);
                if (e < best) { best = e; ba = a; bb = b; }
            }
            if (nonneg) break;
        }
    }
    free(s);
    *lo = fmax(-(double)ba * w, mn);
    *hi = fmin((double)bb * w, mx);
    if (*hi < 0) *hi = 0;
}

void cx_qparams(double lo, double hi, float *scale, int32_t *zp)
{
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    double s = (hi - lo) / 255.0;
    if (!(s > 1e-30) || !isfinite(s)) { *scale = 1.0f; *zp = 0; return; }
    *scale = (float)s;
    long z = lrint(-lo / (double)*scale);
    *zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

void cx_quantize_weights(const float *w, size_t cout, size_t per, int8_t *q, float *scale)
{
    for (size_t o = 0; o < cout; o++) {
        const float *r = w + o * per;
        double m = 0;
        for (size_t i = 0; i < per; i++) m = fmax(m, fabs((double)r[i]));
        scale[o] = (float)(m / 127.0);
        for (size_t i = 0; i < per; i++) {
            long v = scale[o] > 0 ? lrint((double)r[i] / (double)scale[o]) : 0;
            q[o * per + i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

/* ------------------------------------------------------------ calibration */

typedef struct calib_state {
    cx_hist *h;               /* per node (bins NULL: not observed) */
    double **tap_sum;         /* per node: quantized convs, (ks, cin) sums of the input per tap */
    double *tap_count;        /* per node: output pixels seen */
    int n_nodes;
} calib_state;

/* Sums, per tap and input channel, of the input a conv's weights see (padding
 * counts 0): the E[x] of bias correction. */
static void tap_sums(const cx_conv *c, cx_dims in, cx_dims out, const float *x, double *acc)
{
    const int cin = in.c;
    for (int n = 0; n < out.n; n++)
        for (int od = 0; od < out.d; od++)
            for (int oh = 0; oh < out.h; oh++)
                for (int ow = 0; ow < out.w; ow++) {
                    int t = 0;
                    for (int kd = 0; kd < c->g.k[0]; kd++)
                        for (int kh = 0; kh < c->g.k[1]; kh++)
                            for (int kw = 0; kw < c->g.k[2]; kw++, t++) {
                                int id = od * c->g.s[0] - c->g.p[0] + kd * c->g.dil[0];
                                int ih = oh * c->g.s[1] - c->g.p[1] + kh * c->g.dil[1];
                                int iw = ow * c->g.s[2] - c->g.p[2] + kw * c->g.dil[2];
                                if (id < 0 || id >= in.d || ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
                                const float *xp = x + ((((size_t)n * in.d + id) * in.h + ih) * in.w + iw) * (size_t)cin;
                                double *a = acc + (size_t)t * cin;
                                for (int k = 0; k < cin; k++) a[k] += xp[k];
                            }
                }
}

static void observe(void *ctx, int i, const cx_node *n, const cx_node_io *io)
{
    calib_state *cs = ctx;
    if (i >= cs->n_nodes) return;
    if (cs->h[i].bins) cx_hist_add(&cs->h[i], io->y, cx_dims_numel(io->out));
    if (cs->tap_sum[i]) {
        tap_sums(&n->conv, io->in, io->out, io->x, cs->tap_sum[i]);
        cs->tap_count[i] += (double)io->out.n * io->out.d * io->out.h * io->out.w;
    }
}

/* Nodes whose output gets activation parameters: all but global pooling and
 * the network output (the fc and what follows the pooling stay fp32). */
static bool wants_act(const cx_graph *g, const cx_node *n)
{
    return n->out != g->output && n->op != CX_OP_GAP && g->val_q[n->out].type == CX_V_F32;
}

/* The convs that become int8: all but the fc (its input is pooled) and,
 * unless asked, the stem (its input is the network input). */
static bool quantized_conv(const cx_graph *g, const cx_node *n, const cx_quant_opts *o)
{
    if (n->op != CX_OP_CONV || n->out == g->output) return false;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].out == n->in && g->nodes[i].op == CX_OP_GAP) return false;
    if (n->in == g->input && o->fp32_stem) return false;
    return true;
}

/* Whether name is "<conv>.bias" of a conv that becomes int8. */
static bool is_qconv_bias(const cx_graph *g, const cx_quant_opts *o, const char *name)
{
    size_t L = strlen(name);
    if (L <= 5 || strcmp(name + L - 5, ".bias") != 0) return false;
    for (int i = 0; i < g->n_nodes; i++)
        if (strlen(g->nodes[i].name) == L - 5 && !strncmp(g->nodes[i].name, name, L - 5) &&
            quantized_conv(g, &g->nodes[i], o))
            return true;
    return false;
}

static const char *method_name(const cx_quant_opts *o, char *buf, size_t n)
{
    if (o->method == CX_CALIB_MINMAX) return "minmax";
    if (o->method == CX_CALIB_MSE) return "mse";
    snprintf(buf, n, "percentile:%g", o->percentile);
    return buf;
}

static cortex_status copy_meta(const cx_ctx_file *f, cx_ctx_writer *w)
{
    cortex_status st = CORTEX_OK;
    for (size_t i = 0; i < cx_ctx_meta_count(f) && st == CORTEX_OK; i++) {
        cx_meta_type t;
        const char *k = cx_ctx_meta_key(f, i, &t);
        if (!strcmp(k, "dtype") || !strcmp(k, "producer") || !strncmp(k, "quant.", 6)) continue;
        int64_t iv;
        double dv;
        size_t n;
        const char *const *sa;
        const float *fa;
        switch (t) {
        case CX_META_I64: cx_ctx_get_i64(f, k, &iv); st = cx_ctx_writer_set_i64(w, k, iv); break;
        case CX_META_F64: cx_ctx_get_f64(f, k, &dv); st = cx_ctx_writer_set_f64(w, k, dv); break;
        case CX_META_STR: st = cx_ctx_writer_set_str(w, k, cx_ctx_get_str(f, k)); break;
        case CX_META_STR_ARRAY: cx_ctx_get_str_array(f, k, &n, &sa); st = cx_ctx_writer_set_str_array(w, k, n, sa); break;
        case CX_META_F32_ARRAY: cx_ctx_get_f32_array(f, k, &n, &fa); st = cx_ctx_writer_set_f32_array(w, k, n, fa); break;
        }
    }
    return st;
}

cortex_status cx_quantize_ctx(const cx_ctx_file *f, const float *calib, const int64_t *shape, int rank,
                              const char *calib_name, const cx_quant_opts *o, cx_ctx_writer **out,
                              char *err, size_t errlen)
{
    *out = NULL;
    const char *dt = cx_ctx_get_str(f, "dtype");
    if (dt && strcmp(dt, "float32") != 0)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "the model is already %s (int8 conversion needs a float32 model)", dt);
    char e[600];
    cortex_model *m = NULL;
    cortex_status st = cx_model_from_ctx(f, NULL, &m, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s", e);
    const cx_graph *g = &m->g;
    const int mrank = g->spatial + 2;
    if (rank != mrank || shape[1] != g->val_c[g->input] || shape[0] < 1) {
        char sh[128];
        size_t off = 0;
        for (int i = 0; i < rank && off < sizeof sh; i++)
            off += (size_t)snprintf(sh + off, sizeof sh - off, "%s%lld", i ? "," : "", (long long)shape[i]);
        st = cx_errf(err, errlen, CORTEX_ERR_SHAPE, "%s: calibration data has shape (%s); %s takes (N,%d,%s)",
                     calib_name, sh, cortex_model_arch(m), g->val_c[g->input], mrank == 5 ? "T,H,W" : "H,W");
        cortex_model_free(m);
        return st;
    }
    calib_state cs = { calloc((size_t)g->n_nodes, sizeof(cx_hist)), calloc((size_t)g->n_nodes, sizeof(double *)),
                       calloc((size_t)g->n_nodes, sizeof(double)), g->n_nodes };
    cx_hist hin = { 0 };
    cortex_session *s = NULL;
    cortex_pool *pool = NULL;
    float *logits = NULL;
    cx_ctx_writer *w = NULL;
    void *qbuf = NULL;
    float *fq = NULL;
    st = CORTEX_OK;
    if (!cs.h || !cs.tap_sum || !cs.tap_count || cx_hist_init(&hin) != CORTEX_OK) { st = CORTEX_ERR_NOMEM; goto done; }
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        if (wants_act(g, n) && cx_hist_init(&cs.h[i]) != CORTEX_OK) { st = CORTEX_ERR_NOMEM; goto done; }
        if (quantized_conv(g, n, o) &&
            !(cs.tap_sum[i] = calloc((size_t)n->conv.ks * (size_t)n->conv.cin, sizeof(double)))) {
            st = CORTEX_ERR_NOMEM;
            goto done;
        }
    }
    if ((st = cortex_session_create(m, &s)) != CORTEX_OK) goto done;
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 1 && cortex_pool_create(threads, &pool) != CORTEX_OK) pool = NULL;
    cx_session_set_observer(s, observe, &cs);
    const int64_t N = shape[0];
    const int64_t bs = o->batch > 0 ? o->batch : 4;
    size_t per = 1;
    for (int i = 1; i < rank; i++) per *= (size_t)shape[i];
    logits = malloc((size_t)bs * (size_t)m->num_classes * sizeof(float));
    if (!logits) { st = CORTEX_ERR_NOMEM; goto done; }
    double t0 = cx_now();
    for (int64_t b0 = 0; b0 < N; b0 += bs) {
        int64_t bshape[CORTEX_MAX_DIMS];
        memcpy(bshape, shape, (size_t)rank * sizeof *bshape);
        bshape[0] = CX_MIN(bs, N - b0);
        const float *x = calib + (size_t)b0 * per;
        cx_hist_add(&hin, x, (size_t)bshape[0] * per);
        st = cortex_run(s, x, bshape, rank, logits, (size_t)bs * (size_t)m->num_classes, pool);
        if (st != CORTEX_OK) {
            cx_errf(err, errlen, st, "%s: %s", calib_name, cortex_session_error(s));
            goto done;
        }
        if (o->progress)
            fprintf(o->progress, "calibrating: %lld/%lld images (%.1f s)\n", (long long)(b0 + bshape[0]),
                    (long long)N, cx_now() - t0);
    }

    /* ---- the int8 file */
    if (!(w = cx_ctx_writer_new())) { st = CORTEX_ERR_NOMEM; goto done; }
    char mb[64];
    float qv[2];
    int32_t zp;
    double lo, hi;
    if ((st = copy_meta(f, w)) || (st = cx_ctx_writer_set_str(w, "dtype", "int8")) ||
        (st = cx_ctx_writer_set_str(w, "producer", "cortex-convert 0.1 (int8)")) ||
        (st = cx_ctx_writer_set_str(w, "quant.method", method_name(o, mb, sizeof mb))) ||
        (st = cx_ctx_writer_set_i64(w, "quant.calib_images", (int64_t)N)))
        goto done;
    cx_hist_range(&hin, o->method, o->percentile, false, &lo, &hi);
    cx_qparams(lo, hi, &qv[0], &zp);
    qv[1] = (float)zp;
    if ((st = cx_ctx_writer_set_f32_array(w, "quant.input", 2, qv))) goto done;
    for (int i = 0; i < g->n_nodes; i++) {
        const cx_node *n = &g->nodes[i];
        if (!cs.h[i].bins) continue;
        bool nonneg = (n->op == CX_OP_CONV && n->conv.min == 0.0f) || (n->op == CX_OP_ADD && n->relu) ||
                      (cs.h[i].count > 0 && cs.h[i].min >= 0);
        cx_hist_range(&cs.h[i], o->method, o->percentile, nonneg, &lo, &hi);
        cx_qparams(lo, hi, &qv[0], &zp);
        qv[1] = (float)zp;
        char key[320];
        snprintf(key, sizeof key, "quant.act.%s", n->name);
        if ((st = cx_ctx_writer_set_f32_array(w, key, 2, qv))) goto done;
    }
    for (size_t ti = 0; ti < cx_ctx_tensor_count(f); ti++) {
        const cx_ctx_tensor *t = cx_ctx_tensor_at(f, ti);
        const cx_node *qn = NULL;
        size_t L = strlen(t->name);
        if (t->dtype == CX_F32 && L > 7 && !strcmp(t->name + L - 7, ".weight") && t->ndim >= 2 && t->shape[0] > 0)
            for (int i = 0; i < g->n_nodes && !qn; i++)
                if (strlen(g->nodes[i].name) == L - 7 && !strncmp(g->nodes[i].name, t->name, L - 7) &&
                    quantized_conv(g, &g->nodes[i], o))
                    qn = &g->nodes[i];
        if (!qn) {
            if (is_qconv_bias(g, o, t->name)) continue; /* written with its weight (corrected) */
            if ((st = cx_ctx_writer_add_tensor(w, t->name, t->dtype, t->ndim, t->shape, t->data))) goto done;
            continue;
        }
        size_t cout = (size_t)t->shape[0], perw = t->numel / cout;
        const int qi = (int)(qn - g->nodes);
        const cx_conv *cv = &qn->conv;
        const size_t ks = (size_t)cv->ks, cin = (size_t)cv->cin, kc = (size_t)cv->kc, ncg = (size_t)cv->nc;
        char key[320];
        snprintf(key, sizeof key, "%s.bias", qn->name);
        const cx_ctx_tensor *bt = cx_ctx_find(f, key);
        if (!bt || bt->dtype != CX_F32 || bt->numel != cout || perw != kc * ks) {
            st = cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "tensor '%s' is missing or does not fit '%s'", key, t->name);
            goto done;
        }
        qbuf = malloc(t->numel ? t->numel : 1);
        fq = malloc((cout + cin * ks + cout) * sizeof(float));
        if (!qbuf || !fq) { st = CORTEX_ERR_NOMEM; goto done; }
        float *xm = fq + cout, *bias = xm + cin * ks;
        cx_quantize_weights(t->data, cout, perw, qbuf, fq);
        /* E[x] per (input channel, tap), stored (cin, ks) */
        const double cnt = cs.tap_count[qi] > 0 ? cs.tap_count[qi] : 1;
        for (size_t k = 0; k < cin; k++)
            for (size_t tp = 0; tp < ks; tp++) xm[k * ks + tp] = (float)(cs.tap_sum[qi][tp * cin + k] / cnt);
        /* bias correction: the float bias absorbs the mean output shift of the
         * weight rounding, sum (W8 - W) * E[x] */
        const float *wf = t->data, *bf = bt->data;
        for (size_t oc = 0; oc < cout; oc++) {
            double shift = 0;
            const size_t gi = oc / ncg;
            if (!o->no_bias_correction)
                for (size_t k = 0; k < kc; k++)
                    for (size_t tp = 0; tp < ks; tp++) {
                        size_t wi = oc * perw + k * ks + tp;
                        shift += ((double)fq[oc] * ((const int8_t *)qbuf)[wi] - (double)wf[wi]) * xm[(gi * kc + k) * ks + tp];
                    }
            bias[oc] = (float)((double)bf[oc] - shift);
        }
        char wkey[320], xkey[320];
        snprintf(wkey, sizeof wkey, "%s.wscale", qn->name);
        snprintf(xkey, sizeof xkey, "%s.xmean", qn->name);
        int64_t cs1[1] = { (int64_t)cout }, xs2[2] = { (int64_t)cin, (int64_t)ks };
        if ((st = cx_ctx_writer_add_tensor(w, t->name, CX_I8, t->ndim, t->shape, qbuf)) ||
            (st = cx_ctx_writer_add_tensor(w, key, CX_F32, 1, cs1, bias)) ||
            (st = cx_ctx_writer_add_tensor(w, wkey, CX_F32, 1, cs1, fq)) ||
            (st = cx_ctx_writer_add_tensor(w, xkey, CX_F32, 2, xs2, xm)))
            goto done;
        free(qbuf);
        free(fq);
        qbuf = NULL;
        fq = NULL;
    }
    *out = w;
    w = NULL;
done:
    if (st == CORTEX_ERR_NOMEM) cx_errf(err, errlen, st, "out of memory during int8 conversion");
    else if (st != CORTEX_OK && err && errlen && !err[0]) cx_errf(err, errlen, st, "int8 conversion failed (%s)", cortex_status_str(st));
    free(qbuf);
    free(fq);
    cx_ctx_writer_free(w);
    free(logits);
    cortex_session_free(s);
    cortex_pool_destroy(pool);
    for (int i = 0; i < cs.n_nodes; i++) {
        if (cs.h) cx_hist_free(&cs.h[i]);
        if (cs.tap_sum) free(cs.tap_sum[i]);
    }
    free(cs.h);
    free(cs.tap_sum);
    free(cs.tap_count);
    cx_hist_free(&hin);
    cortex_model_free(m);
    return st;
}

cortex_status cx_quantize_memory(const void *f32ctx, size_t size, const float *calib, const int64_t *shape,
                                 int rank, const cx_quant_opts *o, void **data, size_t *out_size,
                                 char *err, size_t errlen)
{
    char e[600];
    cx_ctx_file *f = NULL;
    cortex_status st = cx_ctx_open_memory(f32ctx, size, &f, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    cx_ctx_writer *w = NULL;
    if (err && errlen) err[0] = 0;
    st = cx_quantize_ctx(f, calib, shape, rank, "<calibration data>", o, &w, err, errlen);
    cx_ctx_close(f);
    if (st != CORTEX_OK) return st;
    st = cx_ctx_writer_to_memory(w, data, out_size, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    return CORTEX_OK;
}
