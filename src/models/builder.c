#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/builder.h"

void cx_builder_init(cx_builder *b, cx_build_mode mode, cx_graph *g)
{
    memset(b, 0, sizeof *b);
    b->mode = mode;
    b->g = g;
    b->bn_eps = 1e-5;
    b->wbits = 8;
    b->alpha = -1;
    b->alpha_meta = -1;
}

void cx_builder_free(cx_builder *b)
{
    free(b->used);
    b->used = NULL;
    free(b->twin);
    free(b->has_act);
    free(b->act_scale);
    free(b->act_zp);
    b->twin = NULL;
    b->has_act = NULL;
    b->act_scale = NULL;
    b->act_zp = NULL;
    b->cap_meta = 0;
}

int cx_b_fail(cx_builder *b, cortex_status st, const char *fmt, ...)
{
    if (b->st == CORTEX_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err, sizeof b->err, fmt, ap);
        va_end(ap);
        b->st = st;
    }
    return -1;
}

bool cx_b_ok(const cx_builder *b) { return b->st == CORTEX_OK; }

static size_t src_count(const cx_builder *b)
{
    return b->mode == CX_BUILD_CONVERT ? b->sd->count : cx_ctx_tensor_count(b->ctx);
}

static bool ensure_used(cx_builder *b)
{
    if (!b->used) b->used = calloc(src_count(b) + 1, sizeof(bool));
    return b->used != NULL;
}

/* A source tensor as float32 (or int8 where fetch_any allows it): shape and
 * data. Marks it used. */
typedef struct src_t { int ndim; const int64_t *shape; const float *data; size_t numel; cx_dtype dtype; } src_t;

static bool fetch_as(cx_builder *b, const char *name, src_t *t, bool required, bool allow_i8);

static bool fetch(cx_builder *b, const char *name, src_t *t, bool required)
{
    return fetch_as(b, name, t, required, false);
}

