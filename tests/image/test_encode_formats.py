"""Output formats: ICC profiles carried into every format, lossy WebP with its alpha, AVIF, and WebP
at a size where libwebp's fastest lossy method overflows (issue: "encoding error 6" at 8000x6000)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image, ImageCms

from alphacut.errors import InputError
from alphacut.image import avif_available, encode, encode_png


def _profile() -> bytes:
    """A real ICC profile (littleCMS's sRGB)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _cutout(rng, h=40, w=56) -> np.ndarray:
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[:, : w // 3, 3] = 0
    rgba[:, 2 * w // 3 :, 3] = 255
    return rgba


FMTS = ["png", "webp", "jpg"] + (["avif"] if avif_available() else [])


@pytest.mark.parametrize("fmt", FMTS)
def test_icc_profile_carried_into_each_format(fmt, rng):
    icc = _profile() + b"alphacut-test"  # distinct bytes: a reader must give these back exactly
    data = encode(_cutout(rng), fmt, icc_profile=icc)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format.lower().replace("jpeg", "jpg") == fmt
        assert im.info.get("icc_profile") == icc
    plain = encode(_cutout(rng), fmt)
    with Image.open(io.BytesIO(plain)) as im:
        assert not im.info.get("icc_profile")


def test_png_with_profile_is_valid_and_pixels_unchanged(rng):
    rgba = _cutout(rng)
    data = encode_png(rgba, icc_profile=_profile())
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # CRCs checked
        np.testing.assert_array_equal(np.asarray(im), rgba)


def test_mask_has_no_profile(rng):
    with Image.open(io.BytesIO(encode(_cutout(rng), "mask", icc_profile=_profile()))) as im:
        assert im.mode == "L" and "icc_profile" not in im.info


def test_lossy_webp_keeps_the_alpha(rng):
    rgba = _cutout(rng)
    rgba[10:30, 20:40, 3] = 128
    data = encode(rgba, "webp", quality=60)
    with Image.open(io.BytesIO(data)) as im:
        got = np.asarray(im.convert("RGBA"))
    np.testing.assert_array_equal(got[:, :, 3], rgba[:, :, 3])  # alpha plane lossless
    shown = rgba[:, :, 3] == 255
    assert not np.array_equal(got[shown][:, :3], rgba[shown][:, :3])  # colour lossy


@pytest.mark.skipif(not avif_available(), reason="this Pillow has no AVIF support")
def test_avif_roundtrip(rng):
    y, x = np.mgrid[0:64, 0:96]
    rgba = np.dstack([x * 2, y * 3, (x + y), np.where(x > 40, 255, 0)]).astype(np.uint8)
    with Image.open(io.BytesIO(encode(rgba, "avif", quality=90))) as im:
        assert im.format == "AVIF"
        got = np.asarray(im.convert("RGBA")).astype(int)
    assert np.abs(got[:, :, 3] - rgba[:, :, 3]).max() <= 8
    assert np.abs(got[:, :, :3] - rgba[:, :, :3].astype(int))[rgba[:, :, 3] == 255].mean() < 4


def test_avif_unavailable_is_a_clear_error(monkeypatch, rng):
    import sys

    monkeypatch.setattr(sys.modules["alphacut.image.encode"], "avif_available", lambda: False)
    with pytest.raises(InputError, match="cannot write AVIF"):
        encode(_cutout(rng), "avif")


def test_webp_over_the_side_limit_is_refused_up_front():
    with pytest.raises(InputError, match="16383 px per side"):
        encode(np.zeros((10, 16384, 4), np.uint8), "webp")


def test_webp_failing_every_attempt_is_a_clear_error(monkeypatch, rng):
    """When no method or quality fits, an InputError saying what to do, not Pillow's ValueError."""

    def fail(self, fp, format=None, **kw):
        raise ValueError("encoding error 6")

    monkeypatch.setattr(Image.Image, "save", fail)
    with pytest.raises(InputError, match="--lossless, PNG or AVIF"):
        encode(_cutout(rng), "webp")


@pytest.mark.slow
def test_webp_48mp_photo_encodes():
    """A photo-like 8000x6000 cutout: Pillow/libwebp's method 0 at quality 90 raises 'encoding error 6'
    (partition 0 overflow) here; encode falls back to a method that fits and the file decodes."""
    src = shared_path("images", "rembg", "input", "car-1.jpg")
    photo = np.asarray(Image.open(src).convert("RGB").resize((8000, 6000), Image.BICUBIC)).astype(np.int16)
    photo += np.random.default_rng(0).integers(-12, 13, photo.shape, dtype=np.int16)  # sensor-like texture
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[1000:5000, 1500:6500] = 255
    rgba = np.dstack([np.clip(photo, 0, 255).astype(np.uint8), alpha])
    with pytest.raises(ValueError, match="encoding error 6"):  # what libwebp does on its own here
        Image.fromarray(rgba, "RGBA").save(io.BytesIO(), "WEBP", quality=90, method=0)
    data = encode(rgba, "webp")
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (8000, 6000)
        got = np.asarray(im.convert("RGBA"))
    np.testing.assert_array_equal(got[:, :, 3], alpha)
