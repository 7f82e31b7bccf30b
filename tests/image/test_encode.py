"""alphacut.image.encode: flattening on a colour, JPEG, WebP, the mask, the format dispatch and
colour parsing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import alphacut
from alphacut.image import encode, encode_jpeg, encode_webp, flatten, parse_color


def test_flatten_and_jpeg_on_white(rng):
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    a = rgba[:, :, 3:4] / 255.0
    ref = np.clip(np.floor(rgba[:, :, :3] * a + 255 * (1 - a) + 0.5), 0, 255)
    out = flatten(rgba)
    assert np.abs(out.astype(int) - ref).max() <= 1
    red = flatten(rgba, "#ff0000")
    ref_red = np.floor(rgba[:, :, :3] * a + np.array([255, 0, 0]) * (1 - a) + 0.5)
    assert np.abs(red.astype(int) - ref_red).max() <= 1
    # JPEG: smooth content (JPEG subsamples chroma, so noise would not survive)
    yy, xx = np.mgrid[0:32, 0:48]
    smooth = np.dstack([xx * 5, yy * 7, 255 - xx * 5, np.clip(xx * 6, 0, 255)]).astype(np.uint8)
    back = np.asarray(Image.open(io.BytesIO(encode_jpeg(smooth, quality=100))))
    assert back.shape == (32, 48, 3)
    assert np.abs(back.astype(int) - flatten(smooth).astype(int)).mean() < 2
    # fully transparent → pure background colour
    clear = np.zeros((16, 16, 4), np.uint8)
    clear[:, :, :3] = 7
    back = np.asarray(Image.open(io.BytesIO(encode_jpeg(clear))))
    assert back.min() >= 250


def test_webp_lossless_and_lossy(rng):
    rgba = rng.integers(0, 256, (24, 40, 4), dtype=np.uint8)
    data = encode_webp(rgba, lossless=True)
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    visible = rgba[:, :, 3] > 0
    np.testing.assert_array_equal(back[:, :, 3], rgba[:, :, 3])
    np.testing.assert_array_equal(back[visible][:, :3], rgba[visible][:, :3])
    lo = encode_webp(rgba, quality=10)
    hi = encode_webp(rgba, quality=95)
    assert len(lo) < len(hi)
    with pytest.raises(alphacut.InputError):
        encode_webp(rgba, quality=101)


def test_encode_dispatch_and_mask(rng):
    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    m = Image.open(io.BytesIO(encode(rgba, "mask")))
    assert m.mode == "L"
    np.testing.assert_array_equal(np.asarray(m), rgba[:, :, 3])
    png = Image.open(io.BytesIO(encode(rgba, "png", background=(0, 0, 0))))
    assert np.asarray(png)[:, :, 3].min() == 255  # flattened: opaque
    with pytest.raises(alphacut.InputError, match="format"):
        encode(rgba, "gif")


@pytest.mark.parametrize(
    "value, expect",
    [("#ffffff", (255, 255, 255)), ("#f00", (255, 0, 0)), ("10,20,30", (10, 20, 30)), ((1, 2, 3, 4), (1, 2, 3))],
)
def test_parse_color(value, expect):
    assert parse_color(value) == expect


@pytest.mark.parametrize("bad", ["#ggg", "1,2", "300,0,0", "", (1, 2)])
def test_parse_color_bad(bad):
    with pytest.raises(alphacut.InputError):
        parse_color(bad)
