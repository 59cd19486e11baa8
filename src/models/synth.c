/* Synthetic state_dicts: every arch of the registry at its reference module's
 * nominal widths, with the reference's key names, random weights (uniform
 * with He variance, so activations stay O(1) through depth; seeded) and
 * random BatchNorm statistics (so BN folding is exercised). cortex-bench runs
 * an ARCH name on these, and the tests convert and load them. The widths here
 * are the reference's formulas; the builders never use them (they read every
 * width from the tensor shapes), so a mistake here fails conversion loudly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/models.h"

typedef struct synth {
    cx_tdict *d;
    uint64_t rs;
    int rank;            /* conv weights: 4 (2-D nets) or 5 (3-D nets) */
    cortex_status st;    /* first error; later calls do nothing */
} synth;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}
static float rng_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_next(s) >> 40) / 16777216.0f;
}

static void tensor(synth *y, const char *name, int ndim, const int64_t *shape, float lo, float hi)
{
    if (y->st) return;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    float *p = cx_alloc(n * sizeof(float));
    if (!p) { y->st = CORTEX_ERR_NOMEM; return; }
    for (size_t i = 0; i < n; i++) p[i] = rng_uniform(&y->rs, lo, hi);
    y->st = cx_tdict_add(y->d, name, ndim, shape, p);
    if (y->st) cx_free(p);
}

static void bn(synth *y, const char *name, int c)
{
    char key[200];
    const int64_t bs[1] = { c };
    const char *parts[4] = { "weight", "bias", "running_mean", "running_var" };
    const float lo[4] = { 0.5f, -0.3f, -0.5f, 0.5f }, hi[4] = { 1.5f, 0.3f, 0.5f, 2.0f };
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%s.%s", name, parts[i]);
        tensor(y, key, 1, bs, lo[i], hi[i]);
    }
}

/* "<conv>.weight" of cout x cin/groups x k (k[0] is the depth, dropped for
 * rank 4), then BN "<bnname>" of cout channels (NULL: none) */
static void conv(synth *y, const char *name, int cin, int cout, int groups, const int k[3], const char *bnname)
{
    char key[200];
    snprintf(key, sizeof key, "%s.weight", name);
    int64_t ws[5] = { cout, cin / groups, k[0], k[1], k[2] };
    if (y->rank == 4) { ws[2] = k[1]; ws[3] = k[2]; }
    const float a = sqrtf(6.0f / (float)(cin / groups * k[0] * k[1] * k[2]));
    tensor(y, key, y->rank, ws, -a, a);
    if (bnname) bn(y, bnname, cout);
}

/* conv `pre`.`c` with BN `pre`.`n` */
static void conv_bn(synth *y, const char *pre, const char *c, const char *n, int cin, int cout, int groups,
                    const int k[3])
{
    char cn[160], bnn[160];
    snprintf(cn, sizeof cn, "%s.%s", pre, c);
    snprintf(bnn, sizeof bnn, "%s.%s", pre, n);
    conv(y, cn, cin, cout, groups, k, bnn);
}

static void fc(synth *y, int classes, int cin)
{
    const int64_t fw[2] = { classes, cin }, fb[1] = { classes };
    const float fa = 1.0f / sqrtf((float)cin);
    tensor(y, "fc.weight", 2, fw, -fa, fa);
    tensor(y, "fc.bias", 1, fb, -fa, fa);
}

static const int K1[3] = { 1, 1, 1 }, K3[3] = { 1, 3, 3 }, K7[3] = { 1, 7, 7 }, K333[3] = { 3, 3, 3 };
static const int K311[3] = { 3, 1, 1 }, K377[3] = { 3, 7, 7 }, K177[3] = { 1, 7, 7 };

