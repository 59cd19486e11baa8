/* Tap addressing shared by the f32 (conv.c) and int8 (qconv.c) convolution
 * drivers: one definition, generated per element type. */
#ifndef CX_CONV_TAPS_H
#define CX_CONV_TAPS_H
#include "layers/layers.h"

/* NAME(g, in, out, x, m, base, stride) fills base[t*stride] with the input
 * pixel (row of in.c elements) that tap t of output pixel m reads, or NULL
 * where the tap falls in the padding. The pixel index is decomposed once. */
#define CX_DEFINE_ROW_TAPS(NAME, T)                                                               \
    static void NAME(const cx_conv_geom *g, cx_dims in, cx_dims o, const T *x, size_t m,         \
                     const T **base, size_t stride)                                              \
    {                                                                                             \
        size_t ow = m % (size_t)o.w, r = m / (size_t)o.w;                                         \
        size_t oh = r % (size_t)o.h;                                                              \
        r /= (size_t)o.h;                                                                         \
        size_t od = r % (size_t)o.d, n = r / (size_t)o.d;                                         \
        const long d0 = (long)od * g->s[0] - g->p[0], h0 = (long)oh * g->s[1] - g->p[1],          \
                   w0 = (long)ow * g->s[2] - g->p[2];                                             \
        const T *img = x + n * (size_t)in.d * in.h * in.w * in.c;                                 \
        size_t t = 0;                                                                             \
        for (int kd = 0; kd < g->k[0]; kd++) {                                                    \
            long id = d0 + (long)kd * g->dil[0];                                                  \
            for (int kh = 0; kh < g->k[1]; kh++) {                                                \
                long ih = h0 + (long)kh * g->dil[1];                                              \
                bool rowin = id >= 0 && id < in.d && ih >= 0 && ih < in.h;                        \
                const T *rowp = rowin ? img + (((size_t)id * in.h + (size_t)ih) * in.w) * in.c : NULL; \
                for (int kw = 0; kw < g->k[2]; kw++, t++) {                                       \
                    long iw = w0 + (long)kw * g->dil[2];                                          \
                    base[t * stride] = (rowin && iw >= 0 && iw < in.w) ? rowp + (size_t)iw * in.c : NULL; \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

/* Whether output column ow's window lies inside the input along w (every kw
 * tap in bounds). Between two such columns of one output row every tap that
 * is not padding moves by s[2] input pixels and the padding taps (rows out
 * of d or h) stay padding, so a depthwise row advances its tap pointers
 * instead of recomputing them per pixel (that addressing was 41 % of a
 * 3x3x3 depthwise layer's time). */
static inline bool cx_taps_w_inside(const cx_conv_geom *g, cx_dims in, size_t ow)
{
    const long w0 = (long)ow * g->s[2] - g->p[2];
    return w0 >= 0 && w0 + (long)(g->k[2] - 1) * g->dil[2] < in.w;
}
#endif
