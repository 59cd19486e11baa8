/* Video nets over (N, 3, T, H, W) inputs, on the same N-d convolution:
 *  - torchvision's VideoResNet: r3d_18 (3x3x3 everywhere), mc3_18 (3x3x3 in
 *    layer1, 1x3x3 after), r2plus1d_18 / r2plus1d_34 ((2+1)D: a 1x3x3 spatial
 *    conv to a mid width, BN, ReLU, a 3x1x1 temporal conv). Keys are
 *    torchvision's (conv1.0.0 / conv1.0.1 / conv1.0.3 / conv1.1 ...).
 *  - channel-separated nets (shared/ref/cortex_ref.py): ir_csn_* (1x1x1 +
 *    depthwise 3x3x3 + 1x1x1) and ip_csn_* (an extra 1x1x1 + BN, no ReLU,
 *    before the depthwise conv), BN eps 1e-3;
 *  - resnext3d_101: ResNeXt-101 32x4d inflated to 3x3x3 grouped convs.
 * All widths and groups come from the weight shapes (the r2plus1d mid width
 * differs per block and is never recomputed). */
#include <stdio.h>

#include "models/models.h"

static const int K1[3] = { 1, 1, 1 }, K3[3] = { 3, 3, 3 }, K133[3] = { 1, 3, 3 }, K311[3] = { 3, 1, 1 };
static const int P0[3] = { 0, 0, 0 }, P1[3] = { 1, 1, 1 }, P011[3] = { 0, 1, 1 }, P100[3] = { 1, 0, 0 };
static const int S1[3] = { 1, 1, 1 };

typedef enum { V_R3D, V_MC3, V_R2P1D } vkind;

static vkind kind_of(const cx_arch *a)
{
    if (a->name[0] == 'm') return V_MC3;
    if (a->name[1] == '2') return V_R2P1D;
    return V_R3D;
}

/* One spatio-temporal conv "unit" of a VideoResNet block: <pre>.0 conv(s) and
 * <pre>.1 BN. (2+1)D: <pre>.0.0 spatial, <pre>.0.1 BN + ReLU, <pre>.0.3 temporal. */
static int vunit(cx_builder *b, vkind k, int x, const char *pre, int stage, int s, int residual, bool relu)
{
    char c0[96], n1[96], c00[96], n01[96], c03[96];
    snprintf(c0, sizeof c0, "%s.0", pre);
    snprintf(n1, sizeof n1, "%s.1", pre);
    const int st[3] = { s, s, s }, st_hw[3] = { 1, s, s }, st_t[3] = { s, 1, 1 };
    if (k == V_R2P1D) {
        snprintf(c00, sizeof c00, "%s.0.0", pre);
        snprintf(n01, sizeof n01, "%s.0.1", pre);
        snprintf(c03, sizeof c03, "%s.0.3", pre);
        int y = cx_b_conv(b, x, c00, n01, K133, st_hw, P011, -1, true);
        return cx_b_conv(b, y, c03, n1, K311, st_t, P100, residual, relu);
    }
    if (k == V_MC3 && stage > 1) return cx_b_conv(b, x, c0, n1, K133, st_hw, P011, residual, relu);
    return cx_b_conv(b, x, c0, n1, K3, st, P1, residual, relu);
}

