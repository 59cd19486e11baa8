/* Image preprocessing vs torchvision goldens (tests/data/image/, made by
 * tools/golden/make_image_golden.py): Resize -> CenterCrop -> ToTensor ->
 * Normalize on PIL images. PNG and BMP decode losslessly, so those must match
 * to float rounding; JPEG decoders differ (stb_image vs libjpeg), so the JPEG
 * files get the 2/255/0.225 tolerance and the resampler is checked exactly on
 * PIL's own decoded pixels (*.rgb). Then corrupt, truncated, oversized and
 * non-image files, each with its status. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cxtest.h"
#include "io/image.h"
#include "io/npy.h"

#define ERRLEN 512
#define DIR "tests/data/image/"
#define EXACT_TOL 2e-6                    /* float rounding only */
#define JPEG_TOL (2.0 / 255.0 / 0.225 + 1e-6)   /* two 8-bit levels after normalisation (+ float rounding) */

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repo root)", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* max |got[:, ::stride, ::stride] - exp| */
static double max_diff(const float *got, int crop, int stride, const cx_npy *exp)
{
    ck_assert_int_eq(exp->ndim, 3);
    int eh = (int)exp->shape[1], ew = (int)exp->shape[2];
    ck_assert_int_eq(exp->shape[0], 3);
    ck_assert_int_eq(eh, (crop + stride - 1) / stride);
    ck_assert_int_eq(ew, (crop + stride - 1) / stride);
    double m = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < eh; y++)
            for (int x = 0; x < ew; x++) {
                float g = got[(size_t)c * crop * crop + (size_t)(y * stride) * crop + (size_t)(x * stride)];
                float e = exp->data[((size_t)c * eh + y) * ew + x];
                ck_assert(isfinite(g));
                double d = fabs((double)g - (double)e);
                if (d > m) m = d;
            }
    return m;
}

START_TEST(test_torchvision_goldens)
{
    FILE *f = fopen(DIR "golden.txt", "r");
    ck_assert_msg(f != NULL, "missing " DIR "golden.txt");
    char line[512];
    int cases = 0;
    double worst_lossless = 0, worst_jpeg = 0, worst_pil_pixels = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char img[128], npy[128], rgb[128], path[300], err[ERRLEN] = "";
        int resize, crop, stride;
        ck_assert_int_eq(sscanf(line, "%127s %d %d %127s %d %127s", img, &resize, &crop, npy, &stride, rgb), 6);
        snprintf(path, sizeof path, DIR "%s", npy);
        cx_npy exp;
        ck_assert_msg(cx_npy_read_file(path, &exp, err, sizeof err) == CORTEX_OK, "%s: %s", path, err);

        size_t n = 3 * (size_t)crop * (size_t)crop;
        cxt_buf out = cxt_buf_new(n);
        snprintf(path, sizeof path, DIR "%s", img);
        ck_assert_msg(cx_image_load_normalized(path, resize, crop, out.p, err, sizeof err) == CORTEX_OK, "%s: %s", path, err);
        ck_assert(cxt_buf_red_ok(&out));
        double d = max_diff(out.p, crop, stride, &exp);
        bool jpeg = strstr(img, ".jpg") != NULL;
        printf("  %-18s resize %3d crop %3d: max |diff| %.3g%s\n", img, resize, crop, d, jpeg ? " (stb vs libjpeg decode)" : "");
        if (jpeg) {
            ck_assert_msg(d <= JPEG_TOL, "%s r%d c%d: max diff %g > %g", img, resize, crop, d, JPEG_TOL);
            if (d > worst_jpeg) worst_jpeg = d;
        } else {
            ck_assert_msg(d <= EXACT_TOL, "%s r%d c%d: max diff %g", img, resize, crop, d);
            if (d > worst_lossless) worst_lossless = d;
        }

        if (strcmp(rgb, "-") != 0) {
            /* PIL's decoded pixels through our resampler: must match exactly */
            int w, h;
            ck_assert_int_eq(sscanf(img, "%*[a-z]_%dx%d", &w, &h), 2);
            snprintf(path, sizeof path, DIR "%s", rgb);
            size_t rn;
            unsigned char *px = slurp(path, &rn);
            ck_assert_uint_eq(rn, (size_t)w * h * 3);
            cxt_buf_poison(&out);
            ck_assert_msg(cx_image_preprocess_rgb8(px, w, h, resize, crop, out.p, err, sizeof err) == CORTEX_OK, "%s", err);
            ck_assert(cxt_buf_red_ok(&out));
            double dp = max_diff(out.p, crop, stride, &exp);
            printf("  %-18s resize %3d crop %3d: max |diff| %.3g on PIL's pixels\n", img, resize, crop, dp);
            ck_assert_msg(dp <= EXACT_TOL, "%s on PIL pixels: max diff %g", img, dp);
            if (dp > worst_pil_pixels) worst_pil_pixels = dp;
            free(px);
        }
        cxt_buf_free(&out);
        cx_npy_free(&exp);
        cases++;
    }
    fclose(f);
    ck_assert_int_ge(cases, 10);
    printf("image goldens: %d cases; max |diff| PNG/BMP %.3g, JPEG %.3g (tolerance %.3g), resampler on PIL pixels %.3g\n",
           cases, worst_lossless, worst_jpeg, JPEG_TOL, worst_pil_pixels);
}
END_TEST

