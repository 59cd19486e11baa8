/* cortex-convert's pipeline: read the checkpoint, run the arch description in
 * CONVERT mode (checks keys and shapes, folds BN), add metadata, write. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ctx.h"
#include "io/npy.h"
#include "io/pth.h"
#include "models/convert.h"
#include "models/models.h"

typedef struct prog { FILE *f; int total; double t0; } prog;

static void on_conv(void *ctx, int done)
{
    prog *p = ctx;
    if (!p->f) return;
    if (isatty(fileno(p->f)))
        fprintf(p->f, "\rfolding BatchNorm: %d layers", done);
    else if (done % 50 == 0)
        fprintf(p->f, "folding BatchNorm: %d layers\n", done);
}

static cortex_status read_labels(const char *path, int n, cx_ctx_writer *w, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cx_errf(err, errlen, CORTEX_ERR_IO, "%s: %s", path, strerror(errno));
    char **lab = calloc((size_t)n + 1, sizeof *lab);
    char line[4096];
    int cnt = 0;
    cortex_status st = lab ? CORTEX_OK : CORTEX_ERR_NOMEM;
    while (st == CORTEX_OK && fgets(line, sizeof line, f)) {
        size_t L = strlen(line);
        if (L == sizeof line - 1 && line[L - 1] != '\n') {
            st = cx_errf(err, errlen, CORTEX_ERR_FORMAT, "%s: line %d is longer than 4095 bytes", path, cnt + 1);
            break;
        }
        while (L && (line[L - 1] == '\n' || line[L - 1] == '\r')) line[--L] = 0;
        if (L == 0 && feof(f)) break;
        if (memchr(line, 0, L)) { st = cx_errf(err, errlen, CORTEX_ERR_FORMAT, "%s: NUL byte on line %d", path, cnt + 1); break; }
        if (cnt >= n) { cnt++; continue; }
        if (!(lab[cnt++] = cx_strdup(line))) st = CORTEX_ERR_NOMEM;
    }
    fclose(f);
    if (st == CORTEX_OK && cnt != n)
        st = cx_errf(err, errlen, CORTEX_ERR_SHAPE, "%s: %d labels, but the model has %d classes", path, cnt, n);
    if (st == CORTEX_OK) st = cx_ctx_writer_set_str_array(w, "labels", (size_t)n, (const char *const *)lab);
    for (int i = 0; lab && i < n; i++) free(lab[i]);
    free(lab);
    return st;
}

/* Runs the arch over a state_dict; on success *wout holds the .ctx to write.
 * name: what errors call the source. */
static cortex_status convert_dict(const cx_tdict *sd, const char *name, const cx_convert_opts *o,
                                  cx_ctx_writer **wout, char *err, size_t errlen)
{
    *wout = NULL;
    const cx_arch *a = cx_arch_find(o->arch);
    if (!a) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "unknown arch '%s' (known: %s)",
                           o->arch ? o->arch : "(none)", cx_arch_names());
    prog p = { o->progress, 0, cx_now() };
    cortex_status st = CORTEX_OK;
    cx_ctx_writer *w = cx_ctx_writer_new();
    cx_graph g = { 0 };
    g.spatial = a->spatial;
    cx_builder b;
    cx_builder_init(&b, CX_BUILD_CONVERT, &g);
    b.sd = sd;
    b.w = w;
    b.progress = on_conv;
    b.progress_ctx = &p;
    b.alpha = o->alpha;
    if (!w) { st = CORTEX_ERR_NOMEM; goto out; }
    int y = a->build(&b, a);
    st = cx_b_finish(&b, y);
    if (p.f && isatty(fileno(p.f))) fprintf(p.f, "\n");
    if (st != CORTEX_OK) { cx_errf(err, errlen, st, "%s: %s", name, b.err); goto out; }
    int classes = g.val_c[y];
    if (p.f) fprintf(p.f, "folded %d layers (%s, %d classes, %llu parameters)\n", b.convs_done, a->name, classes, (unsigned long long)b.params);
    if ((st = cx_ctx_writer_set_str(w, "arch", a->name)) ||
        (st = cx_ctx_writer_set_str(w, "dtype", "float32")) ||
        (st = cx_ctx_writer_set_i64(w, "num_classes", classes)) ||
        (st = cx_ctx_writer_set_str(w, "input_layout", a->spatial == 3 ? "NCTHW" : "NCHW")) ||
        (st = cx_ctx_writer_set_i64(w, "bn_folded", 1)) ||
        (st = cx_ctx_writer_set_str(w, "producer", "cortex-convert 0.1")))
        goto out;
    if (b.alpha_meta >= 0 && (st = cx_ctx_writer_set_f64(w, "alpha", b.alpha_meta))) goto out;
    if (o->labels_path && (st = read_labels(o->labels_path, classes, w, err, errlen)) != CORTEX_OK) goto out;
    *wout = w;
    w = NULL;
