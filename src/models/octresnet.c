/* Octave-conv ResNet-50 (tools/ref/cortex_ref.py: OctConv, OctConvBN,
 * OctBottleneck, OctResNet). A feature map is a pair (high, low): the low part
 * at half resolution, absent (-1) where alpha is 0. Per OctConvBN:
 *   stride 1: Yh = hh(Xh) + crop(up2(lh(Xl))),  Yl = ll(Xl) + hl(pool2(Xh))
 *   stride 2: Xh' = pool2(Xh); Yh = hh(Xh') + lh(Xl), Yl = ll(pool2(Xl)) + hl(pool2(Xh'))
 * pool2 = 2x2 average, stride 2, ceil mode, padding not counted. Each branch's
 * BN acts on the sum: its scale is folded into both convs, its shift into the
 * first; the second conv takes the first's output as its fused residual (or,
 * when upsampled, an UP2ADD node adds it). A block's residual is fused into
 * the first conv of each branch of conv3, the ReLU applied after the sum.
 * In an int8 model the convs, the UP2ADDs and the pool2s are int8 (builder.c
 * picks QUP2ADD / QAVGPOOL where their inputs are u8). Widths come from the weight shapes; alpha (metadata or
 * --alpha) is checked against them. */
#include <stdio.h>
#include <string.h>

#include "models/models.h"

static const int K1[3] = { 1, 1, 1 }, K3[3] = { 1, 3, 3 }, K7[3] = { 1, 7, 7 };
static const int P0[3] = { 0, 0, 0 }, P1[3] = { 0, 1, 1 }, P3[3] = { 0, 3, 3 };
static const int S1[3] = { 1, 1, 1 }, S2[3] = { 1, 2, 2 };

typedef struct oct_t { int h, l; } oct_t;

static int pool2(cx_builder *b, int x, const char *name)
{
    return cx_b_avgpool(b, x, name, (const int[3]){ 1, 2, 2 }, S2, P0, true, false);
}

/* OctConvBN `pre` (keys pre.conv.{hh,hl,lh,ll}.weight, pre.bn_h, pre.bn_l) on
 * x, plus the residual res (h, l: -1 none) before the optional ReLU.
 * a_out: expected low fraction of the outputs (< 0: not checked). */
static oct_t octconv(cx_builder *b, oct_t x, const char *pre, int k, int stride, bool relu, oct_t res,
                     double a_out)
{
    oct_t y = { -1, -1 };
    if (!cx_b_ok(b)) return y;
    const int *K = k == 3 ? K3 : K1, *P = k == 3 ? P1 : P0;
    char hh[160], hl[160], lh[160], ll[160], bh[160], bl[160], key[200], nm[200];
    snprintf(hh, sizeof hh, "%s.conv.hh", pre);
    snprintf(hl, sizeof hl, "%s.conv.hl", pre);
    snprintf(lh, sizeof lh, "%s.conv.lh", pre);
    snprintf(ll, sizeof ll, "%s.conv.ll", pre);
    snprintf(bh, sizeof bh, "%s.bn_h", pre);
    snprintf(bl, sizeof bl, "%s.bn_l", pre);
    snprintf(key, sizeof key, "%s.weight", hl);
    const int lout = cx_b_dim(b, key, 0);
    const bool has_hl = lout >= 0;
    if (a_out >= 0) {
        snprintf(key, sizeof key, "%s.weight", hh);
        int hout = cx_b_dim(b, key, 0);
        if (hout > 0) {
            int total = hout + (has_hl ? lout : 0);
            int want = (int)(a_out * total);
            if ((has_hl ? lout : 0) != want) {
                cx_b_fail(b, CORTEX_ERR_SHAPE,
                          "'%s': %d of %d output channels are low-frequency, alpha %g expects %d (wrong --alpha?)",
                          pre, has_hl ? lout : 0, total, a_out, want);
                return y;
            }
        }
    }
    if (res.l >= 0 && !has_hl) {
        cx_b_fail(b, CORTEX_ERR_SHAPE, "'%s': residual has a low-frequency part, the conv makes none", pre);
        return y;
    }
    if (res.h >= 0 && res.l < 0 && has_hl) {
        cx_b_fail(b, CORTEX_ERR_SHAPE, "'%s': the conv makes a low-frequency part, the residual has none", pre);
        return y;
    }

    int xh = x.h;
    if (stride == 2) {
        snprintf(nm, sizeof nm, "%s.pool_h", pre);
        xh = pool2(b, xh, nm);
    }
    /* high branch */
    if (x.l < 0) {
        y.h = cx_b_conv(b, xh, hh, bh, K, S1, P, res.h, relu);
    } else {
        int a = cx_b_conv_part(b, xh, hh, bh, K, S1, P, res.h, false, true);
        if (stride == 2) {
            y.h = cx_b_conv_part(b, x.l, lh, bh, K, S1, P, a, relu, false);
        } else {
            int t = cx_b_conv_part(b, x.l, lh, bh, K, S1, P, -1, false, false);
            snprintf(nm, sizeof nm, "%s.up_h", pre);
            y.h = cx_b_upadd(b, a, t, nm, relu);
        }
    }
    /* low branch */
    if (has_hl) {
        snprintf(nm, sizeof nm, "%s.pool_hl", pre);
        int p = pool2(b, xh, nm);
        if (x.l < 0) {
            y.l = cx_b_conv(b, p, hl, bl, K, S1, P, res.l, relu);
        } else {
            int a = cx_b_conv_part(b, p, hl, bl, K, S1, P, res.l, false, true);
            int xl = x.l;
            if (stride == 2) {
                snprintf(nm, sizeof nm, "%s.pool_l", pre);
                xl = pool2(b, xl, nm);
            }
            y.l = cx_b_conv_part(b, xl, ll, bl, K, S1, P, a, relu, false);
        }
    }
    if (!cx_b_ok(b)) y.h = y.l = -1;
    return y;
}

