/* Max / average pooling (N-d, NDHWC), global average pooling, elementwise add,
 * and the NCHW -> NDHWC conversion at the model input. The inner loops run over
 * contiguous channels, which the compiler vectorises. */
#include <math.h>
#include <string.h>

#include "layers/layers.h"
#include "runtime/pool.h"

/* The channel loops below are plain C, vectorised through CX_VECTORIZE
 * (kernels.h); max/min/add are exact in any order. */

/* The pooling rows are also compiled for AVX2 and AVX-512 (GCC picks the
 * clone by CPUID when the library loads): ResNet-50's max pool took 0.14-0.25
 * ms in three profiled runs, 0.23-0.37 with SSE2 only. Every clone computes the same per-channel sequence of max/add, so the
 * results do not depend on the clone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CX_POOL_CLONES CX_VECTORIZE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CX_POOL_CLONES CX_VECTORIZE
#endif

/* PyTorch's pooling output size, ceil_mode included: a last window must start
 * inside the input or the left padding. */
static int pool_len(int in, int k, int s, int p, bool ceil_mode)
{
    /* PyTorch: floor((in + 2p - k [+ s - 1 in ceil mode]) / s) + 1, so a ceil-mode
     * window may be larger than the input (2x2 pool of a 1x1 map: 1x1) */
    long num = (long)in + 2L * p - k + (ceil_mode ? s - 1 : 0);
    if (num < 0) return 0;
    long o = num / s + 1;
    if (ceil_mode && (o - 1) * s >= (long)in + p) o--;
    return (int)o;
}

cortex_status cx_pool_out_dims(const cx_pool_desc *p, cx_dims in, cx_dims *out)
{
    for (int i = 0; i < 3; i++)
        if (p->k[i] <= 0 || p->s[i] <= 0 || p->p[i] < 0 || p->p[i] * 2 > p->k[i]) return CORTEX_ERR_SHAPE;
    cx_dims o = { in.n, pool_len(in.d, p->k[0], p->s[0], p->p[0], p->ceil_mode),
                  pool_len(in.h, p->k[1], p->s[1], p->p[1], p->ceil_mode),
                  pool_len(in.w, p->k[2], p->s[2], p->p[2], p->ceil_mode), in.c };
    if (o.d <= 0 || o.h <= 0 || o.w <= 0) return CORTEX_ERR_SHAPE;
    *out = o;
    return CORTEX_OK;
}

typedef struct pool_job {
    const cx_pool_desc *p;
    cx_dims in, out;
    const float *x;
    float *y;
    bool is_max;
} pool_job;

CX_POOL_CLONES static void pool_row(void *arg, size_t row, int worker)
{
    (void)worker;
    const pool_job *j = arg;
    const cx_pool_desc *p = j->p;
    const cx_dims in = j->in, out = j->out;
    const size_t C = (size_t)in.c;
    size_t oh = row % (size_t)out.h, r = row / (size_t)out.h;
    size_t od = r % (size_t)out.d, n = r / (size_t)out.d;
    for (int ow = 0; ow < out.w; ow++) {
        float *restrict yp = j->y + (row * (size_t)out.w + (size_t)ow) * C;
        int s1[3], e1[3];
        const long cnt = cx_pool_window(p, in, (int)od, (int)oh, ow, s1, e1);
        if (j->is_max) for (size_t c = 0; c < C; c++) yp[c] = -INFINITY;
        else memset(yp, 0, C * sizeof(float));
        for (int d = s1[0]; d < e1[0]; d++)
            for (int h = s1[1]; h < e1[1]; h++)
                for (int w = s1[2]; w < e1[2]; w++) {
                    const float *restrict xp = j->x + ((((size_t)n * in.d + d) * in.h + h) * in.w + w) * C;
                    if (j->is_max)
                        for (size_t c = 0; c < C; c++) yp[c] = xp[c] > yp[c] ? xp[c] : yp[c];
                    else
                        for (size_t c = 0; c < C; c++) yp[c] += xp[c];
                }
        if (!j->is_max) {
            const float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
            for (size_t c = 0; c < C; c++) yp[c] *= inv;
        }
    }
}

void cx_maxpool_run(const cx_pool_desc *p, cx_dims in, const float *x, cx_dims out, float *y, cortex_pool *pool)
{
    pool_job j = { p, in, out, x, y, true };
    cx_parallel(pool, pool_row, &j, (size_t)out.n * out.d * out.h);
}

void cx_avgpool_run(const cx_pool_desc *p, cx_dims in, const float *x, cx_dims out, float *y, cortex_pool *pool)
{
    pool_job j = { p, in, out, x, y, false };
    cx_parallel(pool, pool_row, &j, (size_t)out.n * out.d * out.h);
}