out:
    if (st == CORTEX_ERR_NOMEM) cx_errf(err, errlen, st, "%s: out of memory", name);
    cx_builder_free(&b);
    cx_graph_free(&g);
    cx_ctx_writer_free(w);
    return st;
}

static cortex_status convert(const char *src, const cx_convert_opts *o, cx_ctx_writer **wout,
                             char *err, size_t errlen)
{
    *wout = NULL;
    if (!cx_arch_find(o->arch))
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "unknown arch '%s' (known: %s)",
                       o->arch ? o->arch : "(none)", cx_arch_names());
    double t0 = cx_now();
    cx_tdict sd = { 0 };
    char e[400];
    if (o->progress) fprintf(o->progress, "reading %s\n", src);
    cortex_status st = cx_pth_read_file(src, &sd, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", src, e);
    size_t floats = 0;
    for (size_t i = 0; i < sd.count; i++) floats += sd.items[i].numel;
    if (o->progress)
        fprintf(o->progress, "read %zu tensors, %.1f M values in %.2f s\n", sd.count, floats / 1e6, cx_now() - t0);
    st = convert_dict(&sd, src, o, wout, err, errlen);
    cx_tdict_free(&sd);
    return st;
}

cortex_status cx_convert_tdict_to_memory(const cx_tdict *sd, const cx_convert_opts *o, void **data,
                                         size_t *size, char *err, size_t errlen)
{
    cx_ctx_writer *w;
    cortex_status st = convert_dict(sd, "<state_dict>", o, &w, err, errlen);
    if (st != CORTEX_OK) return st;
    char e[400];
    st = cx_ctx_writer_to_memory(w, data, size, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    return CORTEX_OK;
}

cortex_status cx_convert_pth(const char *src, const char *dst, const cx_convert_opts *o,
                             char *err, size_t errlen)
{
    cx_ctx_writer *w;
    cortex_status st = convert(src, o, &w, err, errlen);
    if (st != CORTEX_OK) return st;
    double t0 = cx_now();
    char e[400];
    st = cx_ctx_writer_save(w, dst, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", dst, e);
    if (o->progress) fprintf(o->progress, "wrote %s in %.2f s\n", dst, cx_now() - t0);
    return CORTEX_OK;
}

cortex_status cx_convert_pth_to_memory(const char *src, const cx_convert_opts *o, void **data,
                                       size_t *size, char *err, size_t errlen)
{
    cx_ctx_writer *w;
    cortex_status st = convert(src, o, &w, err, errlen);
    if (st != CORTEX_OK) return st;
    char e[400];
    st = cx_ctx_writer_to_memory(w, data, size, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    return CORTEX_OK;
}

/* ------------------------------------------------------------------ int8 */

int cx_file_is_ctx(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char m[4] = { 0 };
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && m[0] == 'C' && m[1] == 'T' && m[2] == 'X' && m[3] == 'F';
}

static cortex_status convert_int8(const char *src, const cx_convert_opts *o, cx_ctx_writer **wout,
                                  char *err, size_t errlen)
{
    *wout = NULL;
    if (!o->calib_path) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "int8 conversion needs calibration data (--calib)");
    char e[600];
    cx_npy cal = { 0 };
    cortex_status st = cx_npy_read_file(o->calib_path, &cal, e, sizeof e);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", o->calib_path, e);
    if (cal.ndim != 4 && cal.ndim != 5) {
        cx_npy_free(&cal);
        return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "%s: calibration data must be (N,3,H,W) or (N,3,T,H,W), got %d dimensions",
                       o->calib_path, cal.ndim);
    }
    if (cal.numel == 0) {
        cx_npy_free(&cal);
        return cx_errf(err, errlen, CORTEX_ERR_SHAPE, "%s: calibration data holds no images", o->calib_path);
    }
    void *buf = NULL;
    size_t size = 0;
    cx_ctx_file *f = NULL;
    int isctx = cx_file_is_ctx(src);
    if (isctx < 0) st = cx_errf(err, errlen, CORTEX_ERR_IO, "%s: %s", src, strerror(errno));
    else if (isctx) {
        st = cx_ctx_open_file(src, &f, e, sizeof e);
        if (st != CORTEX_OK) cx_errf(err, errlen, st, "%s: %s", src, e);
        else if (o->arch && cx_ctx_get_str(f, "arch") && strcmp(o->arch, cx_ctx_get_str(f, "arch")) != 0)
            st = cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "%s: the model is a %s, not --arch %s", src,
                         cx_ctx_get_str(f, "arch"), o->arch);
    } else {
        st = cx_convert_pth_to_memory(src, o, &buf, &size, err, errlen);
        if (st == CORTEX_OK) {
            st = cx_ctx_open_memory(buf, size, &f, e, sizeof e);
            if (st != CORTEX_OK) cx_errf(err, errlen, st, "%s: %s", src, e);
        }
    }
    if (st == CORTEX_OK) {
        cx_quant_opts q = o->quant;
        q.progress = o->progress;
        if (o->progress)
            fprintf(o->progress, "calibrating on %s: %lld images\n", o->calib_path, (long long)cal.shape[0]);
        e[0] = 0;
        st = cx_quantize_ctx(f, cal.data, cal.shape, cal.ndim, o->calib_path, &q, wout, e, sizeof e);
        if (st != CORTEX_OK) {
            /* calibration-data errors already name the file; others concern the model */
            if (strncmp(e, o->calib_path, strlen(o->calib_path)) == 0) cx_errf(err, errlen, st, "%s", e);
            else cx_errf(err, errlen, st, "%s: %s", src, e);
        }
    }
    cx_ctx_close(f);
    free(buf);
    cx_npy_free(&cal);
    return st;
}

cortex_status cx_convert_int8(const char *src, const char *dst, const cx_convert_opts *o, char *err, size_t errlen)
{
    cx_ctx_writer *w;
    cortex_status st = convert_int8(src, o, &w, err, errlen);
    if (st != CORTEX_OK) return st;
    double t0 = cx_now();
    char e[400];
    st = cx_ctx_writer_save(w, dst, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "%s: %s", dst, e);
    if (o->progress) fprintf(o->progress, "wrote %s (int8) in %.2f s\n", dst, cx_now() - t0);
    return CORTEX_OK;
}

cortex_status cx_convert_int8_to_memory(const char *src, const cx_convert_opts *o, void **data, size_t *size,
                                        char *err, size_t errlen)
{
    cx_ctx_writer *w;
    cortex_status st = convert_int8(src, o, &w, err, errlen);
    if (st != CORTEX_OK) return st;
    char e[400];
    st = cx_ctx_writer_to_memory(w, data, size, e, sizeof e);
    cx_ctx_writer_free(w);
    if (st != CORTEX_OK) return cx_errf(err, errlen, st, "<memory>: %s", e);
    return CORTEX_OK;
}
