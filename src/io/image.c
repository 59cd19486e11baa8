/* Image loading and torchvision's ImageNet eval preprocessing:
 *
 *   Resize(resize)        shorter side to `resize`, the other int(resize*long/short),
 *                         PIL bilinear (a triangle filter whose support grows with
 *                         the downscale factor, i.e. antialiased), in PIL's 8-bit
 *                         fixed point with an 8-bit image between the horizontal
 *                         and the vertical pass;
 *   CenterCrop(crop)      offsets int(round((dim - crop) / 2)), Python rounding
 *                         (half to even); zero padding when crop > dim;
 *   ToTensor, Normalize   v / 255, then (v - mean) / std, in float32.
 *
 * Only the output pixels inside the crop window are resampled: each output
 * pixel depends only on its own filter taps, so this equals resizing the whole
 * image and then cropping. */
#include "io/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* stb_image from Debian's libstb-dev, compiled here with only the decoders we
 * need and a dimension cap (we also check sizes with stbi_info before decoding). */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 16)   /* stb's own cap, above ours: ours gives the message */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#define MAX_SIDE      16384
#define MAX_PIXELS    100000000ll        /* 100 MP */
#define MAX_FILE      (512ll << 20)      /* compressed input */
#define PREC_BITS     22                 /* PIL's fixed point for 8-bit images: 32 - 8 - 2 */

static const float MEAN[3] = { 0.485f, 0.456f, 0.406f };
static const float STD[3] = { 0.229f, 0.224f, 0.225f };

static const char *errno_text(int e, char *buf, size_t n)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(e, buf, n);
#else
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "errno %d", e);
    return buf;
#endif
}

/* ------------------------------------------------------------------ resampling */

/* Filter taps of one axis, for the output indices [o0, o1) of an in -> out
 * resize: output o reads inputs first[o-o0] .. first+count-1 with weights
 * w[(o-o0)*ksize + j] (fixed point, PREC_BITS). The weights are computed as
 * PIL computes them: triangle filter of support max(scale,1), centred at
 * (o + 0.5) * scale, normalised to sum 1 in double, then rounded to fixed point. */
typedef struct {
    int ksize;
    int *first, *count;
    int32_t *w;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->w);
}

static double triangle(double x)
{
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static cortex_status make_taps(int in, int out, int o0, int o1, taps *t, char *err, size_t errlen)
{
    double scale = (double)in / out;
    double fscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * fscale;
    int ksize = (int)ceil(support) * 2 + 1;
    int n = o1 - o0;
    memset(t, 0, sizeof *t);
    t->ksize = ksize;
    t->first = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->first);
    t->count = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->count);
    t->w = calloc((size_t)(n > 0 ? n : 1) * (size_t)ksize, sizeof *t->w);
    double *dw = malloc((size_t)ksize * sizeof *dw);
    if (!t->first || !t->count || !t->w || !dw) {
        free(dw);
        taps_free(t);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory for resampling taps");
    }
    double inv = 1.0 / fscale;
    for (int o = o0; o < o1; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > in) hi = in;
        int cnt = hi - lo;
        double sum = 0.0;
        for (int j = 0; j < cnt; j++) {
            dw[j] = triangle((j + lo - center + 0.5) * inv);
            sum += dw[j];
        }
        int32_t *wk = t->w + (size_t)(o - o0) * (size_t)ksize;
        for (int j = 0; j < cnt; j++) {
            double v = sum != 0.0 ? dw[j] / sum : dw[j];
            wk[j] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC_BITS) : 0.5 + v * (1 << PREC_BITS));
        }
        t->first[o - o0] = lo;
        t->count[o - o0] = cnt;
    }
    free(dw);
    return CORTEX_OK;
}

/* Accumulator start (rounding) and the clamp back to 8 bits. The bilinear taps
 * are non-negative and sum to ~2^22, so 255 * sum + 2^21 stays below 2^31. */