/* ---- torchvision ResNet / ResNeXt / wide ResNet */
static void resnet(synth *y, const cx_arch *a, int classes)
{
    conv(y, "conv1", 3, 64, 1, K7, "bn1");
    int cin = 64, exp = a->bottleneck ? 4 : 1;
    char p[64];
    for (int s = 0; s < 4; s++) {
        const int planes = 64 << s, mid = planes * a->width / 64 * a->groups;
        for (int i = 0; i < a->depths[s]; i++) {
            const int stride = (s > 0 && i == 0) ? 2 : 1;
            snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
            if (a->bottleneck) {
                conv_bn(y, p, "conv1", "bn1", cin, mid, 1, K1);
                conv_bn(y, p, "conv2", "bn2", mid, mid, a->groups, K3);
                conv_bn(y, p, "conv3", "bn3", mid, planes * 4, 1, K1);
            } else {
                conv_bn(y, p, "conv1", "bn1", cin, planes, 1, K3);
                conv_bn(y, p, "conv2", "bn2", planes, planes, 1, K3);
            }
            if (stride != 1 || cin != planes * exp) conv_bn(y, p, "downsample.0", "downsample.1", cin, planes * exp, 1, K1);
            cin = planes * exp;
        }
    }
    fc(y, classes, cin);
}

/* ---- torchvision VideoResNet: r3d_18, mc3_18, r2plus1d_18 (and r2plus1d_34,
 * cortex_ref.py). One (2+1)D unit `pre`: pre.0.0 (1x3x3 to mid), BN pre.0.1,
 * pre.0.3 (3x1x1 to cout), BN pre.1; otherwise pre.0 and BN pre.1. */
static void vunit(synth *y, const char *pre, int cin, int cout, int mid, bool r2p1d, bool no_temporal)
{
    char c[160], n[160];
    snprintf(n, sizeof n, "%s.1", pre);
    if (r2p1d) {
        char n01[160];
        snprintf(c, sizeof c, "%s.0.0", pre);
        snprintf(n01, sizeof n01, "%s.0.1", pre);
        conv(y, c, cin, mid, 1, K3, n01);
        snprintf(c, sizeof c, "%s.0.3", pre);
        conv(y, c, mid, cout, 1, K311, n);
    } else {
        snprintf(c, sizeof c, "%s.0", pre);
        conv(y, c, cin, cout, 1, no_temporal ? K3 : K333, n);
    }
}

static void videoresnet(synth *y, const cx_arch *a, int classes)
{
    const bool r2p1d = a->name[1] == '2', mc3 = a->name[0] == 'm';
    if (r2p1d) {
        conv(y, "stem.0", 3, 45, 1, K177, "stem.1");
        conv(y, "stem.3", 45, 64, 1, K311, "stem.4");
    } else {
        conv(y, "stem.0", 3, 64, 1, K377, "stem.1");
    }
    int cin = 64;
    char p[64], c[96];
    for (int s = 0; s < 4; s++) {
        const int planes = 64 << s;
        for (int i = 0; i < a->depths[s]; i++) {
            const int stride = (s > 0 && i == 0) ? 2 : 1;
            /* torchvision BasicBlock: one mid width per block, from (inplanes, planes) */
            const int mid = cin * planes * 27 / (cin * 9 + 3 * planes);
            snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
            snprintf(c, sizeof c, "%s.conv1", p);
            vunit(y, c, cin, planes, mid, r2p1d, mc3 && s > 0);
            snprintf(c, sizeof c, "%s.conv2", p);
            vunit(y, c, planes, planes, mid, r2p1d, mc3 && s > 0);
            if (stride != 1 || cin != planes) conv_bn(y, p, "downsample.0", "downsample.1", cin, planes, 1, K1);
            cin = planes;
        }
    }
    fc(y, classes, cin);
}

