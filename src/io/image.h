/* Image preprocessing for `cortex classify`, as torchvision's ImageNet recipe:
 * decode (stb_image from Debian's libstb-dev: JPEG/PNG/BMP), resize the shorter
 * side to 256 (bilinear, antialiased when shrinking), centre crop 224, scale to
 * [0,1], normalise by ImageNet mean/std, write CHW float32. */
#ifndef CX_IMAGE_H
#define CX_IMAGE_H
#include "runtime/common.h"

/* out: 3*crop*crop floats (CHW). resize: shorter side target (256); crop (224). */
cortex_status cx_image_load_normalized(const char *path, int resize, int crop, float *out,
                                       char *err, size_t errlen);
/* Same from decoded RGB8 pixels (h x w x 3), for tests. */
cortex_status cx_image_preprocess_rgb8(const uint8_t *rgb, int w, int h, int resize, int crop,
                                       float *out, char *err, size_t errlen);
#endif