static inline uint8_t clip8(int32_t acc)
{
    int32_t v = acc >> PREC_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Resizes rgb (w x h) to (nw x nh) and returns the rectangle of output pixels
 * [x0,x1) x [y0,y1) as packed RGB8 (x1-x0 wide). */
static cortex_status resize_window(const uint8_t *rgb, int w, int h, int nw, int nh, int x0, int x1, int y0, int y1,
                                   uint8_t **outp, char *err, size_t errlen)
{
    int ow = x1 - x0, oh = y1 - y0;
    bool need_h = nw != w, need_v = nh != h;
    cortex_status st;
    taps th = { 0 }, tv = { 0 };
    uint8_t *tmp = NULL, *out = NULL;

    out = malloc((size_t)ow * (size_t)oh * 3 + 1);
    if (!out) return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory");

    /* rows of the source the vertical pass reads */
    int r0 = y0, r1 = y1;
    if (need_v) {
        if ((st = make_taps(h, nh, y0, y1, &tv, err, errlen))) goto fail;
        r0 = tv.first[0];
        r1 = tv.first[oh - 1] + tv.count[oh - 1];
        for (int i = 0; i < oh; i++) {   /* monotone in theory; be safe */
            if (tv.first[i] < r0) r0 = tv.first[i];
            if (tv.first[i] + tv.count[i] > r1) r1 = tv.first[i] + tv.count[i];
        }
    }
    int nr = r1 - r0;

    /* horizontal pass: rows r0..r1 of the source, output columns x0..x1 */
    const uint8_t *hsrc;     /* nr rows of ow pixels */
    size_t hstride;
    if (need_h) {
        if ((st = make_taps(w, nw, x0, x1, &th, err, errlen))) goto fail;
        tmp = malloc((size_t)nr * (size_t)ow * 3 + 1);
        if (!tmp) { st = cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory"); goto fail; }
        for (int r = 0; r < nr; r++) {
            const uint8_t *src = rgb + (size_t)(r0 + r) * (size_t)w * 3;
            uint8_t *dst = tmp + (size_t)r * (size_t)ow * 3;
            for (int x = 0; x < ow; x++) {
                const int32_t *k = th.w + (size_t)x * (size_t)th.ksize;
                const uint8_t *s = src + (size_t)th.first[x] * 3;
                int32_t a0 = 1 << (PREC_BITS - 1), a1 = a0, a2 = a0;
                for (int j = 0; j < th.count[x]; j++) {
                    a0 += s[3 * j] * k[j];
                    a1 += s[3 * j + 1] * k[j];
                    a2 += s[3 * j + 2] * k[j];
                }
                dst[3 * x] = clip8(a0);
                dst[3 * x + 1] = clip8(a1);
                dst[3 * x + 2] = clip8(a2);
            }
        }
        hsrc = tmp;
        hstride = (size_t)ow * 3;
    } else {
        hsrc = rgb + (size_t)r0 * (size_t)w * 3 + (size_t)x0 * 3;
        hstride = (size_t)w * 3;
    }

    /* vertical pass */
    for (int y = 0; y < oh; y++) {
        uint8_t *dst = out + (size_t)y * (size_t)ow * 3;
        if (!need_v) {
            memcpy(dst, hsrc + (size_t)y * hstride, (size_t)ow * 3);
            continue;
        }
        const int32_t *k = tv.w + (size_t)y * (size_t)tv.ksize;
        const uint8_t *base = hsrc + (size_t)(tv.first[y] - r0) * hstride;
        for (int x = 0; x < ow * 3; x++) {
            int32_t a = 1 << (PREC_BITS - 1);
            for (int j = 0; j < tv.count[y]; j++) a += base[(size_t)j * hstride + (size_t)x] * k[j];
            dst[x] = clip8(a);
        }
    }
    taps_free(&th);
    taps_free(&tv);
    free(tmp);
    *outp = out;
    return CORTEX_OK;
fail:
    taps_free(&th);
    taps_free(&tv);
    free(tmp);
    free(out);
    return st;
}

/* torchvision's centre-crop offset on one axis of length dim: int(round((dim -
 * crop) / 2)) with Python's round (half to even), or, when the crop is larger,
 * minus the left/top padding (crop - dim) // 2. */
static int crop_offset(int dim, int crop)
{
    if (crop > dim) return -((crop - dim) / 2);
    int d = dim - crop, half = d / 2;
    if (d % 2 == 0) return half;
    return half % 2 == 0 ? half : half + 1;   /* x.5 rounds to the even neighbour */
}

cortex_status cx_image_preprocess_rgb8(const uint8_t *rgb, int w, int h, int resize, int crop,
                                       float *out, char *err, size_t errlen)
{
    if (!rgb || !out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL image or output");
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || (long long)w * h > MAX_PIXELS)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "image size %dx%d out of range", w, h);
    if (resize < 1 || resize > MAX_SIDE || crop < 1 || crop > MAX_SIDE)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "resize %d / crop %d out of range 1..%d", resize, crop, MAX_SIDE);

    /* torchvision's _compute_resized_output_size for an int size */
    int sh = w <= h ? w : h, lg = w <= h ? h : w;
    double nl = (double)((long long)resize * lg) / sh;   /* Python: int * int / int, a float64 */
    if (nl >= (double)INT_MAX)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "image %dx%d too elongated to resize", w, h);
    int nlong = (int)nl;
    int nw = w <= h ? resize : nlong, nh = w <= h ? nlong : resize;
    if (nw < 1 || nh < 1)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "image %dx%d resizes to %dx%d", w, h, nw, nh);

    int left = crop_offset(nw, crop), top = crop_offset(nh, crop);
    /* the part of the crop window inside the resized image */
    int x0 = left < 0 ? 0 : left, x1 = left + crop > nw ? nw : left + crop;
    int y0 = top < 0 ? 0 : top, y1 = top + crop > nh ? nh : top + crop;

    uint8_t *win = NULL;
    cortex_status st = resize_window(rgb, w, h, nw, nh, x0, x1, y0, y1, &win, err, errlen);
    if (st) return st;

    size_t plane = (size_t)crop * (size_t)crop;
    int ww = x1 - x0;
    for (int c = 0; c < 3; c++) {
        float *o = out + (size_t)c * plane;
        for (int y = 0; y < crop; y++) {
            int sy = top + y;
            for (int x = 0; x < crop; x++) {
                int sx = left + x;
                uint8_t v = 0;   /* torchvision pads with 0 */
                if (sy >= y0 && sy < y1 && sx >= x0 && sx < x1)
                    v = win[((size_t)(sy - y0) * (size_t)ww + (size_t)(sx - x0)) * 3 + (size_t)c];
                float f = (float)v / 255.0f;
                o[(size_t)y * (size_t)crop + (size_t)x] = (f - MEAN[c]) / STD[c];
            }
        }
    }
    free(win);
    return CORTEX_OK;
}