typedef struct gap_job { cx_dims in; const float *x; float *y; size_t cblocks; } gap_job;
#define GAP_CBLOCK 256

/* one image x one block of channels: pixels outer, channels inner, so the
 * loads are contiguous and the channel loop vectorises (the pixel-inner
 * order was a strided, latency-bound chain: 0.16 ms for ResNet-50's 2048x49) */
CX_VECTORIZE static void gap_task(void *arg, size_t task, int worker)
{
    (void)worker;
    const gap_job *j = arg;
    const size_t C = (size_t)j->in.c, S = (size_t)j->in.d * j->in.h * j->in.w;
    const size_t n = task / j->cblocks, c0 = task % j->cblocks * GAP_CBLOCK, cn = CX_MIN((size_t)GAP_CBLOCK, C - c0);
    const float *xp = j->x + n * S * C + c0;
    /* accumulate in double: a 3-D net's last map has few pixels, but be exact anyway */
    double acc[GAP_CBLOCK];
    for (size_t c = 0; c < cn; c++) acc[c] = 0.0;
    for (size_t s = 0; s < S; s++)
        for (size_t c = 0; c < cn; c++) acc[c] += (double)xp[s * C + c];
    float *yp = j->y + n * C + c0;
    for (size_t c = 0; c < cn; c++) yp[c] = (float)(acc[c] / (double)S);
}

void cx_gap_run(cx_dims in, const float *x, float *y, cortex_pool *pool)
{
    gap_job j = { in, x, y, CX_DIV_UP((size_t)in.c, (size_t)GAP_CBLOCK) };
    cx_parallel(pool, gap_task, &j, (size_t)in.n * j.cblocks);
}

typedef struct add_job { size_t n; const float *a, *b; float *y; bool relu; } add_job;
#define ADD_CHUNK 16384

CX_VECTORIZE static void add_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const add_job *j = arg;
    size_t s = i * ADD_CHUNK, e = CX_MIN(s + ADD_CHUNK, j->n);
    for (size_t k = s; k < e; k++) {
        float v = j->a[k] + j->b[k];
        j->y[k] = (j->relu && v < 0.0f) ? 0.0f : v;
    }
}

void cx_add_run(size_t n, const float *a, const float *b, float *y, bool relu, cortex_pool *pool)
{
    add_job j = { n, a, b, y, relu };
    cx_parallel(pool, add_task, &j, CX_DIV_UP(n, ADD_CHUNK));
}

typedef struct up2_job { cx_dims out, low; const float *a, *b; float *y; bool relu; } up2_job;

/* y[c] = max(a[c] + b[c], lo) (lo = -inf: no ReLU; NaN passes through);
 * restrict and no branch so that it vectorizes (inputs and outputs of a
 * layer never alias: session.c) */
CX_VECTORIZE static void add_row(size_t n, const float *restrict a, const float *restrict b, float *restrict y, float lo)
{
    for (size_t c = 0; c < n; c++) {
        const float v = a[c] + b[c];
        y[c] = lo > v ? lo : v;
    }
}

/* one output row (n, d, h); each low pixel serves two adjacent output pixels */
static void up2_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const up2_job *j = arg;
    const size_t C = (size_t)j->out.c, W = (size_t)j->out.w;
    const size_t h = i % (size_t)j->out.h, nd = i / (size_t)j->out.h;
    const float *ap = j->a + i * W * C;
    float *yp = j->y + i * W * C;
    const float *bp = j->b + (nd * (size_t)j->low.h + h / 2) * (size_t)j->low.w * C;
    const float lo = j->relu ? 0.0f : -INFINITY;
    for (size_t w = 0; w < W; w++) add_row(C, ap + w * C, bp + (w / 2) * C, yp + w * C, lo);
}

void cx_up2add_run(cx_dims out, const float *a, cx_dims low, const float *b, float *y, bool relu, cortex_pool *pool)
{
    up2_job j = { out, low, a, b, y, relu };
    cx_parallel(pool, up2_task, &j, (size_t)out.n * out.d * out.h);
}

void cx_nchw_to_ndhwc(cx_dims d, const float *x, float *y)
{
    const size_t S = (size_t)d.d * d.h * d.w, C = (size_t)d.c;
    for (size_t n = 0; n < (size_t)d.n; n++)
        for (size_t c = 0; c < C; c++)
            for (size_t s = 0; s < S; s++) y[(n * S + s) * C + c] = x[(n * C + c) * S + s];
}
