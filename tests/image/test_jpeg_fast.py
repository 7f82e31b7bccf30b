"""alphacut.image.jpeg_fast: JPEGs decoded through libjpeg-turbo directly give Pillow's pixels,
orientation, errors and limits; everything it does not take falls back to Pillow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image, ImageOps

from alphacut.errors import DecodeError
from alphacut.image import ImageTooLargeError, decode_image, jpeg_fast

pytestmark = pytest.mark.skipif(not jpeg_fast.available(), reason="simplejpeg is not installed")


def _pillow_rgb(data: bytes) -> np.ndarray:
    """The independent reference: Pillow's decode, EXIF-transposed, converted to RGB."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _jpeg(a: np.ndarray, **kw) -> bytes:
    b = io.BytesIO()
    Image.fromarray(a).save(b, "JPEG", **kw)
    return b.getvalue()


@pytest.fixture
def counted(monkeypatch):
    """How often libjpeg-turbo's decoder actually returned pixels."""
    calls = {"n": 0}
    real = jpeg_fast.decode_rgb

    def spy(data, mode):
        out = real(data, mode)
        calls["n"] += out is not None
        return out

    monkeypatch.setattr(jpeg_fast, "decode_rgb", spy)
    return calls


def test_every_shared_jpeg_bit_identical_to_pillow(counted):
    root = shared_path("images")
    files = sorted(root.rglob("*.jpg"))
    assert len(files) >= 20
    for p in files:
        data = p.read_bytes()
        d = decode_image(data)
        np.testing.assert_array_equal(d.rgb, _pillow_rgb(data), err_msg=str(p))
        assert d.info["format"] == "JPEG" and d.rgb.flags.c_contiguous and d.rgb.flags.writeable
    assert counted["n"] == len(files)  # every one went through libjpeg-turbo


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_as_pillow(orientation, rng, counted):
    a = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    a[:6, :6] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _jpeg(a, quality=95, exif=exif.tobytes())
    d = decode_image(data)
    np.testing.assert_array_equal(d.rgb, _pillow_rgb(data))
    assert d.info["orientation"] == orientation
    assert counted["n"] == 1


def test_grey_jpeg_as_pillow(rng, counted):
    g = rng.integers(0, 256, (31, 45), dtype=np.uint8)
    data = _jpeg(g, quality=90)
    d = decode_image(data)
    np.testing.assert_array_equal(d.rgb, _pillow_rgb(data))
    assert d.info["mode"] == "L" and counted["n"] == 1


def test_subsampling_and_progressive_as_pillow(rng, counted):
    a = rng.integers(0, 256, (33, 47, 3), dtype=np.uint8)
    for kw in ({"subsampling": 0}, {"subsampling": 1}, {"subsampling": 2}, {"progressive": True}):
        data = _jpeg(a, quality=85, **kw)
        np.testing.assert_array_equal(decode_image(data).rgb, _pillow_rgb(data), err_msg=str(kw))
    assert counted["n"] == 4


def test_cmyk_jpeg_goes_through_pillow(rng, counted):
    a = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    b = io.BytesIO()
    Image.fromarray(a).convert("CMYK").save(b, "JPEG", quality=95)
    data = b.getvalue()
    d = decode_image(data)
    np.testing.assert_array_equal(d.rgb, _pillow_rgb(data))
    assert d.info["mode"] == "CMYK" and counted["n"] == 0


def test_icc_profile_kept_as_before(rng, counted):
    # The ICC profile is not applied (as Pillow's decode does not): same pixels as without it.
    from PIL import ImageCms

    a = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _jpeg(a, quality=95, icc_profile=icc)
    np.testing.assert_array_equal(decode_image(data).rgb, _pillow_rgb(data))
    assert counted["n"] == 1


def test_truncated_jpeg_same_error_as_pillow(rng):
    data = _jpeg(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), quality=90)
    with pytest.raises(DecodeError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_pixel_limit_checked_from_header(monkeypatch, rng, counted):
    data = _jpeg(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    monkeypatch.setenv("ALPHACUT_MAX_PIXELS", "1999")
    with pytest.raises(ImageTooLargeError):
        decode_image(data)
    assert counted["n"] == 0
    monkeypatch.setenv("ALPHACUT_MAX_PIXELS", "2000")
    assert decode_image(data).rgb.shape == (40, 50, 3)


def test_turned_off_by_environment(monkeypatch, rng, counted):
    monkeypatch.setenv("ALPHACUT_FAST_JPEG", "0")
    data = _jpeg(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    np.testing.assert_array_equal(decode_image(data).rgb, _pillow_rgb(data))
    assert counted["n"] == 0


def test_file_path_and_stream(tmp_path, rng, counted):
    data = _jpeg(rng.integers(0, 256, (21, 19, 3), dtype=np.uint8))
    p = tmp_path / "a.jpg"
    p.write_bytes(data)
    np.testing.assert_array_equal(decode_image(p).rgb, _pillow_rgb(data))
    fh = io.BytesIO(data)
    np.testing.assert_array_equal(decode_image(fh).rgb, _pillow_rgb(data))
    assert counted["n"] == 2