int cx_build_videoresnet(cx_builder *b, const cx_arch *a)
{
    vkind k = kind_of(a);
    b->bn_eps = a->bn_eps;
    int x = cx_b_input(b, 3);
    if (k == V_R2P1D) {
        const int s[3] = { 1, 2, 2 }, p[3] = { 0, 3, 3 }, kk[3] = { 1, 7, 7 };
        x = cx_b_conv(b, x, "stem.0", "stem.1", kk, s, p, -1, true);
        x = cx_b_conv(b, x, "stem.3", "stem.4", K311, S1, P100, -1, true);
    } else {
        const int s[3] = { 1, 2, 2 }, p[3] = { 1, 3, 3 }, kk[3] = { 3, 7, 7 };
        x = cx_b_conv(b, x, "stem.0", "stem.1", kk, s, p, -1, true);
    }
    for (int st = 1; st <= 4; st++)
        for (int i = 0; i < a->depths[st - 1]; i++) {
            int s = (st > 1 && i == 0) ? 2 : 1;
            char pre[48], c1[64], c2[64], d0[64], d1[64], dk[80];
            snprintf(pre, sizeof pre, "layer%d.%d", st, i);
            snprintf(c1, sizeof c1, "%s.conv1", pre);
            snprintf(c2, sizeof c2, "%s.conv2", pre);
            snprintf(d0, sizeof d0, "%s.downsample.0", pre);
            snprintf(d1, sizeof d1, "%s.downsample.1", pre);
            snprintf(dk, sizeof dk, "%s.weight", d0);
            int identity = x;
            if (cx_b_has(b, dk)) {
                /* the shortcut strides like the block's conv: (1,s,s) for mc3's 2-D stages */
                const int ds[3] = { (k == V_MC3 && st > 1) ? 1 : s, s, s };
                identity = cx_b_conv(b, x, d0, d1, K1, ds, P0, -1, false);
            } else if (s != 1) {
                return cx_b_fail(b, CORTEX_ERR_SHAPE, "missing tensor '%s' (block %s has stride 2)", dk, pre);
            }
            int y = vunit(b, k, x, c1, st, s, -1, true);
            x = vunit(b, k, y, c2, st, 1, identity, true);
        }
    x = cx_b_gap(b, x, "avgpool");
    return cx_b_fc(b, x, "fc");
}

/* CSN (ir/ip) and resnext3d: bottlenecks after a 3x7x7 stem and a 1x3x3 max pool. */
int cx_build_csn(cx_builder *b, const cx_arch *a)
{
    const bool ip = a->name[1] == 'p', rx = a->name[0] == 'r';
    b->bn_eps = a->bn_eps;
    int x = cx_b_input(b, 3);
    const int s122[3] = { 1, 2, 2 }, p133[3] = { 1, 3, 3 }, k377[3] = { 3, 7, 7 };
    x = cx_b_conv(b, x, "conv1", "bn1", k377, s122, p133, -1, true);
    x = cx_b_maxpool(b, x, "maxpool", K133, s122, P011, false);
    for (int st = 1; st <= 4; st++)
        for (int i = 0; i < a->depths[st - 1]; i++) {
            int s = (st > 1 && i == 0) ? 2 : 1;
            const int ss[3] = { s, s, s };
            char p[48], n[10][80];
            snprintf(p, sizeof p, "layer%d.%d", st, i);
            const char *suf[10] = { "conv1", "bn1", "conv2_pw", "bn2_pw", "conv2", "bn2", "conv3", "bn3",
                                    "downsample.0", "downsample.1" };
            for (int q = 0; q < 10; q++) snprintf(n[q], sizeof n[q], "%s.%s", p, suf[q]);
            char dk[96];
            snprintf(dk, sizeof dk, "%s.weight", n[8]);
            int identity = x;
            if (cx_b_has(b, dk)) identity = cx_b_conv(b, x, n[8], n[9], K1, ss, P0, -1, false);
            int y = cx_b_conv(b, x, n[0], n[1], K1, S1, P0, -1, true);
            if (ip && !rx) y = cx_b_conv(b, y, n[2], n[3], K1, S1, P0, -1, false);
            y = cx_b_conv(b, y, n[4], n[5], K3, ss, P1, -1, true);  /* depthwise (csn) or 32 groups (resnext3d) */
            x = cx_b_conv(b, y, n[6], n[7], K1, S1, P0, identity, true);
        }
    x = cx_b_gap(b, x, "avgpool");
    return cx_b_fc(b, x, "fc");
}
