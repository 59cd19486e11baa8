/* Dequantized elementwise kernels (dqadd, dqavg; contract: kernels_q8.h),
 * CX_QVW channels per vector: the float operations of the scalar kernel in
 * the same order, separate multiplies and adds (the build is ISO C, so
 * nothing is contracted into an FMA); tails go through the scalar element
 * functions. So every ISA writes the scalar kernel's bytes.
 *
 * Written once for every vector ISA: avx2/q8-dq-avx2.c and
 * avx512/q8-dq-avx512.c define the float and int32 vector types (CX_QV,
 * CX_QVI), the width CX_QVW, CX_QV_LDU8(p) (CX_QVW bytes at p, zero-extended
 * to int32 lanes, nothing read past them), CX_QV_STU8(p, v) (the low byte of
 * each int32 lane to CX_QVW bytes at p), the int ops CX_QVI_SET1, CX_QVI_ADD,
 * CX_QVI_SUB, CX_QV_CVT (int32 -> float), CX_QV_BITS (float bits as int32),
 * the float ops CX_QV_SET1, CX_QV_ZERO, CX_QV_ADD, CX_QV_MUL, CX_QV_MAX,
 * CX_QV_MIN, and the names CX_DQADD_FN, CX_DQAVG_FN, then include this file. */
#if !defined(CX_QV) || !defined(CX_QVW) || !defined(CX_DQADD_FN) || !defined(CX_DQAVG_FN)
#error "define the vector macros (see the header comment) before including this file"
#endif
#include "kernels/kernels_q8.h"

/* CX_QVW bytes at x dequantized: (x - zp) * scale */
static inline CX_QV cx_dq(const uint8_t *x, CX_QVI zp, CX_QV scale)
{
    return CX_QV_MUL(CX_QV_CVT(CX_QVI_SUB(CX_QV_LDU8(x), zp)), scale);
}

/* cx_q8_quantize1 on every lane, stored as CX_QVW bytes */
static inline void cx_q_store(uint8_t *y, CX_QV v, CX_QV inv, CX_QV lo, CX_QV hi, CX_QVI zp)
{
    v = CX_QV_MUL(v, inv);
    v = CX_QV_MAX(v, lo);   /* v > lo ? v : lo */
    v = CX_QV_MIN(v, hi);   /* v < hi ? v : hi */
    /* rint(v) as the low mantissa bits of v + MAGIC: the integer that
     * (v + MAGIC) - MAGIC holds, for |v| <= 255 */
    const CX_QV magic = CX_QV_SET1(CX_Q8_MAGIC);
    const CX_QVI r = CX_QVI_SUB(CX_QV_BITS(CX_QV_ADD(v, magic)), CX_QV_BITS(magic));
    CX_QV_STU8(y, CX_QVI_ADD(r, zp));   /* 0..255: the low byte is the value */
}

void CX_DQADD_FN(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p)
{
    const CX_QVI za = CX_QVI_SET1(p->a_zp), zb = CX_QVI_SET1(p->b_zp), zy = CX_QVI_SET1(p->y_zp);
    const CX_QV sa = CX_QV_SET1(p->a_scale), sb = CX_QV_SET1(p->b_scale), lo = CX_QV_SET1(p->lo);
    const CX_QV inv = CX_QV_SET1(p->inv_y);
    const CX_QV qlo = CX_QV_SET1((float)(-p->y_zp)), qhi = CX_QV_SET1((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + CX_QVW <= n; c += CX_QVW) {
        CX_QV v = CX_QV_ADD(cx_dq(a + c, za, sa), cx_dq(b + c, zb, sb));
        v = CX_QV_MAX(v, lo);   /* lo > v ? lo : v, for the finite v here */
        cx_q_store(y + c, v, inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqadd1(a[c], b[c], p);
}

void CX_DQAVG_FN(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p)
{
    const CX_QVI za = CX_QVI_SET1(p->a_zp), zy = CX_QVI_SET1(p->y_zp);
    const CX_QV sa = CX_QV_SET1(p->a_scale), inv_n = CX_QV_SET1(p->inv_n), inv = CX_QV_SET1(p->inv_y);
    const CX_QV qlo = CX_QV_SET1((float)(-p->y_zp)), qhi = CX_QV_SET1((float)(255 - p->y_zp));
    size_t c = 0;
    for (; c + CX_QVW <= n; c += CX_QVW) {
        CX_QV acc = CX_QV_ZERO();
        for (size_t t = 0; t < ks; t++) acc = CX_QV_ADD(acc, cx_dq(in[t] + c, za, sa));
        cx_q_store(y + c, CX_QV_MUL(acc, inv_n), inv, qlo, qhi, zy);
    }
    for (; c < n; c++) y[c] = cx_q8_dqavg1(ks, in, c, p);
}
