/* AVX2 Winograd F(4x4, 3x3) and F(2x2, 3x3) input and output transforms, 8 channels per
 * vector (contract: layers/conv_winograd.h; matrices in conv_winograd.c).
 * Columns first, then rows; the 6x6 intermediate stays in registers or L1.
 * Channels past the last multiple of 8 go to the scalar transforms. */
#include "kernels/intrin.h"
#include "layers/conv_winograd.h"

/* o = B^T d for one column of 6 vectors (factored form of conv_winograd.c) */
#define CX_BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                          \
    do {                                                                                \
        const __m256 a_ = _mm256_sub_ps(d1, d3), b_ = _mm256_sub_ps(d2, d4);            \
        const __m256 b1_ = _mm256_sub_ps(d3, d5);                                       \
        const __m256 p_ = _mm256_add_ps(a_, b_), q_ = _mm256_sub_ps(a_, b_);            \
        o0 = _mm256_fnmadd_ps(v15, a_, _mm256_sub_ps(_mm256_sub_ps(d0, d2), b_));       \
        o1 = _mm256_fmsub_ps(v15, _mm256_add_ps(d2, d3), p_);                           \
        o2 = _mm256_fmsub_ps(v15, _mm256_sub_ps(d2, d3), q_);                           \
        o3 = _mm256_fmadd_ps(v2, a_, b_);                                               \
        o4 = _mm256_fnmadd_ps(v2, b_, a_);                                              \
        o5 = _mm256_fnmadd_ps(v15, b_, _mm256_sub_ps(a_, b1_));                         \
    } while (0)

void cx_f32_wino4x3_in__avx2(size_t channels, const float *const *in, float *out, size_t os)
{
    const __m256 v2 = _mm256_set1_ps(2.0f), v15 = _mm256_set1_ps(1.5f);
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        __m256 t[6][6];
        for (int s = 0; s < 6; s++) {
            const __m256 d0 = _mm256_loadu_ps(in[0 * 6 + s] + c), d1 = _mm256_loadu_ps(in[1 * 6 + s] + c);
            const __m256 d2 = _mm256_loadu_ps(in[2 * 6 + s] + c), d3 = _mm256_loadu_ps(in[3 * 6 + s] + c);
            const __m256 d4 = _mm256_loadu_ps(in[4 * 6 + s] + c), d5 = _mm256_loadu_ps(in[5 * 6 + s] + c);
            CX_BT6(d0, d1, d2, d3, d4, d5, t[0][s], t[1][s], t[2][s], t[3][s], t[4][s], t[5][s]);
        }
        for (int i = 0; i < 6; i++) {
            __m256 o0, o1, o2, o3, o4, o5;
            CX_BT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o0, o1, o2, o3, o4, o5);
            float *o = out + (size_t)(6 * i) * os + c;
            _mm256_storeu_ps(o, o0);
            _mm256_storeu_ps(o + os, o1);
            _mm256_storeu_ps(o + 2 * os, o2);
            _mm256_storeu_ps(o + 3 * os, o3);
            _mm256_storeu_ps(o + 4 * os, o4);
            _mm256_storeu_ps(o + 5 * os, o5);
        }
    }
    if (c < channels) {
        const float *p[36];
        for (int i = 0; i < 36; i++) p[i] = in[i] + c;
        cx_f32_wino4x3_in__scalar(channels - c, p, out + c, os);
    }
}

/* y = A^T m for one column of 6 vectors */
#define CX_AT6(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                  \
    do {                                                                                \
        const __m256 s12_ = _mm256_add_ps(m1, m2), d12_ = _mm256_sub_ps(m1, m2);        \
        y0 = _mm256_add_ps(_mm256_fmadd_ps(v8, m3, _mm256_add_ps(m0, s12_)), m4);       \
        y1 = _mm256_fnmadd_ps(v2, m4, _mm256_fmadd_ps(v4, m3, d12_));                   \
        y2 = _mm256_fmadd_ps(v4, m4, _mm256_fmadd_ps(v2, m3, s12_));                    \
        y3 = _mm256_add_ps(_mm256_fnmadd_ps(v8, m4, _mm256_add_ps(d12_, m3)), m5);      \
    } while (0)

