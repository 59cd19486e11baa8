/* Peak probe of the portable table: 8 independent multiply-add chains in
 * plain C (what the compiler makes of them without ISA flags). */
#include "kernels/kernels.h"
#include "runtime/common.h"

double cx_f32_peak__scalar(double seconds)
{
    float a[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    const float b = 0.999999f, c = 1e-7f;
    long iters = 0;
    double t0 = cx_now(), t;
    do {
        for (int r = 0; r < 8192; r++)
            for (int i = 0; i < 8; i++) a[i] = a[i] * b + c;
        iters += 8192;
        t = cx_now() - t0;
    } while (t < seconds);
    volatile float sink = a[0] + a[7];
    (void)sink;
    return (double)iters * 8 * 2 / t / 1e9;
}
