/* Dequantized elementwise kernels, portable C: the reference for the SIMD
 * versions, which must write the same bytes. Contracts: kernels_q8.h. */
#include "kernels/kernels_q8.h"

void cx_q8_dqadd_ukernel__scalar(size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const cx_q8_dq_params *p)
{
    for (size_t c = 0; c < n; c++) y[c] = cx_q8_dqadd1(a[c], b[c], p);
}

void cx_q8_dqavg_ukernel__scalar(size_t n, size_t ks, const uint8_t *const *in, uint8_t *y, const cx_q8_dq_params *p)
{
    for (size_t c = 0; c < n; c++) y[c] = cx_q8_dqavg1(ks, in, c, p);
}
