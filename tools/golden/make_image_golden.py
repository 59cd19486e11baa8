#!/usr/bin/python3
"""Makes the image-preprocessing goldens in tests/data/image/.

Run from the repo root with Debian's python3 (python3-pil, python3-numpy,
python3-torchvision):  /usr/bin/python3 tools/golden/make_image_golden.py

Writes a few tiny deterministic images and, for each, the output of
torchvision's ImageNet eval transform on the PIL image,

    Resize(R) -> CenterCrop(C) -> ToTensor() -> Normalize(mean, std)

as float32 CHW .npy, at scaled-down sizes (R, C small) so the files stay
small, plus the real 256/224 on a small upscaled image and on a larger
downscaled one (stored subsampled every 8th pixel, [:, ::8, ::8]). For JPEGs it
also stores PIL's decoded RGB8 pixels (*.rgb, raw h*w*3 bytes), so the test can
check the resampler on exactly PIL's pixels, apart from decoder differences.

tests/data/image/golden.txt lists one case a line:
    <image> <resize> <crop> <expected.npy> <stride> <pil_rgb or ->
"""
import os
import sys

import numpy as np
from PIL import Image
import torchvision.transforms as T

OUT = "tests/data/image"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def pattern(w, h, seed, noise=6.0):
    """Smooth gradients plus a little noise and a hard edge: compresses well,
    still exercises the filter."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127 + 100 * np.sin(x / 3.0 + y / 5.0)
    img = np.stack([r, g, b], axis=-1)
    img[h // 3: h // 2, w // 4: w // 2, :] = [250, 10, 30]  # hard-edged block
    img += rng.normal(0, noise, img.shape) if noise else 0
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def transform(img, resize, crop):
    t = T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(), T.Normalize(MEAN, STD)])
    return t(img).numpy().astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    images = []

    def save(name, arr, **kw):
        path = os.path.join(OUT, name)
        Image.fromarray(arr).save(path, **kw)
        images.append(name)
        return path

    save("grad_40x30.png", pattern(40, 30, 1))
    save("tall_31x50.jpg", pattern(31, 50, 2), quality=90)
    save("odd_17x23.bmp", pattern(17, 23, 3))
    save("small_12x9.png", pattern(12, 9, 4))
    save("big_400x280.png", pattern(400, 280, 5, noise=0))  # no noise: compresses
    save("square_64x64.png", pattern(64, 64, 6))
    # grayscale and RGBA PNGs: the loader forces 3 channels as convert("RGB") does
    Image.fromarray(pattern(20, 26, 7)[:, :, 1]).save(os.path.join(OUT, "gray_20x26.png"))
    rgba = np.concatenate([pattern(26, 20, 8), np.full((20, 26, 1), 128, np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, "rgba_26x20.png"))

    cases = [
        # image, resize, crop, stride
        ("grad_40x30.png", 24, 20, 1),   # downscale both axes
        ("grad_40x30.png", 30, 28, 1),   # shorter side unchanged: horizontal pass only
        ("grad_40x30.png", 64, 56, 2),   # upscale
        ("grad_40x30.png", 7, 5, 1),     # strong downscale
        ("tall_31x50.jpg", 24, 20, 1),
        ("tall_31x50.jpg", 27, 22, 1),   # odd crop offsets: Python's half-to-even rounding
        ("odd_17x23.bmp", 24, 20, 1),
        ("odd_17x23.bmp", 13, 16, 1),    # crop larger than the resized image: zero padding
        ("gray_20x26.png", 24, 20, 1),
        ("rgba_26x20.png", 24, 20, 1),
        ("square_64x64.png", 48, 33, 1), # equal sides
        ("small_12x9.png", 256, 224, 8), # real sizes, upscaled
        ("big_400x280.png", 256, 224, 8), # real sizes, downscaled
    ]
    lines = []
    for name, resize, crop, stride in cases:
        img = Image.open(os.path.join(OUT, name)).convert("RGB")
        exp = transform(img, resize, crop)[:, ::stride, ::stride]
        exp = np.ascontiguousarray(exp, dtype="<f4")
        base = os.path.splitext(name)[0]
        npy = f"{base}_r{resize}_c{crop}.npy"
        np.save(os.path.join(OUT, npy), exp)
        rgb = "-"
        if name.endswith(".jpg"):
            rgb = base + ".rgb"
            with open(os.path.join(OUT, rgb), "wb") as f:
                f.write(np.asarray(img, dtype=np.uint8).tobytes())
        lines.append(f"{name} {resize} {crop} {npy} {stride} {rgb}")
    with open(os.path.join(OUT, "golden.txt"), "w") as f:
        f.write("# image resize crop expected.npy stride pil_rgb  (made by tools/golden/make_image_golden.py)\n")
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(lines)} cases to {OUT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