static oct_t block(cx_builder *b, oct_t x, int stage, int idx, int stride, double a_out)
{
    char pre[64], c1[96], c2[96], c3[96], ds[96], dk[160];
    snprintf(pre, sizeof pre, "layer%d.%d", stage, idx);
    snprintf(c1, sizeof c1, "%s.conv1", pre);
    snprintf(c2, sizeof c2, "%s.conv2", pre);
    snprintf(c3, sizeof c3, "%s.conv3", pre);
    snprintf(ds, sizeof ds, "%s.downsample", pre);
    snprintf(dk, sizeof dk, "%s.conv.hh.weight", ds);
    const oct_t none = { -1, -1 };
    oct_t identity = x;
    if (cx_b_has(b, dk)) identity = octconv(b, x, ds, 1, stride, false, none, a_out);
    else if (stride != 1) {
        cx_b_fail(b, CORTEX_ERR_SHAPE, "missing tensor '%s' (block %s has stride 2)", dk, pre);
        return none;
    }
    oct_t y = octconv(b, x, c1, 1, 1, true, none, a_out);
    y = octconv(b, y, c2, 3, stride, true, none, a_out);
    return octconv(b, y, c3, 1, 1, true, identity, a_out);
}

int cx_build_octresnet(cx_builder *b, const cx_arch *a)
{
    b->bn_eps = a->bn_eps;
    double alpha = -1;
    if (b->mode == CX_BUILD_CONVERT) {
        alpha = b->alpha >= 0 ? b->alpha : 0.25;
        b->alpha_meta = alpha;
    } else {
        double v;
        if (cx_ctx_get_f64(b->ctx, "alpha", &v) == CORTEX_OK) {
            if (!(v >= 0 && v < 1)) return cx_b_fail(b, CORTEX_ERR_CORRUPT, "metadata alpha=%g is not in [0, 1)", v);
            alpha = v;
        }
    }
    int x = cx_b_input(b, 3);
    x = cx_b_conv(b, x, "conv1", "bn1", K7, S2, P3, -1, true);
    x = cx_b_maxpool(b, x, "maxpool", K3, S2, P1, false);
    oct_t y = { x, -1 };
    for (int st = 0; st < 4; st++)
        for (int i = 0; i < a->depths[st]; i++)
            y = block(b, y, st + 1, i, (st > 0 && i == 0) ? 2 : 1, st == 3 ? (alpha >= 0 ? 0.0 : -1.0) : alpha);
    if (cx_b_ok(b) && y.l >= 0) return cx_b_fail(b, CORTEX_ERR_SHAPE, "layer4 ends with a low-frequency part");
    x = cx_b_gap(b, y.h, "avgpool");
    return cx_b_fc(b, x, "fc");
}
