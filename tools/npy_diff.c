/* npy-diff A.npy B.npy [TOL]: compares two float32 arrays of the same shape and
 * prints max|A-B| / max|B|; exit 0 if within TOL (default 1e-4), 1 otherwise.
 * Used by `make demo` and the parity scripts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "io/npy.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) return cli_usage("usage: npy-diff A.npy B.npy [TOL]\n", "need two files");
    double tol = 1e-4;
    if (argc == 4 && (!cli_double(argv[3], &tol) || tol < 0)) return cli_usage("usage: npy-diff A.npy B.npy [TOL]\n", "bad TOL '%s'", argv[3]);
    cx_npy a = { 0 }, b = { 0 };
    char err[512];
    if (cx_npy_read_file(argv[1], &a, err, sizeof err) != CORTEX_OK) return cli_fail("%s: %s", argv[1], err);
    if (cx_npy_read_file(argv[2], &b, err, sizeof err) != CORTEX_OK) { cx_npy_free(&a); return cli_fail("%s: %s", argv[2], err); }
    int same = a.ndim == b.ndim;
    for (int i = 0; same && i < a.ndim; i++) same = a.shape[i] == b.shape[i];
    if (!same) { cx_npy_free(&a); cx_npy_free(&b); return cli_fail("%s: shape differs from %s", argv[1], argv[2]); }
    double md = 0, mb = 0;
    for (size_t i = 0; i < a.numel; i++) {
        double d = fabs((double)a.data[i] - b.data[i]);
        if (isnan(d)) d = INFINITY;
        md = d > md ? d : md;
        mb = fabs(b.data[i]) > mb ? fabs(b.data[i]) : mb;
    }
    double rel = mb > 0 ? md / mb : md;
    printf("max|a-b| = %.3g, max|b| = %.3g, relative %.3g (tolerance %.1g): %s\n", md, mb, rel, tol, rel <= tol ? "PASS" : "FAIL");
    cx_npy_free(&a);
    cx_npy_free(&b);
    return rel <= tol ? 0 : 1;
}
