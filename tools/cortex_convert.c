/* cortex-convert: PyTorch checkpoint -> .ctx (see CONTRACT.md, docs/format.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "models/convert.h"
#include "models/models.h"

static const char USAGE[] =
    "usage: cortex-convert SRC.pth --arch ARCH [--alpha A] [--labels FILE] -o OUT.ctx [--quiet]\n"
    "  SRC.pth: a torch.save'd state_dict (or a dict holding one under 'state_dict' or 'model').\n"
    "  --labels FILE: one class name per line, stored in the model for `cortex classify`.\n";

int main(int argc, char **argv)
{
    const char *src = NULL, *out = NULL;
    cx_convert_opts o = { .alpha = -1, .progress = stderr };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(USAGE, stdout); return 0; }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { o.progress = NULL; continue; }
        if (!strcmp(a, "--arch") || !strcmp(a, "--alpha") || !strcmp(a, "--labels") || !strcmp(a, "-o") ||
            !strcmp(a, "--output") || !strcmp(a, "--calib")) {
            if (!v) return cli_usage(USAGE, "%s needs a value", a);
            i++;
            if (!strcmp(a, "--arch")) o.arch = v;
            else if (!strcmp(a, "--labels")) o.labels_path = v;
            else if (!strcmp(a, "--calib")) return cli_usage(USAGE, "int8 conversion (--calib) is not implemented yet");
            else if (!strcmp(a, "--alpha")) {
                if (!cli_double(v, &o.alpha) || o.alpha < 0 || o.alpha >= 1)
                    return cli_usage(USAGE, "--alpha: '%s' is not a number in [0, 1)", v);
            } else out = v;
            continue;
        }
        if (!strcmp(a, "--int8")) return cli_usage(USAGE, "--int8 is not implemented yet");
        if (a[0] == '-' && a[1]) return cli_usage(USAGE, "unknown option '%s'", a);
        if (src) return cli_usage(USAGE, "unexpected argument '%s'", a);
        src = a;
    }
    if (!src) return cli_usage(USAGE, "missing SRC.pth");
    if (!o.arch) return cli_usage(USAGE, "missing --arch (one of: %s)", cx_arch_names());
    if (!cx_arch_find(o.arch)) return cli_usage(USAGE, "unknown --arch '%s' (one of: %s)", o.arch, cx_arch_names());
    if (!out) return cli_usage(USAGE, "missing -o OUT.ctx");
    char err[700];
    cortex_status st = cx_convert_pth(src, out, &o, err, sizeof err);
    if (st != CORTEX_OK) return cli_fail("%s", err);
    return 0;
}