void cx_f32_wino4x3_out__avx2(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    const __m256 v2 = _mm256_set1_ps(2.0f), v4 = _mm256_set1_ps(4.0f), v8 = _mm256_set1_ps(8.0f);
    const __m256 vmin = _mm256_set1_ps(min), vmax = _mm256_set1_ps(max);
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        __m256 u[4][6];
        for (int j = 0; j < 6; j++) {
            const float *mj = m + (size_t)j * ms + c;
            const __m256 m0 = _mm256_loadu_ps(mj), m1 = _mm256_loadu_ps(mj + 6 * ms);
            const __m256 m2 = _mm256_loadu_ps(mj + 12 * ms), m3 = _mm256_loadu_ps(mj + 18 * ms);
            const __m256 m4 = _mm256_loadu_ps(mj + 24 * ms), m5 = _mm256_loadu_ps(mj + 30 * ms);
            CX_AT6(m0, m1, m2, m3, m4, m5, u[0][j], u[1][j], u[2][j], u[3][j]);
        }
        const __m256 vb = _mm256_loadu_ps(bias + c);
        for (int a = 0; a < 4; a++) {
            __m256 y[4];
            CX_AT6(u[a][0], u[a][1], u[a][2], u[a][3], u[a][4], u[a][5], y[0], y[1], y[2], y[3]);
            for (int b = 0; b < 4; b++) {
                __m256 v = _mm256_add_ps(y[b], vb);
                if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res[4 * a + b] + c));
                v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
                _mm256_storeu_ps(out[4 * a + b] + c, v);
            }
        }
    }
    if (c < channels) {
        float *o[16];
        const float *r[16];
        for (int i = 0; i < 16; i++) {
            o[i] = out[i] + c;
            r[i] = res ? res[i] + c : NULL;
        }
        cx_f32_wino4x3_out__scalar(channels - c, m + c, ms, bias + c, o, res ? r : NULL, min, max);
    }
}

/* ---- F(2x2, 3x3): 4x4 tiles */

void cx_f32_wino2x3_in__avx2(size_t channels, const float *const *in, float *out, size_t os)
{
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        __m256 t[4][4];
        for (int s = 0; s < 4; s++) {
            const __m256 d0 = _mm256_loadu_ps(in[0 * 4 + s] + c), d1 = _mm256_loadu_ps(in[1 * 4 + s] + c);
            const __m256 d2 = _mm256_loadu_ps(in[2 * 4 + s] + c), d3 = _mm256_loadu_ps(in[3 * 4 + s] + c);
            t[0][s] = _mm256_sub_ps(d0, d2);
            t[1][s] = _mm256_add_ps(d1, d2);
            t[2][s] = _mm256_sub_ps(d2, d1);
            t[3][s] = _mm256_sub_ps(d1, d3);
        }
        for (int i = 0; i < 4; i++) {
            float *o = out + (size_t)(4 * i) * os + c;
            _mm256_storeu_ps(o, _mm256_sub_ps(t[i][0], t[i][2]));
            _mm256_storeu_ps(o + os, _mm256_add_ps(t[i][1], t[i][2]));
            _mm256_storeu_ps(o + 2 * os, _mm256_sub_ps(t[i][2], t[i][1]));
            _mm256_storeu_ps(o + 3 * os, _mm256_sub_ps(t[i][1], t[i][3]));
        }
    }
    if (c < channels) {
        const float *p[16];
        for (int i = 0; i < 16; i++) p[i] = in[i] + c;
        cx_f32_wino2x3_in__scalar(channels - c, p, out + c, os);
    }
}

void cx_f32_wino2x3_out__avx2(size_t channels, const float *m, size_t ms, const float *bias,
                                float *const *out, const float *const *res, float min, float max)
{
    const __m256 vmin = _mm256_set1_ps(min), vmax = _mm256_set1_ps(max);
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
        __m256 u[2][4];
        for (int j = 0; j < 4; j++) {
            const float *mj = m + (size_t)j * ms + c;
            const __m256 m0 = _mm256_loadu_ps(mj), m1 = _mm256_loadu_ps(mj + 4 * ms);
            const __m256 m2 = _mm256_loadu_ps(mj + 8 * ms), m3 = _mm256_loadu_ps(mj + 12 * ms);
            u[0][j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
            u[1][j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
        }
        const __m256 vb = _mm256_loadu_ps(bias + c);
        for (int a = 0; a < 2; a++) {
            __m256 y[2];
            y[0] = _mm256_add_ps(_mm256_add_ps(u[a][0], u[a][1]), u[a][2]);
            y[1] = _mm256_sub_ps(_mm256_sub_ps(u[a][1], u[a][2]), u[a][3]);
            for (int b = 0; b < 2; b++) {
                __m256 v = _mm256_add_ps(y[b], vb);
                if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res[2 * a + b] + c));
                v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
                _mm256_storeu_ps(out[2 * a + b] + c, v);
            }
        }
    }
    if (c < channels) {
        float *o[4];
        const float *r[4];
        for (int i = 0; i < 4; i++) {
            o[i] = out[i] + c;
            r[i] = res ? res[i] + c : NULL;
        }
        cx_f32_wino2x3_out__scalar(channels - c, m + c, ms, bias + c, o, res ? r : NULL, min, max);
    }
}
