/* ResNet family as torchvision builds it (v1.5: the stride of a bottleneck is on
 * its 3x3 conv), covering resnet18/34/50/101/152, resnext*_32x*d (grouped 3x3;
 * the groups come from the weight shape) and wide_resnet*_2 (wider bottleneck
 * mid-width, also read from shapes). State_dict keys are torchvision's. */
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "models/models.h"

static const int K1[3] = { 1, 1, 1 }, K3[3] = { 1, 3, 3 }, K7[3] = { 1, 7, 7 };
static const int P0[3] = { 0, 0, 0 }, P1[3] = { 0, 1, 1 }, P3[3] = { 0, 3, 3 };
static const int S1[3] = { 1, 1, 1 }, S2[3] = { 1, 2, 2 };

static int block(cx_builder *b, const cx_arch *a, int x, int stage, int idx, int stride)
{
    char pre[64], c1[96], c2[96], c3[96], n1[96], n2[96], n3[96], d0[96], d1[96], dk[128];
    snprintf(pre, sizeof pre, "layer%d.%d", stage, idx);
    snprintf(c1, sizeof c1, "%s.conv1", pre);
    snprintf(c2, sizeof c2, "%s.conv2", pre);
    snprintf(c3, sizeof c3, "%s.conv3", pre);
    snprintf(n1, sizeof n1, "%s.bn1", pre);
    snprintf(n2, sizeof n2, "%s.bn2", pre);
    snprintf(n3, sizeof n3, "%s.bn3", pre);
    snprintf(d0, sizeof d0, "%s.downsample.0", pre);
    snprintf(d1, sizeof d1, "%s.downsample.1", pre);
    snprintf(dk, sizeof dk, "%s.weight", d0);
    const int *s = stride == 2 ? S2 : S1;

    /* torchvision adds a downsample exactly when the shape changes; a checkpoint
     * without one where it is needed fails later on the residual's channels */
    int identity = x;
    if (cx_b_has(b, dk)) identity = cx_b_conv(b, x, d0, d1, K1, s, P0, -1, false);
    else if (stride != 1) return cx_b_fail(b, CORTEX_ERR_SHAPE, "missing tensor '%s' (block %s has stride 2)", dk, pre);

    if (a->bottleneck) {
        int y = cx_b_conv(b, x, c1, n1, K1, S1, P0, -1, true);
        b->want_groups = a->groups;   /* only the 3x3 is grouped (ResNeXt) */
        y = cx_b_conv(b, y, c2, n2, K3, s, P1, -1, true);
        b->want_groups = 1;
        return cx_b_conv(b, y, c3, n3, K1, S1, P0, identity, true);
    }
    int y = cx_b_conv(b, x, c1, n1, K3, s, P1, -1, true);
    return cx_b_conv(b, y, c2, n2, K3, S1, P1, identity, true);
}

int cx_build_resnet(cx_builder *b, const cx_arch *a)
{
    b->bn_eps = a->bn_eps;
    /* torchvision's ResNet: every conv ungrouped but a bottleneck's 3x3
     * (groups = 32 for resnext*_32x*d): a ResNeXt checkpoint given as resnet50
     * (same keys) is refused instead of silently running as "resnet50" */
    b->want_groups = 1;
    b->arch_name = a->name;
    int x = cx_b_input(b, 3);
    x = cx_b_conv(b, x, "conv1", "bn1", K7, S2, P3, -1, true);
    const int mk[3] = { 1, 3, 3 };
    x = cx_b_maxpool(b, x, "maxpool", mk, S2, P1, false);
    for (int st = 0; st < 4; st++)
        for (int i = 0; i < a->depths[st]; i++)
            x = block(b, a, x, st + 1, i, (st > 0 && i == 0) ? 2 : 1);
    b->want_groups = 0;
    x = cx_b_gap(b, x, "avgpool");
    return cx_b_fc(b, x, "fc");
}
