import numpy as np
import pytest

import alphacut
from alphacut.ops import pack_rgba

from conftest import load_gray, load_rgb, shared_path


def test_matches_numpy(backend, rng):
    rgb = rng.integers(0, 256, (17, 33, 3), dtype=np.uint8)
    a = rng.uniform(-0.2, 1.2, (17, 33)).astype(np.float32)  # out-of-range values clamp
    a[0, :4] = [0.5 / 255, 1.5 / 255, 0.0, 1.0]
    out = pack_rgba(rgb, a, backend=backend)
    assert out.shape == (17, 33, 4) and out.dtype == np.uint8
    ref = np.floor(np.clip(a, 0, 1) * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 3], ref)
    np.testing.assert_array_equal(out[..., :3], np.where(ref[..., None] == 0, 0, rgb))  # no colour where clear


def test_uint8_alpha_roundtrips_exactly(backend, rng):
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(pack_rgba(rgb, a, backend=backend)[..., 3], a)


def test_real_image_matches_pil(backend):
    from PIL import Image

    rgb = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    out = pack_rgba(rgb, a.astype(np.float32) / 255, backend=backend)
    im = Image.fromarray(np.where(a[..., None] == 0, 0, rgb).astype(np.uint8))
    im.putalpha(Image.fromarray(a))
    np.testing.assert_array_equal(out, np.asarray(im))


def test_foreground_rectangle(backend, rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a = rng.random((20, 30), dtype=np.float32)
    a[:, :5] = 1.0
    fg = rng.random((8, 12, 3), dtype=np.float32)
    out = pack_rgba(rgb, a, foreground=fg, offset=(4, 3), backend=backend)
    a8 = np.floor(a * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    want = np.where(a8[..., None] == 0, 0, rgb)
    soft = want[4:12, 3:15]
    f8 = np.floor(fg * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    sa = a8[4:12, 3:15, None]
    want[4:12, 3:15] = np.where((sa == 0) | (sa == 255), soft, f8)
    np.testing.assert_array_equal(out[..., :3], want)
    np.testing.assert_array_equal(out[..., 3], a8)
    with pytest.raises(alphacut.Error, match="outside the image"):
        pack_rgba(rgb, a, foreground=fg, offset=(15, 0), backend=backend)


def test_strided_crop(backend, rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a = rng.random((20, 30), dtype=np.float32)
    out = pack_rgba(rgb[3:15, 4:25], a[3:15, 4:25], backend=backend)
    np.testing.assert_array_equal(out[..., :3], rgb[3:15, 4:25])


@pytest.mark.parametrize(
    "rgb, a, match",
    [
        (np.zeros((0, 3, 3), np.uint8), np.zeros((0, 3), np.float32), "empty"),
        (np.zeros((2, 3, 4), np.uint8), np.zeros((2, 3), np.float32), "channels"),
        (np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32), "dtype"),
        (np.zeros((2, 3, 3), np.uint8), np.zeros((3, 3), np.float32), "must match"),
        (np.zeros((2, 3, 3), np.uint8), np.full((2, 3), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_input(backend, rgb, a, match):
    with pytest.raises(alphacut.InputError, match=match):
        pack_rgba(rgb, a, backend=backend)