static bool fetch_as(cx_builder *b, const char *name, src_t *t, bool required, bool allow_i8)
{
    if (!ensure_used(b)) { cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory"); return false; }
    if (b->mode == CX_BUILD_CONVERT) {
        const cx_ftensor *f = cx_tdict_find(b->sd, name);
        if (f) {
            b->used[f - b->sd->items] = true;
            *t = (src_t){ f->ndim, f->shape, f->data, f->numel, CX_F32 };
            return true;
        }
    } else {
        const cx_ctx_tensor *f = cx_ctx_find(b->ctx, name);
        if (f) {
            for (size_t i = 0; i < cx_ctx_tensor_count(b->ctx); i++)
                if (cx_ctx_tensor_at(b->ctx, i) == f) b->used[i] = true;
            if (f->dtype != CX_F32 && !(allow_i8 && f->dtype == CX_I8)) {
                cx_b_fail(b, CORTEX_ERR_UNSUPPORTED, "tensor '%s' has dtype %s, expected float32%s",
                          name, cx_dtype_name(f->dtype), allow_i8 ? " or int8" : "");
                return false;
            }
            *t = (src_t){ f->ndim, f->shape, f->data, f->numel, f->dtype };
            return true;
        }
    }
    if (required) cx_b_fail(b, CORTEX_ERR_SHAPE, "missing tensor '%s'", name);
    return false;
}

bool cx_b_has(const cx_builder *b, const char *name)
{
    if (b->mode == CX_BUILD_CONVERT) return cx_tdict_find(b->sd, name) != NULL;
    return cx_ctx_find(b->ctx, name) != NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

static bool check_vec(cx_builder *b, const char *name, const src_t *t, int64_t len)
{
    if (t->ndim == 1 && t->shape[0] == len) return true;
    char s[128];
    shape_str(s, sizeof s, t->ndim, t->shape);
    cx_b_fail(b, CORTEX_ERR_SHAPE, "tensor '%s' has shape %s, expected [%lld]", name, s, (long long)len);
    return false;
}

/* ---- int8 LOAD: value types and conversions */

static bool ensure_meta(cx_builder *b)
{
    int need = b->g->n_vals;
    if (need <= b->cap_meta) return true;
    int nc = need * 2 + 16;
    int *tw = realloc(b->twin, (size_t)nc * sizeof *tw);
    if (tw) b->twin = tw;
    bool *ha = realloc(b->has_act, (size_t)nc * sizeof *ha);
    if (ha) b->has_act = ha;
    float *as = realloc(b->act_scale, (size_t)nc * sizeof *as);
    if (as) b->act_scale = as;
    int32_t *az = realloc(b->act_zp, (size_t)nc * sizeof *az);
    if (az) b->act_zp = az;
    if (!tw || !ha || !as || !az) return false;
    for (int i = b->cap_meta; i < nc; i++) { b->twin[i] = -1; b->has_act[i] = false; }
    b->cap_meta = nc;
    return true;
}

/* Metadata [scale, zp] under key: 1 found and valid, 0 absent; -1 invalid (failed). */
static int read_qparams(cx_builder *b, const char *key, float *scale, int32_t *zp)
{
    size_t n;
    const float *v;
    if (cx_ctx_get_f32_array(b->ctx, key, &n, &v) != CORTEX_OK) return 0;
    if (n != 2 || !(v[0] > 0) || !(v[0] < 1e30f) || !(v[1] >= 0 && v[1] <= 255) || v[1] != (float)(int32_t)v[1]) {
        cx_b_fail(b, CORTEX_ERR_CORRUPT, "metadata '%s' must be [scale > 0, integer zero point 0..255]", key);
        return -1;
    }
    *scale = v[0];
    *zp = (int32_t)v[1];
    return 1;
}

/* An f32 value made by node `name` (int8 LOAD): remember its calibrated
 * parameters (quant.act.<name>), used if a consumer needs it as u8. */
static void note_f32(cx_builder *b, int v, const char *key)
{
    if (!b->int8 || v < 0) return;
    if (!ensure_meta(b)) { cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory"); return; }
    float sc;
    int32_t zp;
    int r = read_qparams(b, key, &sc, &zp);
    if (r == 1) { b->has_act[v] = true; b->act_scale[v] = sc; b->act_zp[v] = zp; }
}

static void act_key(char *key, size_t n, const char *node) { snprintf(key, n, "quant.act.%s", node); }

/* Name of the node that produced v ("input" for the network input). */
static const char *producer_name(const cx_builder *b, int v)
{
    for (int i = b->g->n_nodes - 1; i >= 0; i--)
        if (b->g->nodes[i].out == v) return b->g->nodes[i].name;
    return "input";
}

/* v as a u8 value (QUANTIZE inserted once per value). */
static int as_u8(cx_builder *b, int v, const char *consumer)
{
    if (!cx_b_ok(b) || v < 0) return -1;
    if (b->g->val_q[v].type == CX_V_U8) return v;
    if (!ensure_meta(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    if (b->twin[v] >= 0) return b->twin[v];
    if (!b->has_act[v])
        return cx_b_fail(b, CORTEX_ERR_CORRUPT, "int8 model: no activation parameters (quant.input / quant.act.*) "
                         "for the input of '%s'", consumer);
    int q = cx_graph_add_qvalue(b->g, b->g->val_c[v], b->act_scale[v], b->act_zp[v]);
    if (q < 0 || !ensure_meta(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    char name[320];
    snprintf(name, sizeof name, "%s:quantize", producer_name(b, v));
    cx_node *n = cx_graph_add_node(b->g, CX_OP_QUANTIZE, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = v;
    n->out = q;
    b->twin[v] = q;
    b->twin[q] = v;
    return q;
}

/* v as an f32 value (DEQUANTIZE inserted once per value). */
static int as_f32(cx_builder *b, int v, const char *consumer)
{
    (void)consumer;
    if (!cx_b_ok(b) || v < 0) return -1;
    if (b->g->val_q[v].type == CX_V_F32) return v;
    if (!ensure_meta(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    if (b->twin[v] >= 0) return b->twin[v];
    int f = cx_graph_add_value(b->g, b->g->val_c[v]);
    if (f < 0 || !ensure_meta(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    char name[320];
    snprintf(name, sizeof name, "%s:dequantize", producer_name(b, v));
    cx_node *n = cx_graph_add_node(b->g, CX_OP_DEQUANTIZE, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = v;
    n->out = f;
    b->twin[v] = f;
    b->twin[f] = v;
    b->has_act[f] = true;
    b->act_scale[f] = b->g->val_q[v].scale;
    b->act_zp[f] = b->g->val_q[v].zp;
    return f;
}

int cx_b_input(cx_builder *b, int channels)
{
    if (!cx_b_ok(b)) return -1;
    int v = cx_graph_add_value(b->g, channels);
    if (v < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    b->g->input = v;
    note_f32(b, v, "quant.input");
    return v;
}

static int in_channels(cx_builder *b, int x)
{
    if (x < 0 || x >= b->g->n_vals) { cx_b_fail(b, CORTEX_ERR_INTERNAL, "bad value id %d", x); return -1; }
    return b->g->val_c[x];
}

/* Adds the conv node (LOAD) or writes folded tensors (CONVERT). */
static int emit_conv(cx_builder *b, int x, const char *name, int cin, int cout, int groups,
                     const cx_conv_geom *geo, const float *w, const float *bias, const int64_t *wshape,
                     int wndim, int residual, bool relu)
{
    b->params += (uint64_t)cout * (uint64_t)(cin / groups) * (uint64_t)(geo->k[0] * geo->k[1] * geo->k[2]) + (uint64_t)cout;
    int y = cx_graph_add_value(b->g, cout);
    if (y < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    char key[320];
    if (b->mode == CX_BUILD_CONVERT) {
        snprintf(key, sizeof key, "%s.weight", name);
        if (cx_ctx_writer_add_tensor(b->w, key, CX_F32, wndim, wshape, w) != CORTEX_OK)
            return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory writing '%s'", key);
        int64_t bs[1] = { cout };
        snprintf(key, sizeof key, "%s.bias", name);
        if (cx_ctx_writer_add_tensor(b->w, key, CX_F32, 1, bs, bias) != CORTEX_OK)
            return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory writing '%s'", key);
    } else {
        cx_node *n = cx_graph_add_node(b->g, CX_OP_CONV, name);
        if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
        n->in = x;
        n->in2 = residual;
        n->out = y;
        cortex_status st = cx_conv_create(&n->conv, cin, cout, groups, geo, relu, w, bias, b->kt);
        if (st != CORTEX_OK) return cx_b_fail(b, st, "conv '%s': cannot create (%s)", name, cortex_status_str(st));
        /* packed: the mapped file pages of this layer can go (peak RSS ~ packed weights) */
        snprintf(key, sizeof key, "%s.weight", name);
        cx_ctx_release_tensor(b->ctx, cx_ctx_find(b->ctx, key));
    }
    b->convs_done++;
    if (b->progress) b->progress(b->progress_ctx, b->convs_done);
    return y;
}

/* int8 LOAD of a conv stored with int8 weights: a QCONV node. */
static int emit_qconv(cx_builder *b, int x, const char *name, int cin, int cout, int groups,
                      const cx_conv_geom *geo, const src_t *w, const float *bias, int residual, bool relu)
{
    char key[320];
    src_t ws;
    snprintf(key, sizeof key, "%s.wscale", name);
    if (!fetch(b, key, &ws, true) || !check_vec(b, key, &ws, cout)) return -1;
    /* optional: the calibrated input means per (channel, tap), for bias correction */
    src_t xm = { 0 };
    const int ks = geo->k[0] * geo->k[1] * geo->k[2];
    snprintf(key, sizeof key, "%s.xmean", name);
    if (cx_b_has(b, key)) {
        if (!fetch(b, key, &xm, true)) return -1;
        if (xm.ndim != 2 || xm.shape[0] != cin || xm.shape[1] != ks)
            return cx_b_fail(b, CORTEX_ERR_SHAPE, "tensor '%s' must have shape [%d, %d]", key, cin, ks);
    }
    int xq = as_u8(b, x, name);
    int rq = residual >= 0 ? as_u8(b, residual, name) : -1;
    if (!cx_b_ok(b)) return -1;
    float ysc;
    int32_t yzp;
    act_key(key, sizeof key, name);
    int r = read_qparams(b, key, &ysc, &yzp);
    if (r == 0) return cx_b_fail(b, CORTEX_ERR_CORRUPT, "int8 model: metadata has no '%s'", key);
    if (r < 0) return -1;
    b->params += (uint64_t)w->numel + (uint64_t)cout;
    int y = cx_graph_add_qvalue(b->g, cout, ysc, yzp);
    if (y < 0 || !ensure_meta(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    cx_node *n = cx_graph_add_node(b->g, CX_OP_QCONV, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = xq;
    n->in2 = rq;
    n->out = y;
    const cx_vquant *xa = &b->g->val_q[xq];
    cx_qconv_desc d = { .cin = cin, .cout = cout, .groups = groups, .g = *geo, .w = (const int8_t *)w->data,
                        .w_scale = ws.data, .bias = bias, .a_scale = xa->scale, .a_zp = xa->zp,
                        .y_scale = ysc, .y_zp = yzp, .relu = relu, .residual = rq >= 0, .xmean = xm.data };
    if (rq >= 0) {
        d.r_scale = b->g->val_q[rq].scale;
        d.r_zp = b->g->val_q[rq].zp;
    }
    cortex_status st = cx_qconv_create(&n->qconv, &d, b->qk);
    if (st == CORTEX_ERR_INVALID_ARG)
        return cx_b_fail(b, CORTEX_ERR_CORRUPT, "conv '%s': invalid quantization parameters (weight scales '%s.wscale')",
                         name, name);
    if (st != CORTEX_OK) return cx_b_fail(b, st, "conv '%s': cannot create (%s)", name, cortex_status_str(st));
    if (n->qconv.wbits < b->wbits) b->wbits = n->qconv.wbits;
    snprintf(key, sizeof key, "%s.weight", name);
    cx_ctx_release_tensor(b->ctx, cx_ctx_find(b->ctx, key));
    snprintf(key, sizeof key, "%s.xmean", name);
    if (xm.data) cx_ctx_release_tensor(b->ctx, cx_ctx_find(b->ctx, key));
    b->convs_done++;
    if (b->progress) b->progress(b->progress_ctx, b->convs_done);
    return y;
}

static int conv_impl(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
                     const int stride[3], const int pad[3], int residual, bool relu, bool bn_shift);

int cx_b_conv(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
              const int stride[3], const int pad[3], int residual, bool relu)
{
    return conv_impl(b, x, conv, bn, k, stride, pad, residual, relu, true);
}

int cx_b_conv_part(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
                   const int stride[3], const int pad[3], int residual, bool relu, bool bn_shift)
{
    return conv_impl(b, x, conv, bn, k, stride, pad, residual, relu, bn_shift);
}

static int conv_impl(cx_builder *b, int x, const char *conv, const char *bn, const int k[3],
                     const int stride[3], const int pad[3], int residual, bool relu, bool bn_shift)
{
    if (!cx_b_ok(b)) return -1;
    int cin = in_channels(b, x);
    if (cin < 0) return -1;
    char key[320];
    src_t w;
    snprintf(key, sizeof key, "%s.weight", conv);
    if (!fetch_as(b, key, &w, true, b->mode == CX_BUILD_LOAD && b->int8)) return -1;
    const int spatial = b->g->spatial;
    char s[128];
    shape_str(s, sizeof s, w.ndim, w.shape);
    if (w.ndim != spatial + 2)
        return cx_b_fail(b, CORTEX_ERR_SHAPE, "tensor '%s' has shape %s, expected a %d-D conv weight", key, s, spatial + 2);
    int64_t kk[3] = { 1, w.shape[2], w.shape[3] };
    if (spatial == 3) { kk[0] = w.shape[2]; kk[1] = w.shape[3]; kk[2] = w.shape[4]; }
    for (int i = 0; i < 3; i++)
        if (kk[i] != k[i])
            return cx_b_fail(b, CORTEX_ERR_SHAPE, "tensor '%s' has shape %s: kernel %dx%dx%d expected", key, s, k[0], k[1], k[2]);
    int64_t cout = w.shape[0], cpg = w.shape[1];
    if (cout <= 0 || cout > (1 << 20) || cpg <= 0 || cin % cpg != 0 || cout % (cin / cpg) != 0)
        return cx_b_fail(b, CORTEX_ERR_SHAPE,
                         "tensor '%s' has shape %s, which does not fit %d input channels", key, s, cin);
    int groups = (int)(cin / cpg);
    if (b->want_groups > 0 && groups != b->want_groups)
        return cx_b_fail(b, CORTEX_ERR_SHAPE,
                         "tensor '%s' has shape %s: %d group%s over %d input channels, but %s has %d here "
                         "(a checkpoint of another architecture?)",
                         key, s, groups, groups == 1 ? "" : "s", cin, b->arch_name ? b->arch_name : "the arch",
                         b->want_groups);
    if (residual >= 0 && b->g->val_c[residual] != cout)
        return cx_b_fail(b, CORTEX_ERR_SHAPE, "'%s': residual has %d channels, conv makes %lld",
                         conv, b->g->val_c[residual], (long long)cout);
    cx_conv_geom geo;
    for (int i = 0; i < 3; i++) { geo.k[i] = k[i]; geo.s[i] = stride[i]; geo.p[i] = pad[i]; geo.dil[i] = 1; }

    if (b->mode == CX_BUILD_LOAD) {
        src_t bias;
        snprintf(key, sizeof key, "%s.bias", conv);
        if (!fetch(b, key, &bias, true) || !check_vec(b, key, &bias, cout)) return -1;
        if (w.dtype == CX_I8)
            return emit_qconv(b, x, conv, cin, (int)cout, groups, &geo, &w, bias.data, residual, relu);
        if (b->int8) {
            x = as_f32(b, x, conv);
            if (residual >= 0) residual = as_f32(b, residual, conv);
            if (!cx_b_ok(b)) return -1;
        }
        int y = emit_conv(b, x, conv, cin, (int)cout, groups, &geo, w.data, bias.data, w.shape, w.ndim, residual, relu);
        act_key(key, sizeof key, conv);
        note_f32(b, y, key);
        return y;
    }

    /* CONVERT: fold BN (or take the conv's own bias) */
    float *fw = cx_alloc(w.numel * sizeof(float));
    float *fb = cx_alloc((size_t)cout * sizeof(float));
    if (!fw || !fb) { cx_free(fw); cx_free(fb); return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory"); }
    src_t cb = { 0 };
    snprintf(key, sizeof key, "%s.bias", conv);
    bool has_cb = cx_b_has(b, key) && fetch(b, key, &cb, true) && check_vec(b, key, &cb, cout);
    const size_t per_o = w.numel / (size_t)cout;
    if (bn) {
        src_t g, be, mu, var;
        const char *parts[4] = { "weight", "bias", "running_mean", "running_var" };
        src_t *dst[4] = { &g, &be, &mu, &var };
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "%s.%s", bn, parts[i]);
            if (!fetch(b, key, dst[i], true) || !check_vec(b, key, dst[i], cout)) goto fail;
        }
        for (int64_t o = 0; o < cout; o++) {
            if (!(var.data[o] >= 0.0f)) {
                cx_b_fail(b, CORTEX_ERR_SHAPE, "'%s.running_var'[%lld] is %g (must be >= 0)", bn, (long long)o, var.data[o]);
                goto fail;
            }
            double sc = (double)g.data[o] / sqrt((double)var.data[o] + b->bn_eps);
            for (size_t i = 0; i < per_o; i++) fw[o * per_o + i] = (float)(w.data[o * per_o + i] * sc);
            double cbias = has_cb ? cb.data[o] : 0.0;
            fb[o] = bn_shift ? (float)((cbias - mu.data[o]) * sc + be.data[o]) : (float)(cbias * sc);
        }
    } else {
        memcpy(fw, w.data, w.numel * sizeof(float));
        for (int64_t o = 0; o < cout; o++) fb[o] = has_cb ? cb.data[o] : 0.0f;
    }
    if (!cx_b_ok(b)) goto fail;
    int y = emit_conv(b, x, conv, cin, (int)cout, groups, &geo, fw, fb, w.shape, w.ndim, residual, relu);
    cx_free(fw);
    cx_free(fb);
    return y;
fail:
    cx_free(fw);
    cx_free(fb);
    return -1;
}

/* The calibrated output parameters of node `name` (quant.act.<name>): 1
 * found, 0 absent, -1 invalid (failed). */
static int out_qparams(cx_builder *b, const char *name, float *scale, int32_t *zp)
{
    char key[320];
    act_key(key, sizeof key, name);
    return read_qparams(b, key, scale, zp);
}

static int add_pool(cx_builder *b, cx_opkind op, int x, const char *name, const int k[3],
                    const int s[3], const int p[3], bool ceil_mode, bool cip)
{
    if (!cx_b_ok(b)) return -1;
    int c = in_channels(b, x);
    if (c < 0) return -1;
    int y, qp;
    float sc;
    int32_t zp;
    if (b->mode == CX_BUILD_LOAD && b->int8) {
        bool u8 = b->g->val_q[x].type == CX_V_U8;
        if (u8 && op == CX_OP_MAXPOOL && (long)k[0] * k[1] * k[2] <= CX_QPOOL_MAX_TAPS) {
            /* max commutes with the affine map: same (scale, zp) */
            op = CX_OP_QMAXPOOL;
            y = cx_graph_add_qvalue(b->g, c, b->g->val_q[x].scale, b->g->val_q[x].zp);
        } else if (u8 && op == CX_OP_GAP) {
            op = CX_OP_QGAP_F32;
            y = cx_graph_add_value(b->g, c);
        } else if (u8 && op == CX_OP_AVGPOOL && (long)k[0] * k[1] * k[2] <= CX_QPOOL_MAX_TAPS &&
                   (qp = out_qparams(b, name, &sc, &zp)) != 0) {
            /* requantized to its own calibrated parameters (qeltwise.c) */
            if (qp < 0) return -1;
            op = CX_OP_QAVGPOOL;
            y = cx_graph_add_qvalue(b->g, c, sc, zp);
        } else {
            x = as_f32(b, x, name);
            if (x < 0) return -1;
            y = cx_graph_add_value(b->g, c);
            char key[320];
            act_key(key, sizeof key, name);
            note_f32(b, y, key);
        }
    } else {
        y = cx_graph_add_value(b->g, c);
    }
    if (y < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    if (b->mode == CX_BUILD_CONVERT) return y;
    cx_node *n = cx_graph_add_node(b->g, op, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = x;
    n->out = y;
    if (k) for (int i = 0; i < 3; i++) { n->pool.k[i] = k[i]; n->pool.s[i] = s[i]; n->pool.p[i] = p[i]; }
    n->pool.ceil_mode = ceil_mode;
    n->pool.count_include_pad = cip;
    return y;
}

int cx_b_maxpool(cx_builder *b, int x, const char *name, const int k[3], const int s[3],
                 const int p[3], bool ceil_mode)
{
    return add_pool(b, CX_OP_MAXPOOL, x, name, k, s, p, ceil_mode, false);
}

int cx_b_avgpool(cx_builder *b, int x, const char *name, const int k[3], const int s[3],
                 const int p[3], bool ceil_mode, bool count_include_pad)
{
    return add_pool(b, CX_OP_AVGPOOL, x, name, k, s, p, ceil_mode, count_include_pad);
}

/* Channels of x, which an elementwise sum with y needs y to have too; -1
 * (error recorded) otherwise. */
static int sum_channels(cx_builder *b, int x, int y, const char *name)
{
    if (!cx_b_ok(b)) return -1;
    int c = in_channels(b, x), c2 = in_channels(b, y);
    if (c < 0 || c2 < 0) return -1;
    if (c != c2) return cx_b_fail(b, CORTEX_ERR_SHAPE, "'%s': adding %d and %d channels", name, c, c2);
    return c;
}

int cx_b_upadd(cx_builder *b, int x, int low, const char *name, bool relu)
{
    int c = sum_channels(b, x, low, name);
    if (c < 0) return -1;
    bool q = false;
    float sc = 0;
    int32_t zp = 0;
    if (b->mode == CX_BUILD_LOAD && b->int8) {
        /* u8 inputs and calibrated output parameters: in int8 (each input
         * dequantized by its own scale, qeltwise.c); else in f32, like ADD */
        const int qp = b->g->val_q[x].type == CX_V_U8 && b->g->val_q[low].type == CX_V_U8
                           ? out_qparams(b, name, &sc, &zp) : 0;
        if (qp < 0) return -1;
        q = qp == 1;
        if (!q) {
            x = as_f32(b, x, name);
            low = as_f32(b, low, name);
        }
        if (!cx_b_ok(b)) return -1;
    }
    int z = q ? cx_graph_add_qvalue(b->g, c, sc, zp) : cx_graph_add_value(b->g, c);
    if (z < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    if (b->mode == CX_BUILD_CONVERT) return z;
    if (!q) {
        char akey[320];
        act_key(akey, sizeof akey, name);
        note_f32(b, z, akey);
    }
    cx_node *n = cx_graph_add_node(b->g, q ? CX_OP_QUP2ADD : CX_OP_UP2ADD, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = x;
    n->in2 = low;
    n->out = z;
    n->relu = relu;
    return z;
}

int cx_b_dim(const cx_builder *b, const char *name, int axis)
{
    int ndim;
    const int64_t *shape;
    if (b->mode == CX_BUILD_CONVERT) {
        const cx_ftensor *f = cx_tdict_find(b->sd, name);
        if (!f) return -1;
        ndim = f->ndim;
        shape = f->shape;
    } else {
        const cx_ctx_tensor *f = cx_ctx_find(b->ctx, name);
        if (!f) return -1;
        ndim = f->ndim;
        shape = f->shape;
    }
    if (axis < 0 || axis >= ndim || shape[axis] < 0 || shape[axis] > (1 << 30)) return -1;
    return (int)shape[axis];
}

int cx_b_gap(cx_builder *b, int x, const char *name)
{
    return add_pool(b, CX_OP_GAP, x, name, NULL, NULL, NULL, false, false);
}

int cx_b_add(cx_builder *b, int x, int y, const char *name, bool relu)
{
    int c = sum_channels(b, x, y, name);
    if (c < 0) return -1;
    if (b->mode == CX_BUILD_LOAD && b->int8) {
        x = as_f32(b, x, name);
        y = as_f32(b, y, name);
        if (!cx_b_ok(b)) return -1;
    }
    int z = cx_graph_add_value(b->g, c);
    if (z < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    if (b->mode == CX_BUILD_CONVERT) return z;
    char akey[320];
    act_key(akey, sizeof akey, name);
    note_f32(b, z, akey);
    cx_node *n = cx_graph_add_node(b->g, CX_OP_ADD, name);
    if (!n) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
    n->in = x;
    n->in2 = y;
    n->out = z;
    n->relu = relu;
    return z;
}

int cx_b_fc(cx_builder *b, int x, const char *name)
{
    if (!cx_b_ok(b)) return -1;
    int cin = in_channels(b, x);
    if (cin < 0) return -1;
    char key[320];
    src_t w, bias;
    snprintf(key, sizeof key, "%s.weight", name);
    if (!fetch(b, key, &w, true)) return -1;
    if (w.ndim != 2 || w.shape[1] != cin || w.shape[0] <= 0 || w.shape[0] > (1 << 24)) {
        char s[128];
        shape_str(s, sizeof s, w.ndim, w.shape);
        return cx_b_fail(b, CORTEX_ERR_SHAPE, "tensor '%s' has shape %s, expected [classes, %d]", key, s, cin);
    }
    int cout = (int)w.shape[0];
    snprintf(key, sizeof key, "%s.bias", name);
    if (!fetch(b, key, &bias, true) || !check_vec(b, key, &bias, cout)) return -1;
    /* the fc is a 1x1x1 conv on the pooled 1x1x1 map */
    cx_conv_geom geo = { { 1, 1, 1 }, { 1, 1, 1 }, { 0, 0, 0 }, { 1, 1, 1 } };
    if (b->mode == CX_BUILD_CONVERT) {
        /* written as stored: fc.weight (classes, C), fc.bias */
        b->params += (uint64_t)cout * (uint64_t)cin + (uint64_t)cout;
        int y = cx_graph_add_value(b->g, cout);
        if (y < 0) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
        snprintf(key, sizeof key, "%s.weight", name);
        if (cx_ctx_writer_add_tensor(b->w, key, CX_F32, 2, w.shape, w.data) != CORTEX_OK)
            return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
        snprintf(key, sizeof key, "%s.bias", name);
        if (cx_ctx_writer_add_tensor(b->w, key, CX_F32, 1, bias.shape, bias.data) != CORTEX_OK)
            return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory");
        return y;
    }
    if (b->int8 && (x = as_f32(b, x, name)) < 0) return -1;
    return emit_conv(b, x, name, cin, cout, 1, &geo, w.data, bias.data, w.shape, 2, -1, false);
}

cortex_status cx_b_finish(cx_builder *b, int output)
{
    if (!cx_b_ok(b)) return b->st;
    if (output < 0) return cx_b_fail(b, CORTEX_ERR_INTERNAL, "arch produced no output"), b->st;
    if (!ensure_used(b)) return cx_b_fail(b, CORTEX_ERR_NOMEM, "out of memory"), b->st;
    if (b->mode == CX_BUILD_LOAD && b->int8 && (output = as_f32(b, output, "output")) < 0) return b->st;
    b->g->output = output;
    size_t n = src_count(b), unused = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (!b->used[i]) {
            const char *nm = b->mode == CX_BUILD_CONVERT ? b->sd->items[i].name : cx_ctx_tensor_at(b->ctx, i)->name;
            if (!first) first = nm;
            unused++;
        }
    if (unused) {
        cx_b_fail(b, CORTEX_ERR_SHAPE, "unexpected key '%s'%s (%zu tensor%s not used by this arch)", first,
                  unused > 1 ? " and others" : "", unused, unused > 1 ? "s" : "");
        return b->st;
    }
    return CORTEX_OK;
}
