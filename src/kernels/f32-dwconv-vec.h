/* Depthwise convolution over one output pixel (contract: kernels.h), one
 * vector of CX_VW channels at a time.
 *
 * Channels go in blocks of 4 vectors (4 independent accumulators, enough to
 * hide the FMA latency), then 1, then one masked tail: masked loads read no
 * input, weight or residual float past `channels`, a masked store writes
 * none. For each block the taps loop runs inside with the accumulators in
 * registers, so `out` is written exactly once.
 *
 * Written once for every vector ISA: avx2/f32-dwconv-avx2.c and
 * avx512/f32-dwconv-avx512.c define the vector type and width (CX_V, CX_VW),
 * the operations (CX_VLOAD, CX_VSTORE, CX_VADD, CX_VFMADD, CX_VSET1, CX_VMIN,
 * CX_VMAX), the tail mask (CX_VMASK_T, CX_VMASK(n) for n in 1..CX_VW-1,
 * CX_VMASKLOAD(m, p) zeroing the other lanes, CX_VMASKSTORE(p, m, v)) and
 * CX_DWCONV_FN, then include this file. */
#if !defined(CX_V) || !defined(CX_VW) || !defined(CX_DWCONV_FN)
#error "define the vector macros (see the header comment) before including this file"
#endif
#include "kernels/kernels.h"

static inline CX_V cx_clamp(CX_V v, CX_V vmin, CX_V vmax)
{
    return CX_VMIN(vmax, CX_VMAX(vmin, v));
}

void CX_DWCONV_FN(size_t channels, size_t ks, const float *const *in, const float *w, float *out,
                  const cx_f32_params *p)
{
    const float *bias = w, *wt = w + channels;
    const float *res = p->residual;
    const CX_V vmin = CX_VSET1(p->min);
    const CX_V vmax = CX_VSET1(p->max);
    size_t c = 0;

    for (; c + 4 * CX_VW <= channels; c += 4 * CX_VW) {
        CX_V acc0 = CX_VLOAD(bias + c);
        CX_V acc1 = CX_VLOAD(bias + c + CX_VW);
        CX_V acc2 = CX_VLOAD(bias + c + 2 * CX_VW);
        CX_V acc3 = CX_VLOAD(bias + c + 3 * CX_VW);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels) {
            const float *x = in[t] + c;
            acc0 = CX_VFMADD(CX_VLOAD(x), CX_VLOAD(wp), acc0);
            acc1 = CX_VFMADD(CX_VLOAD(x + CX_VW), CX_VLOAD(wp + CX_VW), acc1);
            acc2 = CX_VFMADD(CX_VLOAD(x + 2 * CX_VW), CX_VLOAD(wp + 2 * CX_VW), acc2);
            acc3 = CX_VFMADD(CX_VLOAD(x + 3 * CX_VW), CX_VLOAD(wp + 3 * CX_VW), acc3);
        }
        if (res) {
            acc0 = CX_VADD(acc0, CX_VLOAD(res + c));
            acc1 = CX_VADD(acc1, CX_VLOAD(res + c + CX_VW));
            acc2 = CX_VADD(acc2, CX_VLOAD(res + c + 2 * CX_VW));
            acc3 = CX_VADD(acc3, CX_VLOAD(res + c + 3 * CX_VW));
        }
        CX_VSTORE(out + c, cx_clamp(acc0, vmin, vmax));
        CX_VSTORE(out + c + CX_VW, cx_clamp(acc1, vmin, vmax));
        CX_VSTORE(out + c + 2 * CX_VW, cx_clamp(acc2, vmin, vmax));
        CX_VSTORE(out + c + 3 * CX_VW, cx_clamp(acc3, vmin, vmax));
    }
    for (; c + CX_VW <= channels; c += CX_VW) {
        CX_V acc = CX_VLOAD(bias + c);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = CX_VFMADD(CX_VLOAD(in[t] + c), CX_VLOAD(wp), acc);
        if (res) acc = CX_VADD(acc, CX_VLOAD(res + c));
        CX_VSTORE(out + c, cx_clamp(acc, vmin, vmax));
    }
    if (c < channels) {
        const CX_VMASK_T m = CX_VMASK(channels - c);
        CX_V acc = CX_VMASKLOAD(m, bias + c);
        const float *wp = wt + c;
        for (size_t t = 0; t < ks; t++, wp += channels)
            acc = CX_VFMADD(CX_VMASKLOAD(m, in[t] + c), CX_VMASKLOAD(m, wp), acc);
        if (res) acc = CX_VADD(acc, CX_VMASKLOAD(m, res + c));
        CX_VMASKSTORE(out + c, m, cx_clamp(acc, vmin, vmax));
    }
}
