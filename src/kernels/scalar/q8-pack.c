/* Weight packing for the int8 families (layouts documented in kernels_q8.h).
 * Runs once per model load; ISA independent: only NR and wmax change. The
 * activation zero point is folded into the bias here (column offsets). The
 * output needs no particular alignment (int32/float fields go through memcpy). */
#include "kernels/kernels_q8.h"

size_t cx_q8_gemm_packed_size(size_t n, size_t kc, size_t ks, size_t nr)
{
    return (n + nr - 1) / nr * cx_q8_gemm_panel_bytes(kc, ks, nr);
}

/* bias + folded offset, modulo 2^32 like the kernels' accumulators */
static int32_t fold(int64_t bias, int64_t wsum, uint8_t a_zp)
{
    return (int32_t)(uint32_t)(uint64_t)(bias - (int64_t)a_zp * wsum);
}

size_t cx_q8_gemm_pack_weights(size_t n, size_t kc, size_t ks, size_t nr, int32_t wmax,
                               const int8_t *w, const int32_t *bias, const float *scale,
                               uint8_t a_zp, void *out)
{
    const size_t kc4 = cx_q8_kc4(kc);
    uint8_t *o = out;
    size_t clamped = 0;
    for (size_t j0 = 0; j0 < n; j0 += nr) {
        const size_t jn = n - j0 < nr ? n - j0 : nr;
        int8_t *ow = (int8_t *)(o + 8 * nr);
        for (size_t j = 0; j < nr; j++) {
            int64_t wsum = 0;
            for (size_t t = 0; t < ks; t++) {
                for (size_t k = 0; k < kc4; k++) {
                    int32_t v = 0;
                    if (j < jn && k < kc) {
                        v = w[((j0 + j) * ks + t) * kc + k];
                        if (v > wmax) { v = wmax; clamped++; }
                        if (v < -wmax) { v = -wmax; clamped++; }
                    }
                    wsum += v;
                    ow[(t * kc4 + (k & ~(size_t)3)) * nr + j * 4 + (k & 3)] = (int8_t)v;
                }
            }
            int32_t b = 0;
            float s = 0.0f;
            if (j < jn) {
                b = fold(bias ? bias[j0 + j] : 0, wsum, a_zp);
                s = scale[j0 + j];
            }
            memcpy(o + 4 * j, &b, 4);
            memcpy(o + 4 * (nr + j), &s, 4);
        }
        o += cx_q8_gemm_panel_bytes(kc, ks, nr);
    }
    return clamped;
}

void cx_q8_dwconv_pack_weights(size_t channels, size_t ks, const int8_t *w, const int32_t *bias,
                               const float *scale, uint8_t a_zp, void *out)
{
    uint8_t *o = out;
    int8_t *ow = (int8_t *)(o + 8 * channels);
    for (size_t c = 0; c < channels; c++) {
        int64_t wsum = 0;
        for (size_t t = 0; t < ks; t++) {
            ow[t * channels + c] = w[c * ks + t];
            wsum += w[c * ks + t];
        }
        const int32_t b = fold(bias ? bias[c] : 0, wsum, a_zp);
        memcpy(o + 4 * c, &b, 4);
        memcpy(o + 4 * (channels + c), &scale[c], 4);
    }
    /* the VNNI copy of whole 64-channel blocks (kernels_q8.h) */
    int8_t *v = (int8_t *)(o + cx_q8_dwconv_vnni_offset(channels, ks));
    const size_t ng = (ks + 3) / 4;
    for (size_t b = 0; b < channels / 64; b++)
        for (size_t g = 0; g < ng; g++)
            for (size_t j = 0; j < 4; j++)
                for (size_t k = 0; k < 4; k++)
                    for (size_t i = 0; i < 4; i++)
                        for (size_t q = 0; q < 4; q++) {
                            const size_t t = 4 * g + q, c = 64 * b + 16 * k + 4 * j + i;
                            *v++ = t < ks ? w[c * ks + t] : 0;
                        }
}