/* ------------------------------------------------------------------ decoding */

static const char *sniff(const unsigned char *b, size_t n)
{
    static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return "JPEG";
    if (n >= 8 && memcmp(b, png, 8) == 0) return "PNG";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
    return NULL;
}

/* stb's BMP reader pads a short file with zero bytes (black pixels) instead of
 * failing, so a truncated uncompressed BMP would load. Its pixel rows must all
 * be in the file (PIL rejects such files too: "image file is truncated").
 * Called after stbi_info accepted the header, so w, h are 1..MAX_SIDE. */
static bool bmp_truncated(const unsigned char *b, size_t n, int w, int h, unsigned long long *need)
{
    if (n < 30) return false;
    uint32_t off = (uint32_t)b[10] | (uint32_t)b[11] << 8 | (uint32_t)b[12] << 16 | (uint32_t)b[13] << 24;
    uint32_t hsz = (uint32_t)b[14] | (uint32_t)b[15] << 8 | (uint32_t)b[16] << 16 | (uint32_t)b[17] << 24;
    unsigned bpp, comp = 0;
    if (hsz == 12) {
        bpp = (unsigned)(b[24] | b[25] << 8);
    } else {
        if (n < 34) return false;
        bpp = (unsigned)(b[28] | b[29] << 8);
        comp = (unsigned)(b[30] | b[31] << 8 | b[32] << 16 | (unsigned)b[33] << 24);
    }
    if (comp != 0 && comp != 3) return false; /* 0 = BI_RGB, 3 = BI_BITFIELDS: fixed-size rows */
    unsigned long long stride = ((unsigned long long)w * bpp + 31) / 32 * 4;
    *need = off + stride * (unsigned long long)h;
    return *need > n;
}