START_TEST(test_geometry)
{
    char err[ERRLEN] = "";
    /* a constant image stays constant through any resize/crop/padding-free path */
    int w = 37, h = 5000;
    uint8_t *px = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h; i++) { px[3 * i] = 10; px[3 * i + 1] = 128; px[3 * i + 2] = 255; }
    cxt_buf out = cxt_buf_new(3 * 224 * 224);
    /* very elongated: the long side becomes 34594, only the crop window is computed */
    ck_assert_msg(cx_image_preprocess_rgb8(px, w, h, 256, 224, out.p, err, sizeof err) == CORTEX_OK, "%s", err);
    ck_assert(cxt_buf_red_ok(&out));
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, stdv[3] = { 0.229f, 0.224f, 0.225f };
    const int val[3] = { 10, 128, 255 };
    for (int c = 0; c < 3; c++) {
        float want = ((float)val[c] / 255.0f - mean[c]) / stdv[c];
        for (int i = 0; i < 224 * 224; i++) ck_assert_msg(out.p[c * 224 * 224 + i] == want, "c%d i%d: %g vs %g", c, i, out.p[c * 224 * 224 + i], want);
    }
    /* 1x1 image */
    ck_assert_int_eq(cx_image_preprocess_rgb8(px, 1, 1, 256, 224, out.p, err, sizeof err), CORTEX_OK);
    ck_assert(out.p[0] == ((10.0f / 255.0f) - 0.485f) / 0.229f);
    /* crop larger than the resized image: zero padding is pixel value 0 */
    cxt_buf big = cxt_buf_new(3 * 40 * 40);
    ck_assert_int_eq(cx_image_preprocess_rgb8(px, 4, 4, 8, 40, big.p, err, sizeof err), CORTEX_OK);
    ck_assert(cxt_buf_red_ok(&big));
    ck_assert(big.p[0] == (0.0f - 0.485f) / 0.229f);                 /* corner: padding */
    ck_assert(big.p[20 * 40 + 20] == (10.0f / 255.0f - 0.485f) / 0.229f);  /* centre: image */
    cxt_buf_free(&big);
    /* argument checks */
    ck_assert_int_eq(cx_image_preprocess_rgb8(NULL, 4, 4, 8, 8, out.p, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_image_preprocess_rgb8(px, 0, 4, 8, 8, out.p, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_image_preprocess_rgb8(px, 4, 4, 0, 8, out.p, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_image_preprocess_rgb8(px, 4, 4, 8, 0, out.p, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    ck_assert_int_eq(cx_image_load_normalized(DIR "grad_40x30.png", 256, 224, NULL, err, sizeof err), CORTEX_ERR_INVALID_ARG);
    cxt_buf_free(&out);
    free(px);
}
END_TEST

static char g_dir[64];

static void write_file(const char *name, const void *data, size_t n, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void expect_load(const char *path, cortex_status st, const char *msg)
{
    char err[ERRLEN] = "";
    float *out = malloc(3 * 16 * 16 * sizeof(float));
    cortex_status got = cx_image_load_normalized(path, 20, 16, out, err, sizeof err);
    ck_assert_msg(got == st, "%s: status %d, expected %d: %s", path, got, st, err);
    if (msg) ck_assert_msg(strstr(err, msg) != NULL, "%s: '%s' lacks '%s'", path, err, msg);
    free(out);
}

START_TEST(test_bad_files)
{
    strcpy(g_dir, "/tmp/cx_test_image.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    char path[160];
    size_t n;

    expect_load(DIR "no_such_image.png", CORTEX_ERR_IO, "No such file");
    expect_load(DIR, CORTEX_ERR_IO, "not a regular file");
    expect_load("Makefile", CORTEX_ERR_FORMAT, "not a JPEG, PNG or BMP image");
    write_file("empty.png", "", 0, path, sizeof path);
    expect_load(path, CORTEX_ERR_FORMAT, "not a JPEG, PNG or BMP");

    /* PNG: truncations at many lengths, garbage after the signature, huge IHDR */
    unsigned char *png = slurp(DIR "grad_40x30.png", &n);
    for (size_t len = 8; len < n; len += (len < 64 ? 1 : 97)) {
        write_file("trunc.png", png, len, path, sizeof path);
        char err[ERRLEN] = "";
        float out[3 * 16 * 16];
        cortex_status st = cx_image_load_normalized(path, 20, 16, out, err, sizeof err);
        ck_assert_msg(st == CORTEX_ERR_CORRUPT, "PNG cut at %zu: %d %s", len, st, err);
        ck_assert_msg(strstr(err, "PNG") != NULL, "%s", err);
    }
    unsigned char *g = malloc(n);
    memcpy(g, png, n);
    memset(g + 33, 0x5a, n - 33);     /* after IHDR: garbage chunks */
    write_file("garbage.png", g, n, path, sizeof path);
    expect_load(path, CORTEX_ERR_CORRUPT, "cannot decode PNG");
    memcpy(g, png, n);
    /* IHDR width/height (big-endian at 16 and 20): 12000 x 12000 = 144 MP */
    g[16] = 0; g[17] = 0; g[18] = 0x2e; g[19] = 0xe0;
    g[20] = 0; g[21] = 0; g[22] = 0x2e; g[23] = 0xe0;
    write_file("huge.png", g, n, path, sizeof path);
    expect_load(path, CORTEX_ERR_UNSUPPORTED, "12000x12000");
    /* 20000 x 1: over the per-side limit */
    g[18] = 0x4e; g[19] = 0x20; g[22] = 0; g[23] = 1;
    write_file("wide.png", g, n, path, sizeof path);
    expect_load(path, CORTEX_ERR_UNSUPPORTED, "20000x1");
    /* 100000 x 1: over stb's own cap too */
    g[17] = 0x01; g[18] = 0x86; g[19] = 0xa0;
    write_file("wider.png", g, n, path, sizeof path);
    expect_load(path, CORTEX_ERR_UNSUPPORTED, "pixels a side");
    free(g);
    free(png);

    /* BMP: header claiming 20000 x 10, and a truncated pixel array */
    unsigned char *bmp = slurp(DIR "odd_17x23.bmp", &n);
    g = malloc(n);
    memcpy(g, bmp, n);
    g[18] = 0x20; g[19] = 0x4e; g[20] = 0; g[21] = 0;    /* width 20000 (LE) */
    g[22] = 10; g[23] = 0; g[24] = 0; g[25] = 0;
    write_file("wide.bmp", g, n, path, sizeof path);
    expect_load(path, CORTEX_ERR_UNSUPPORTED, "BMP image is 20000x10");
    write_file("trunc.bmp", bmp, 40, path, sizeof path);
    expect_load(path, CORTEX_ERR_CORRUPT, "BMP");
    free(g);
    free(bmp);

    /* JPEG: cut inside the headers, and garbage in place of the scan */
    unsigned char *jpg = slurp(DIR "tall_31x50.jpg", &n);
    write_file("trunc.jpg", jpg, 100, path, sizeof path);
    expect_load(path, CORTEX_ERR_CORRUPT, "JPEG");
    write_file("tiny.jpg", jpg, 3, path, sizeof path);
    expect_load(path, CORTEX_ERR_CORRUPT, "JPEG");
    /* a JPEG cut in its entropy-coded data may still decode (stb pads the
     * stream, as libjpeg does with a warning): only require no crash */
    for (size_t len = 101; len < n; len += 53) {
        write_file("cut.jpg", jpg, len, path, sizeof path);
        char err[ERRLEN] = "";
        float out[3 * 16 * 16];
        cortex_status st = cx_image_load_normalized(path, 20, 16, out, err, sizeof err);
        ck_assert_msg(st == CORTEX_OK || st == CORTEX_ERR_CORRUPT, "JPEG cut at %zu: %d %s", len, st, err);
    }
    free(jpg);

    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("image");
    struct { const char *name; const TTest *fn; } tests[] = {
        { "torchvision_goldens", test_torchvision_goldens },
        { "geometry", test_geometry },
        { "bad_files", test_bad_files },
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, tests[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

CXT_MAIN(make_suite)
