/* cortex-convert: PyTorch checkpoint -> .ctx, and int8 quantization
 * (see CONTRACT.md, docs/format.md, docs/int8.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "models/convert.h"
#include "models/models.h"

static const char USAGE[] =
    "usage: cortex-convert SRC.pth --arch ARCH [--alpha A] [--labels FILE] -o OUT.ctx [--quiet]\n"
    "       cortex-convert SRC.pth --arch ARCH --int8 --calib CALIB.npy [--calib-method M] -o OUT.ctx\n"
    "       cortex-convert IN.ctx --int8 --calib CALIB.npy [--calib-method M] -o OUT.ctx\n"
    "  SRC.pth: a torch.save'd state_dict (or a dict holding one under 'state_dict' or 'model').\n"
    "  --labels FILE: one class name per line, stored in the model for `cortex classify`.\n"
    "  --int8: post-training int8 quantization calibrated on CALIB.npy, float32 (N,3,H,W) or\n"
    "          (N,3,T,H,W) normalised inputs; IN.ctx: an fp32 model made by cortex-convert.\n"
    "  --calib-method minmax|percentile[:P]|mse (default mse; percentile default P 99.99)\n"
    "  --calib-batch N (images per calibration run, default 4), --threads N (calibration threads),\n"
    "  --fp32-stem (keep the first conv fp32; by default it is int8 too, see docs/int8.md).\n";

int main(int argc, char **argv)
{
    const char *src = NULL, *out = NULL;
    /* progress goes to stdout: on failure stderr holds only the error line */
    cx_convert_opts o = { .alpha = -1, .progress = stdout, .quant = cx_quant_opts_default() };
    int int8 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { o.progress = NULL; continue; }
        if (!strcmp(a, "--int8")) { int8 = 1; continue; }
        if (!strcmp(a, "--fp32-stem")) { o.quant.fp32_stem = true; continue; }
        if (!strcmp(a, "--arch") || !strcmp(a, "--alpha") || !strcmp(a, "--labels") || !strcmp(a, "-o") ||
            !strcmp(a, "--output") || !strcmp(a, "--calib") || !strcmp(a, "--calib-method") ||
            !strcmp(a, "--calib-batch") || !strcmp(a, "--threads")) {
            if (!v) return cli_usage(USAGE, "%s needs a value", a);
            i++;
            long n;
            if (!strcmp(a, "--arch")) o.arch = v;
            else if (!strcmp(a, "--labels")) o.labels_path = v;
            else if (!strcmp(a, "--calib")) o.calib_path = v;
            else if (!strcmp(a, "--calib-method")) {
                if (cx_calib_method_parse(v, &o.quant.method, &o.quant.percentile))
                    return cli_usage(USAGE, "--calib-method: '%s' is not minmax, percentile, percentile:P (50 < P <= 100) or mse", v);
            } else if (!strcmp(a, "--calib-batch")) {
                if (!cli_int(v, 1, 4096, &n)) return cli_usage(USAGE, "--calib-batch: '%s' is not a number in 1..4096", v);
                o.quant.batch = (int)n;
            } else if (!strcmp(a, "--threads")) {
                if (!cli_int(v, 1, 1024, &n)) return cli_usage(USAGE, "--threads: '%s' is not a number in 1..1024", v);
                o.quant.threads = (int)n;
            } else if (!strcmp(a, "--alpha")) {
                if (!cli_double(v, &o.alpha) || o.alpha < 0 || o.alpha >= 1)
                    return cli_usage(USAGE, "--alpha: '%s' is not a number in [0, 1)", v);
            } else out = v;
            continue;
        }
        if (a[0] == '-' && a[1]) return cli_usage(USAGE, "unknown option '%s'", a);
        if (src) return cli_usage(USAGE, "unexpected argument '%s'", a);
        src = a;
    }
    if (!src) return cli_usage(USAGE, "missing SRC.pth");
    if (int8 && !o.calib_path) return cli_usage(USAGE, "--int8 needs --calib CALIB.npy (calibration inputs)");
    if (!int8 && o.calib_path) return cli_usage(USAGE, "--calib is only used with --int8");
    int isctx = cx_file_is_ctx(src);
    if (isctx == 1 && !int8) return cli_usage(USAGE, "%s is already a .ctx model; converting one needs --int8", src);
    if (isctx != 1 && !o.arch) return cli_usage(USAGE, "missing --arch (one of: %s)", cx_arch_names());
    if (o.arch && !cx_arch_find(o.arch)) return cli_usage(USAGE, "unknown --arch '%s' (one of: %s)", o.arch, cx_arch_names());
    if (!out) return cli_usage(USAGE, "missing -o OUT.ctx");
    /* the writer renames a temporary file over OUT: never over a device node
     * (as root, "-o /dev/null" would replace /dev/null with a plain file) */
    struct stat sb;
    if (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_fail("%s: exists and is not a regular file", out);
    char err[900];
    cortex_status st = int8 ? cx_convert_int8(src, out, &o, err, sizeof err) : cx_convert_pth(src, out, &o, err, sizeof err);
    if (st != CORTEX_OK) return cli_fail("%s", err);
    return 0;
}