/* Decodes an in-memory image to RGB8. */
static cortex_status decode(const unsigned char *buf, size_t n, uint8_t **rgb, int *w, int *h, char *err, size_t errlen)
{
    const char *fmt = sniff(buf, n);
    if (!fmt) return cx_errf(err, errlen, CORTEX_ERR_FORMAT, "not a JPEG, PNG or BMP image");
    if (n > (size_t)INT_MAX) return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "file too large");
    /* stbi_failure_reason() is stb's error string: thread-local in this stb
     * (2.27, _Thread_local under C11), a plain global in older builds or with
     * STBI_NO_THREAD_LOCALS. Either way we read it immediately after the call
     * that failed, before any other stb call. */
    int iw, ih, ic;
    if (!stbi_info_from_memory(buf, (int)n, &iw, &ih, &ic)) {
        /* stbi_info tries every decoder and leaves the last one's reason
         * ("unknown image type"). The format's own loader runs the same header
         * checks first, failing before it allocates any pixels, and says why. */
        int dw, dh, dc;
        unsigned char *px = stbi_load_from_memory(buf, (int)n, &dw, &dh, &dc, 3);
        const char *why = stbi_failure_reason();
        if (px) {
            stbi_image_free(px);
            why = "header not understood";
        }
        if (why && strcmp(why, "too large") == 0) {
            /* stb says this above 2^16 pixels a side, and for a PNG whose
             * pixels would take over 2^30 bytes: say the size where we can */
            if (fmt[0] == 'P' && n >= 24 && memcmp(buf + 12, "IHDR", 4) == 0) {
                unsigned long pw = (unsigned long)buf[16] << 24 | (unsigned long)buf[17] << 16 | buf[18] << 8 | buf[19];
                unsigned long ph = (unsigned long)buf[20] << 24 | (unsigned long)buf[21] << 16 | buf[22] << 8 | buf[23];
                return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED,
                               "PNG image is %lux%lu; the limit is %d pixels a side and %lld pixels", pw, ph,
                               MAX_SIDE, MAX_PIXELS);
            }
            return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "%s image is over %d pixels a side (the limit is %d)",
                           fmt, 1 << 16, MAX_SIDE);
        }
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "bad %s header: %s", fmt, why ? why : "unknown error");
    }
    if (iw < 1 || ih < 1 || iw > MAX_SIDE || ih > MAX_SIDE || (long long)iw * ih > MAX_PIXELS)
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED,
                       "%s image is %dx%d; the limit is %d pixels a side and %lld pixels", fmt, iw, ih, MAX_SIDE,
                       MAX_PIXELS);
    unsigned long long need;
    if (fmt[0] == 'B' && bmp_truncated(buf, n, iw, ih, &need))
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "truncated BMP: %dx%d pixels need %llu bytes, file has %zu",
                       iw, ih, need, n);
    int dw, dh, dc;
    unsigned char *px = stbi_load_from_memory(buf, (int)n, &dw, &dh, &dc, 3);
    if (!px) {
        const char *why = stbi_failure_reason();
        if (why && strcmp(why, "outofmem") == 0)
            return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory decoding a %dx%d %s", iw, ih, fmt);
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "cannot decode %s: %s", fmt, why ? why : "unknown error");
    }
    if (dw != iw || dh != ih) {
        stbi_image_free(px);
        return cx_errf(err, errlen, CORTEX_ERR_CORRUPT, "%s size changed between header (%dx%d) and decode (%dx%d)",
                       fmt, iw, ih, dw, dh);
    }
    *rgb = px;
    *w = dw;
    *h = dh;
    return CORTEX_OK;
}

cortex_status cx_image_load_normalized(const char *path, int resize, int crop, float *out,
                                       char *err, size_t errlen)
{
    char eb[128];
    if (!path || !out) return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "NULL path or output");
    if (resize < 1 || resize > MAX_SIDE || crop < 1 || crop > MAX_SIDE)
        return cx_errf(err, errlen, CORTEX_ERR_INVALID_ARG, "resize %d / crop %d out of range 1..%d", resize, crop, MAX_SIDE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot open: %s", errno_text(errno, eb, sizeof eb));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "cannot stat: %s", errno_text(e, eb, sizeof eb));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_IO, "not a regular file");
    }
    if (sb.st_size > MAX_FILE) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_UNSUPPORTED, "image file of %lld bytes is over the %lld-byte limit",
                       (long long)sb.st_size, MAX_FILE);
    }
    size_t n = (size_t)sb.st_size, got = 0;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return cx_errf(err, errlen, CORTEX_ERR_NOMEM, "out of memory reading %zu bytes", n);
    }
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return cx_errf(err, errlen, CORTEX_ERR_IO, "read failed: %s", errno_text(e, eb, sizeof eb));
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    close(fd);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    cortex_status st = decode(buf, got, &rgb, &w, &h, err, errlen);
    free(buf);
    if (st) return st;
    st = cx_image_preprocess_rgb8(rgb, w, h, resize, crop, out, err, errlen);
    stbi_image_free(rgb);
    return st;
}
