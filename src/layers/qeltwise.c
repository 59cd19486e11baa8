/* The int8 upsample-add and average pooling of octave nets (qlayers.h):
 * u8 in, u8 out, each value with its own (scale, zp). The table's dqadd /
 * dqavg kernels compute exactly the float operations of the path they
 * replace (DEQUANTIZE, the f32 op of pool.c, QUANTIZE), in the same order,
 * so the result is bit-identical to it while no f32 tensor is written:
 * int8 octresnet50 ran 87 QUANTIZEs and 82 DEQUANTIZEs around these ops. */
#include <math.h>
#include <string.h>

#include "layers/qlayers.h"
#include "runtime/pool.h"

/* ----------------------------------------------------------- upsample-add */

typedef struct qup2_job {
    cx_dims out, low;
    const uint8_t *a, *b;
    uint8_t *y;
    cx_q8_dq_params p;
    const cx_q8_kernels *qk;
} qup2_job;

/* one output row (n, d, h); each low pixel serves two adjacent output pixels */
static void qup2_task(void *arg, size_t i, int worker)
{
    (void)worker;
    const qup2_job *j = arg;
    const size_t C = (size_t)j->out.c, W = (size_t)j->out.w;
    const size_t h = i % (size_t)j->out.h, nd = i / (size_t)j->out.h;
    const uint8_t *ap = j->a + i * W * C;
    uint8_t *yp = j->y + i * W * C;
    const uint8_t *bp = j->b + (nd * (size_t)j->low.h + h / 2) * (size_t)j->low.w * C;
    for (size_t w = 0; w < W; w++) j->qk->dqadd(C, ap + w * C, bp + (w / 2) * C, yp + w * C, &j->p);
}

void cx_qup2add_run(cx_dims out, const uint8_t *a, float a_scale, int32_t a_zp, cx_dims low, const uint8_t *b,
                    float b_scale, int32_t b_zp, uint8_t *y, float y_scale, int32_t y_zp, bool relu,
                    const cx_q8_kernels *qk, cortex_pool *pool)
{
    const cx_q8_dq_params q = { .a_scale = a_scale, .b_scale = b_scale, .a_zp = a_zp, .b_zp = b_zp,
                                .lo = relu ? 0.0f : -INFINITY, .inv_y = 1.0f / y_scale /* as cx_quantize_run */,
                                .y_zp = y_zp };
    qup2_job j = { out, low, a, b, y, q, qk };
    cx_parallel(pool, qup2_task, &j, (size_t)out.n * out.d * out.h);
}

/* ------------------------------------------------------- average pooling */

typedef struct qavg_job {
    const cx_pool_desc *p;
    cx_dims in, out;
    const uint8_t *x;
    uint8_t *y;
    cx_q8_dq_params q;
    const cx_q8_kernels *qk;
} qavg_job;

/* one output row (n, d, h): the windows and divisors of pool.c's pool_row,
 * taps in its (d, h, w) order */
static void qavg_row(void *arg, size_t row, int worker)
{
    (void)worker;
    const qavg_job *j = arg;
    const cx_pool_desc *p = j->p;
    const cx_dims in = j->in, out = j->out;
    const size_t C = (size_t)in.c;
    size_t oh = row % (size_t)out.h, r = row / (size_t)out.h;
    size_t od = r % (size_t)out.d, n = r / (size_t)out.d;
    const uint8_t *taps[CX_QPOOL_MAX_TAPS];
    cx_q8_dq_params q = j->q;
    for (int ow = 0; ow < out.w; ow++) {
        int s1[3], e1[3];
        const long cnt = cx_pool_window(p, in, (int)od, (int)oh, ow, s1, e1);
        q.inv_n = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
        const size_t nt = cx_qpool_taps(in, j->x, n, s1, e1, taps);
        j->qk->dqavg(C, nt, taps, j->y + (row * (size_t)out.w + (size_t)ow) * C, &q);
    }
}

void cx_qavgpool_run(const cx_pool_desc *p, cx_dims in, const uint8_t *x, float x_scale, int32_t x_zp,
                     cx_dims out, uint8_t *y, float y_scale, int32_t y_zp, const cx_q8_kernels *qk,
                     cortex_pool *pool)
{
    const cx_q8_dq_params q = { .a_scale = x_scale, .a_zp = x_zp, .inv_y = 1.0f / y_scale, .y_zp = y_zp };
    qavg_job j = { p, in, out, x, y, q, qk };
    cx_parallel(pool, qavg_row, &j, (size_t)out.n * out.d * out.h);
}