/* ---- cortex_ref.py CSN (ir_csn_*, ip_csn_*) and ResNeXt3D (resnext3d_101) */
static void csn(synth *y, const cx_arch *a, int classes)
{
    const bool ip = a->name[1] == 'p', rx = a->name[0] == 'r';
    conv(y, "conv1", 3, 64, 1, K377, "bn1");
    int cin = 64;
    char p[64];
    for (int s = 0; s < 4; s++) {
        const int planes = 64 << s, mid = rx ? planes * a->width / 64 * a->groups : planes;
        for (int i = 0; i < a->depths[s]; i++) {
            const int stride = (s > 0 && i == 0) ? 2 : 1;
            snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
            conv_bn(y, p, "conv1", "bn1", cin, mid, 1, K1);
            if (ip && !rx) conv_bn(y, p, "conv2_pw", "bn2_pw", mid, mid, 1, K1);
            conv_bn(y, p, "conv2", "bn2", mid, mid, rx ? a->groups : mid, K333);
            conv_bn(y, p, "conv3", "bn3", mid, planes * 4, 1, K1);
            if (stride != 1 || cin != planes * 4) conv_bn(y, p, "downsample.0", "downsample.1", cin, planes * 4, 1, K1);
            cin = planes * 4;
        }
    }
    fc(y, classes, cin);
}

/* ---- cortex_ref.py OctResNet (octresnet50). One OctConvBN `pre`: low parts
 * are int(alpha * channels) as in Python (truncation); a conv exists only
 * between non-empty parts. */
static void octconv(synth *y, const char *pre, int cin, int cout, const int k[3], double ain, double aout)
{
    const int lin = (int)(ain * cin), lout = (int)(aout * cout), hin = cin - lin, hout = cout - lout;
    char c[160], n[160];
    const char *nm[4] = { "hh", "hl", "lh", "ll" };
    const int ci[4] = { hin, hin, lin, lin }, co[4] = { hout, lout, hout, lout };
    for (int q = 0; q < 4; q++) {
        if (!ci[q] || !co[q]) continue;
        snprintf(c, sizeof c, "%s.conv.%s", pre, nm[q]);
        conv(y, c, ci[q], co[q], 1, k, NULL);
    }
    snprintf(n, sizeof n, "%s.bn_h", pre);
    bn(y, n, hout);
    if (lout) {
        snprintf(n, sizeof n, "%s.bn_l", pre);
        bn(y, n, lout);
    }
}

static void octresnet(synth *y, const cx_arch *a, int classes, double alpha)
{
    if (alpha < 0) alpha = 0.25;
    conv(y, "conv1", 3, 64, 1, K7, "bn1");
    int cin = 64;
    char p[64], c[96];
    for (int s = 0; s < 4; s++) {
        const int planes = 64 << s;
        for (int i = 0; i < a->depths[s]; i++) {
            double ain = alpha, aout = alpha;
            if (s == 0 && i == 0) ain = 0.0;
            else if (s == 3) { ain = i == 0 ? alpha : 0.0; aout = 0.0; }
            snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
            snprintf(c, sizeof c, "%s.conv1", p);
            octconv(y, c, cin, planes, K1, ain, aout);
            snprintf(c, sizeof c, "%s.conv2", p);
            octconv(y, c, planes, planes, K3, aout, aout);
            snprintf(c, sizeof c, "%s.conv3", p);
            octconv(y, c, planes, planes * 4, K1, aout, aout);
            if (i == 0) {
                snprintf(c, sizeof c, "%s.downsample", p);
                octconv(y, c, cin, planes * 4, K1, ain, aout);
            }
            cin = planes * 4;
        }
    }
    fc(y, classes, cin);
}

cortex_status cx_arch_synth(const cx_arch *a, int classes, uint64_t seed, double alpha, cx_tdict *out)
{
    if (!a || !out || classes <= 0) return CORTEX_ERR_INVALID_ARG;
    synth y = { out, seed * 0x9e3779b97f4a7c15ull + 0x1234567, a->spatial == 3 ? 5 : 4, CORTEX_OK };
    if (a->build == cx_build_resnet) resnet(&y, a, classes);
    else if (a->build == cx_build_videoresnet) videoresnet(&y, a, classes);
    else if (a->build == cx_build_csn) csn(&y, a, classes);
    else if (a->build == cx_build_octresnet) octresnet(&y, a, classes, alpha);
    else y.st = CORTEX_ERR_UNSUPPORTED;
    if (y.st) cx_tdict_free(out);
    return y.st;
}
