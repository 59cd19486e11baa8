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

/* NAME(g, in, o, x, m0, mr, MR, base): the taps of row tile m0..m0+mr-1
 * into base[t*MR + i] (rows past mr repeat the last), through ROW_TAPS (a
 * CX_DEFINE_ROW_TAPS function) except that a pixel following one of the
 * same output row, both inside along w, takes the previous pixel's taps
 * moved by one stride (NULL, padding rows out of d/h, stays NULL). */
#define CX_DEFINE_TILE_TAPS(NAME, ROW_TAPS, T)                                                    \
    static void NAME(const cx_conv_geom *g, cx_dims in, cx_dims o, const T *x, size_t m0,        \
                     size_t mr, size_t MR, const T **base)                                        \
    {                                                                                             \
        const size_t ks = (size_t)g->k[0] * g->k[1] * g->k[2], step = (size_t)g->s[2] * in.c;     \
        bool prev_in = false;                                                                     \
        for (size_t i = 0; i < MR; i++) {                                                         \
            if (i >= mr) {                                                                        \
                for (size_t t = 0; t < ks; t++) base[t * MR + i] = base[t * MR + mr - 1];         \
                continue;                                                                         \
            }                                                                                     \
            const size_t ow = (m0 + i) % (size_t)o.w;                                             \
            const bool in_w = cx_taps_w_inside(g, in, ow);                                        \
            if (i > 0 && ow > 0 && in_w && prev_in) {                                             \
                for (size_t t = 0; t < ks; t++) {                                                 \
                    const T *p = base[t * MR + i - 1];                                            \
                    base[t * MR + i] = p ? p + step : NULL;                                       \
                }                                                                                 \
            } else {                                                                              \
                ROW_TAPS(g, in, o, x, m0 + i, base + i, MR);                                      \
            }                                                                                     \
            prev_in = in_w;                                                                       \
        }                                                                                         \
    }
#endif
