#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/kernels.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cortex: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cortex: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage, stderr);
    return 2;
}

int cli_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return 0;
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int cli_double(const char *s, double *out)
{
    if (!s || !*s) return 0;
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || *e || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

int cli_shape(const char *s, int64_t *shape, int max)
{
    int r = 0;
    while (s && *s) {
        if (r == max) return -1;
        char *e;
        errno = 0;
        long long v = strtoll(s, &e, 10);
        if (errno || e == s || v <= 0 || v > (1 << 20)) return -1;
        shape[r++] = v;
        if (*e == 'x' || *e == 'X') s = e + 1;
        else if (*e == 0) return r;
        else return -1;
    }
    return -1;
}

int cli_isa_name(const char *s)
{
    return s && (!strcmp(s, "auto") || !strcmp(s, "scalar") || !strcmp(s, "avx2") || !strcmp(s, "avx512"));
}

int cli_check_isa(const char *isa)
{
    char err[256];
    if (!cx_kernels_select(isa, err, sizeof err))
        return cli_fail("%s: %s", isa && *isa && strcmp(isa, "auto") ? "--isa" : "CORTEX_ISA", err);
    if (cx_blocking_env_check(err, sizeof err)) return cli_fail("%s", err);
    return 0;
}

int cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
